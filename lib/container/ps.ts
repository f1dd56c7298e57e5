/**
 * A container as `ps` shows it, in podman 4.3's two shapes: {@linkcode psJson} is the
 * `ListContainer` that `--format json` prints (`Names` and `Command` arrays, Unix times with
 * Go's zero time `-62135596800` for "never", `Labels` null when empty, `Size` null without
 * `--size`), and {@linkcode psReport} the fields a `--format` template reads (podman's
 * `psReporter`: `.ID` and `.ImageID` cut to 12, `.Names` a string, `.Labels` a map, `.Created`
 * and `.CreatedAt` times, `.State` the status text).
 * @module
 */
import { humanSize, psStatus, timeAgo } from "../util/humanize.ts";
import type { ContainerView } from "./view.ts";
import { isActive, statusName } from "./status.ts";
import type { FilterView } from "./filters.ts";
import type { PortMapping } from "../network/types.ts";
import { psNetworks, psPorts, psPortsJson } from "./network_inspect.ts";

/** Go's zero `time.Time` as Unix seconds: podman's "never" for StartedAt/ExitedAt. */
export const GO_ZERO_UNIX = -62135596800;

/** podman's `ListContainer`, the `ps --format json` element, keys in podman's order. */
export interface PsJson {
  AutoRemove: boolean;
  Command: string[];
  CreatedAt: string;
  Exited: boolean;
  ExitedAt: number;
  ExitCode: number;
  Id: string;
  Image: string;
  ImageID: string;
  IsInfra: boolean;
  Labels: Record<string, string> | null;
  Mounts: string[];
  Names: string[];
  Namespaces: Record<string, string>;
  Networks: string[];
  Pid: number;
  Pod: string;
  PodName: string;
  /** netavark's mappings (`-p`/`-P`), null when none. */
  Ports: PortMapping[] | null;
  Size: { rootFsSize: number; rwSize: number } | null;
  StartedAt: number;
  State: string;
  Status: string;
  Created: number;
}

/** Options for {@linkcode psJson} and {@linkcode psReport}. */
export interface PsViewOptions {
  noTrunc: boolean;
  now: Date;
  /**
   * `ps --size`: what measures a container's RW layer (`rwSize` of `rw_size.ts`, loaded only
   * then); absent, no size is shown.
   */
  rwSize?: (ctr: ContainerView) => number;
}

function unix(iso: string): number {
  return iso ? Math.floor(Date.parse(iso) / 1000) : GO_ZERO_UNIX;
}

function statusText(ctr: ContainerView, now: Date): string {
  const { state } = ctr;
  return psStatus({
    state: state.status,
    startedAt: state.startedAt ? new Date(state.startedAt) : undefined,
    finishedAt: state.finishedAt ? new Date(state.finishedAt) : undefined,
    exitCode: state.exitCode,
    now,
  });
}

function exited(ctr: ContainerView): boolean {
  return ctr.state.status === "exited" || ctr.state.status === "stopped";
}

/** The `ps --format json` element of a container. */
export function psJson(ctr: ContainerView, options: PsViewOptions): PsJson {
  const { config, state } = ctr;
  const labels = Object.keys(config.labels).length > 0 ? { ...config.labels } : null;
  return {
    AutoRemove: config.autoRemove,
    Command: [...config.command],
    CreatedAt: timeAgo(new Date(config.created), options.now),
    Exited: exited(ctr),
    ExitedAt: exited(ctr) ? unix(state.finishedAt) : GO_ZERO_UNIX,
    ExitCode: state.exitCode,
    Id: ctr.id,
    Image: config.imageName,
    ImageID: config.imageId,
    IsInfra: false,
    Labels: labels,
    Mounts: config.volumes.map((v) => v.destination),
    Names: [config.name],
    Namespaces: {},
    Networks: psNetworks(ctr),
    Pid: isActive(state.status) ? state.pid : 0,
    Pod: "",
    PodName: "",
    Ports: psPortsJson(ctr),
    Size: options.rwSize ? { rootFsSize: ctr.rootFsSize(), rwSize: options.rwSize(ctr) } : null,
    StartedAt: unix(state.startedAt),
    State: statusName(state.status),
    Status: statusText(ctr, options.now),
    Created: unix(config.created),
  };
}

