/**
 * The shapes users script against: `inspect`'s JSON object for a container and the row `ps`
 * prints, with podman's field names. Pure mappings from a container to data; nothing prints.
 *
 * @example
 * ```ts
 * JSON.stringify([containerInspect(ctr, { size: false })], null, 4);
 * ```
 * @module
 */
import { join } from "node:path";
import { humanSize, psStatus, timeAgo } from "../util/humanize.ts";
import { signalName } from "../util/signals.ts";
import { containerLayerPaths } from "../storage/overlay.ts";
import type { Container } from "./container.ts";
import { isActive, statusName } from "./status.ts";
import { DEFAULT_CAPABILITIES, OCI_VERSION } from "./spec.ts";
import { type Confinement, defaultConfinement } from "./confinement.ts";

/** Go's zero time, which podman prints for times never set. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Options for {@linkcode containerInspect}. */
export interface InspectOptions {
  /** Add `SizeRw` and `SizeRootFs` (`inspect --size`). */
  size: boolean;
}

/** The `inspect` object of a container, podman's field names. */
export function containerInspect(ctr: Container, options: InspectOptions): Record<string, unknown> {
  const { config, state } = ctr;
  const image = ctr.ctx.images.get(config.imageId);
  const layer = containerLayerPaths(ctr.ctx.paths, ctr.id);
  const runDirFile = (name: string) =>
    name === "hosts" && config.noHosts ? "" : join(ctr.runDir, name);
  const inspect: Record<string, unknown> = {
    Id: ctr.id,
    Created: config.created,
    Path: config.command[0] ?? "",
    Args: config.command.slice(1),
    State: {
      OciVersion: OCI_VERSION,
      Status: statusName(state.status),
      Running: state.status === "running" || state.status === "stopping",
      Paused: state.status === "paused",
      Restarting: false,
      OOMKilled: state.oomKilled,
      Dead: false,
      Pid: isActive(state.status) ? state.pid : 0,
      ConmonPid: isActive(state.status) ? state.monitorPid : 0,
      ExitCode: state.exitCode,
      Error: "",
      StartedAt: state.startedAt || ZERO_TIME,
      FinishedAt: state.finishedAt || ZERO_TIME,
    },
    Image: config.imageId,
    ImageName: config.imageName,
    Rootfs: "",
    ResolvConfPath: runDirFile("resolv.conf"),
    HostnamePath: runDirFile("hostname"),
    HostsPath: runDirFile("hosts"),
    StaticDir: ctr.bundlePath,
    OCIRuntime: "runc",
    LogPath: ctr.ctx.paths.logPath(ctr.id),
    Name: config.name,
    RestartCount: 0,
    Driver: "overlay",
    MountLabel: "",
    ProcessLabel: "",
    EffectiveCaps: DEFAULT_CAPABILITIES,
    BoundingCaps: config.confinement?.capabilities ?? DEFAULT_CAPABILITIES,
    GraphDriver: {
      Name: "overlay",
      Data: {
        LowerDir: (image?.layers ?? []).map((id) => ctr.ctx.paths.layerDiff(id)).reverse().join(
          ":",
        ),
        UpperDir: layer.upper,
        WorkDir: layer.work,
        ...(state.mounted ? { MergedDir: layer.merged } : {}),
      },
    },
    Mounts: config.volumes.map((v) => ({
      Type: "bind",
      Source: v.source,
      Destination: v.destination,
      Driver: "",
      Mode: "",
      Options: ["rbind"],
      RW: !v.readonly,
      Propagation: "rprivate",
    })),
    NetworkSettings: {
      IPAddress: state.ipAddress,
      SandboxKey: state.netNs,
    },
    Config: {
      Hostname: config.hostname,
      User: config.user,
      Env: config.env,
      Cmd: config.cmd,
      Image: config.imageName,
      WorkingDir: config.workdir,
      Entrypoint: config.entrypoint.join(" "),
      Labels: config.labels,
      StopSignal: signalName(config.stopSignal),
      StopTimeout: config.stopTimeout,
      CreateCommand: [],
      Annotations: config.confinement?.annotations ?? {},
    },
    HostConfig: {
      ShmSize: config.shmSize,
      NetworkMode: config.network === "private" ? "private" : config.network,
      AutoRemove: config.autoRemove,
      Binds: config.volumes.map((v) => `${v.source}:${v.destination}${v.readonly ? ":ro" : ""}`),
      Dns: config.dns,
      DnsSearch: config.dnsSearch,
      DnsOptions: config.dnsOptions,
      ExtraHosts: config.addHosts,
      ...confinementHostConfig(config.confinement ?? defaultConfinement()),
    },
  };
  if (options.size) {
    inspect.SizeRw = ctr.rwSize();
    inspect.SizeRootFs = ctr.rootFsSize();
  }
  return inspect;
}

