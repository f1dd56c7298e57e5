/**
 * The shape users script against: `inspect`'s JSON object for a container, podman 4.3's keys and
 * types (`ps`'s shapes are in `ps.ts`). A pure mapping from a container to data; nothing prints.
 *
 * @example
 * ```ts
 * JSON.stringify([containerInspect(ctr, {})], null, 5);
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { containerLayerPaths } from "../storage/layer_paths.ts";
import type { ContainerView } from "./view.ts";
import { isActive, statusName } from "./status.ts";
import type { Confinement } from "./confinement.ts";
import { DEFAULT_CAPABILITIES, defaultConfinement, OCI_VERSION } from "./defaults.ts";
import { networkSettings } from "./network_inspect.ts";
import { inspectPorts } from "../network/ports.ts";

/** Go's zero time, which podman prints for times never set. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Options for {@linkcode containerInspect}. */
export interface InspectOptions {
  /**
   * `inspect --size`: the RW layer's size the caller measured (`rw_size.ts`), shown as `SizeRw`
   * beside `SizeRootFs`; absent, neither key is shown.
   */
  sizeRw?: number;
}

/** The `inspect` object of a container: podman 4.3's keys, order and types. */
export function containerInspect(
  ctr: ContainerView,
  options: InspectOptions,
): Record<string, unknown> {
  const { config, state } = ctr;
  const image = ctr.ctx.images.get(config.imageId);
  const layer = containerLayerPaths(ctr.ctx.paths, ctr.id);
  const runDirFile = (name: string) =>
    name === "hosts" && config.noHosts ? "" : join(ctr.runDir, name);
  const networkMode = config.network === "private" ? "private" : config.network;
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
      // denopod has no health checks: podman's empty health
      Health: { Status: "", FailingStreak: 0, Log: null },
      CgroupPath: "",
      CheckpointedAt: ZERO_TIME,
      RestoredAt: ZERO_TIME,
    },
    Image: config.imageId,
    ImageDigest: `sha256:${config.imageId}`,
    ImageName: config.imageName,
    Rootfs: "",
    Pod: "",
    ResolvConfPath: runDirFile("resolv.conf"),
    HostnamePath: runDirFile("hostname"),
    HostsPath: runDirFile("hosts"),
    StaticDir: ctr.bundlePath,
    OCIConfigPath: join(ctr.bundlePath, "config.json"),
    OCIRuntime: "runc",
    ConmonPidFile: join(ctr.runDir, "monitor.pid"),
    PidFile: join(ctr.runDir, "pidfile"),
    Name: config.name,
    RestartCount: state.restartCount ?? 0,
    Driver: "overlay",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    EffectiveCaps: config.confinement?.capabilities ?? DEFAULT_CAPABILITIES,
    BoundingCaps: config.confinement?.capabilities ?? DEFAULT_CAPABILITIES,
    ExecIDs: [],
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
    Dependencies: [],
    NetworkSettings: networkSettings(ctr),
    Namespace: "",
    IsInfra: false,
    IsService: false,
    Config: {
      Hostname: config.hostname,
      Domainname: "",
      User: config.user,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: config.terminal === true,
      OpenStdin: config.stdin === true,
      StdinOnce: false,
      Env: config.env,
      Cmd: config.cmd,
      Image: config.imageName,
      Volumes: null,
      WorkingDir: config.workdir,
      Entrypoint: config.entrypoint.join(" "),
      OnBuild: null,
      // podman: null when the container has none
      Labels: Object.keys(config.labels).length > 0 ? config.labels : null,
      Annotations: config.confinement?.annotations ?? {},
      // podman 4.3 types it as the signal's number
      StopSignal: config.stopSignal,
      HealthcheckOnFailureAction: "none",
      CreateCommand: config.createCommand ?? [],
      Umask: "0022",
      Timeout: 0,
      StopTimeout: config.stopTimeout,
      Passwd: true,
      sdNotifyMode: "container",
    },
    HostConfig: {
      Binds: config.volumes.map((v) => `${v.source}:${v.destination}${v.readonly ? ":ro" : ""}`),
      // runc's own default: cgroupfs
      CgroupManager: "cgroupfs",
      CgroupMode: "",
      ContainerIDFile: "",
      LogConfig: {
        Type: "k8s-file",
        Config: null,
        Path: ctr.ctx.paths.logPath(ctr.id),
        Tag: "",
        Size: "0B",
      },
      NetworkMode: networkMode,
      PortBindings: inspectPorts(config.portMappings ?? []),
      RestartPolicy: {
        Name: config.restartPolicy?.name ?? "",
        MaximumRetryCount: config.restartPolicy?.maxRetries ?? 0,
      },
      AutoRemove: config.autoRemove,
      VolumeDriver: "",
      VolumesFrom: null,
      CapAdd: [],
      CapDrop: [],
      Dns: config.dns,
      DnsOptions: config.dnsOptions,
      DnsSearch: config.dnsSearch,
      ExtraHosts: config.addHosts,
      GroupAdd: [],
      IpcMode: "private",
      Cgroup: "",
      Cgroups: "default",
      Links: null,
      OomScoreAdj: 0,
      PidMode: "private",
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: [],
      Tmpfs: {},
      UTSMode: "private",
      UsernsMode: "",
      ShmSize: config.shmSize,
      Runtime: "oci",
      ConsoleSize: [0, 0],
      Isolation: "",
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: "",
      BlkioWeight: 0,
      BlkioWeightDevice: null,
      BlkioDeviceReadBps: null,
      BlkioDeviceWriteBps: null,
      BlkioDeviceReadIOps: null,
      BlkioDeviceWriteIOps: null,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: "",
      CpusetMems: "",
      Devices: [],
      DiskQuota: 0,
      KernelMemory: 0,
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: 0,
      OomKillDisable: false,
      PidsLimit: 0,
      Ulimits: [],
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
      CgroupConf: null,
      ...confinementHostConfig(config.confinement ?? defaultConfinement()),
    },
  };
  if (options.sizeRw !== undefined) {
    inspect.SizeRw = options.sizeRw;
    inspect.SizeRootFs = ctr.rootFsSize();
  }
  return inspect;
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