/** podman's `ListContainerNamespaces`, printed by a template as a Go struct (`{      }`). */
class Namespaces {
  Cgroup = "";
  IPC = "";
  MNT = "";
  NET = "";
  PIDNS = "";
  UTS = "";
  User = "";
}

/** The fields a `ps --format` template reads, podman's values and types. */
export function psReport(ctr: ContainerView, options: PsViewOptions): Record<string, unknown> {
  const json = psJson(ctr, { ...options, rwSize: undefined });
  const command = ctr.config.command.join(" ");
  const created = new Date(ctr.config.created);
  const cut = (id: string) => (options.noTrunc ? id : id.slice(0, 12));
  const status = json.Status;
  return {
    ID: cut(ctr.id),
    Image: json.Image,
    ImageID: cut(json.ImageID),
    Command: options.noTrunc || command.length <= 20 ? command : `${command.slice(0, 17)}...`,
    CreatedHuman: timeAgo(created, options.now),
    Created: created,
    CreatedAt: created,
    RunningFor: timeAgo(created, options.now),
    Status: status,
    // podman 4.3's `{{.State}}` is the status text too
    State: status,
    Ports: psPorts(ctr),
    Names: ctr.config.name,
    Labels: new Map(Object.entries(ctr.config.labels)),
    Mounts: json.Mounts,
    Pid: json.Pid,
    ExitCode: json.ExitCode,
    Exited: json.Exited,
    ExitedAt: json.ExitedAt,
    StartedAt: json.StartedAt,
    AutoRemove: json.AutoRemove,
    Size: options.rwSize
      ? `${humanSize(options.rwSize(ctr))} (virtual ${humanSize(ctr.rootFsSize())})`
      : "",
    Networks: json.Networks.join(","),
    Pod: "",
    PodName: "",
    IsInfra: false,
    Namespaces: new Namespaces(),
  };
}

/** What `ps --filter` looks at in a container. */
export function filterView(ctr: ContainerView): FilterView {
  const { config, state } = ctr;
  return {
    id: ctr.id,
    name: config.name,
    labels: config.labels,
    status: state.status,
    exitCode: state.exitCode,
    imageId: config.imageId,
    imageName: config.imageName,
    created: config.created,
    volumes: config.volumes,
    restartPolicy: config.restartPolicy?.name ?? "",
    networks: config.network === "bridge" ? config.networks ?? [] : [],
  };
}

/** `ps --sort` keys and how they order containers (podman's `sortPsOutput`). */
export const PS_SORT_KEYS = [
  "command",
  "created",
  "id",
  "image",
  "names",
  "runningfor",
  "size",
  "status",
] as const;

/**
 * Sorts containers for `ps --sort KEY` (created: oldest first, as podman lists); `size` sorts by
 * the image's size plus `rwSize`, the RW layer's (`rw_size.ts`), which that key needs.
 */
export function sortContainers<C extends ContainerView>(
  ctrs: C[],
  key: string,
  now: Date,
  rwSize: (ctr: ContainerView) => number = () => 0,
): C[] {
  const by = <T>(f: (c: C) => T) => (a: C, b: C) => {
    const x = f(a);
    const y = f(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const created = (c: C) => Date.parse(c.config.created);
  const order: Record<string, (a: C, b: C) => number> = {
    command: by((c) => c.config.command.join(" ")),
    created: by(created),
    id: by((c) => c.id),
    image: by((c) => c.config.imageName),
    names: by((c) => c.config.name),
    runningfor: by((c) => -created(c)),
    size: by((c) => c.rootFsSize() + rwSize(c)),
    status: by((c) => statusText(c, now)),
  };
  return [...ctrs].sort(order[key] ?? order.created);
}