/** One `ps` row: the fields `--format` templates can name, podman's names. */
export interface PsRow {
  ID: string;
  Id: string;
  Image: string;
  ImageID: string;
  Command: string;
  CreatedAt: string;
  CreatedHuman: string;
  RunningFor: string;
  Created: number;
  Status: string;
  State: string;
  Ports: string;
  Names: string;
  Labels: Record<string, string>;
  Mounts: string[];
  Pid: number;
  ExitCode: number;
  Exited: boolean;
  ExitedAt: number;
  StartedAt: number;
  AutoRemove: boolean;
  Size: string;
  Networks: string[];
}

/** Options for {@linkcode psRow}. */
export interface PsOptions {
  noTrunc: boolean;
  size: boolean;
  now: Date;
}

/** Builds the `ps` row of a container. */
export function psRow(ctr: Container, options: PsOptions): PsRow {
  const { config, state } = ctr;
  const created = new Date(config.created);
  const command = config.command.join(" ");
  let size = "";
  if (options.size) {
    size = `${humanSize(ctr.rwSize())} (virtual ${humanSize(ctr.rootFsSize())})`;
  }
  const seconds = (iso: string) => iso ? Math.floor(new Date(iso).getTime() / 1000) : 0;
  return {
    ID: options.noTrunc ? ctr.id : ctr.id.slice(0, 12),
    Id: ctr.id,
    Image: config.imageName,
    ImageID: config.imageId,
    Command: options.noTrunc || command.length <= 20 ? command : `${command.slice(0, 17)}...`,
    CreatedAt: created.toISOString(),
    CreatedHuman: timeAgo(created, options.now),
    RunningFor: timeAgo(created, options.now),
    Created: Math.floor(created.getTime() / 1000),
    Status: psStatus({
      state: state.status,
      startedAt: state.startedAt ? new Date(state.startedAt) : undefined,
      finishedAt: state.finishedAt ? new Date(state.finishedAt) : undefined,
      exitCode: state.exitCode,
      now: options.now,
    }),
    State: statusName(state.status),
    Ports: "",
    Names: config.name,
    Labels: config.labels,
    Mounts: config.volumes.map((v) => v.destination),
    Pid: isActive(state.status) ? state.pid : 0,
    ExitCode: state.exitCode,
    Exited: state.status === "exited" || state.status === "stopped",
    ExitedAt: seconds(state.finishedAt),
    StartedAt: seconds(state.startedAt),
    AutoRemove: config.autoRemove,
    Size: size,
    Networks: [],
  };
}

/** The `HostConfig` fields of a container's confinement, as podman names them. */
function confinementHostConfig(conf: Confinement): Record<string, unknown> {
  return {
    Memory: conf.memory ?? 0,
    MemorySwap: conf.memorySwap ?? 0,
    MemoryReservation: conf.memoryReservation ?? 0,
    NanoCpus: Math.round((conf.cpus ?? 0) * 1e9),
    CpuShares: conf.cpuShares ?? 0,
    CpusetCpus: conf.cpusetCpus ?? "",
    PidsLimit: conf.pidsLimit,
    Ulimits: conf.ulimits.map((u) => ({
      Name: `RLIMIT_${u.name.toUpperCase()}`,
      Soft: u.soft,
      Hard: u.hard,
    })),
    Privileged: conf.privileged,
    SecurityOpt: [
      ...(conf.noNewPrivileges ? ["no-new-privileges"] : []),
      ...(conf.seccomp !== "default" ? [`seccomp=${conf.seccomp}`] : []),
      ...(conf.label.disable ? ["label=disable"] : []),
    ],
    ReadonlyRootfs: conf.readOnly,
    Tmpfs: Object.fromEntries(conf.tmpfs.map((t) => [t.destination, t.options.join(",")])),
    Devices: conf.devices.map((d) => ({
      PathOnHost: d.source,
      PathInContainer: d.destination,
      CgroupPermissions: d.permissions,
    })),
    Init: conf.init,
  };
}
