/**
 * What a container is (its config, fixed at create) and what it is doing (its state, changed by
 * every lifecycle step). Both are stored as JSON in the `containers` table.
 * @module
 */
import type { ContainerStatus } from "./status.ts";
import type { Confinement } from "./confinement.ts";
import type { RestartPolicy } from "./restart_policy.ts";
import type { PortMapping, StatusBlock } from "../network/types.ts";

/**
 * Network mode. `private` (the default) and `none` both give the container its own network
 * namespace with loopback only; `private` keeps the host's usable resolvers in `resolv.conf`,
 * `none` writes an empty one. `host` shares the host's namespace. `bridge` joins the networks in
 * `networks` (netavark bridges) through a namespace denopod makes.
 */
export type NetworkMode = "private" | "none" | "host" | "bridge";

/** A bind mount asked for with `-v SRC:DST[:OPTS]` or `--mount type=bind`. */
export interface VolumeSpec {
  source: string;
  destination: string;
  readonly: boolean;
  /** Mount options beyond `ro` (`nodev`, `noexec`, `nosuid`, `bind`; `rbind` is the default). */
  options?: string[];
  /** `z` (shared) or `Z` (private) SELinux relabel. */
  relabel?: "z" | "Z";
  /** `U`: chown the source to the container's user at start. */
  chown?: boolean;
  /** Set when the source is a named volume (`--root/volumes/NAME/_data`). */
  volumeName?: string;
  /** `-v /path` without a name: a volume of its own, removed by `rm -v`. */
  anonymous?: boolean;
  /** `:O`: an overlay over the host directory; the container's changes go when it stops. */
  overlay?: boolean;
}

/** The container's configuration: set once by `create`, never changed afterwards. */
export interface ContainerConfig {
  id: string;
  name: string;
  imageId: string;
  /** The image reference the user gave, normalised (`localhost/busybox:latest`). */
  imageName: string;
  /** The full process command line (entrypoint + command). */
  command: string[];
  /** Entrypoint and command separately, for `inspect`. */
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  labels: Record<string, string>;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  noHosts: boolean;
  network: NetworkMode;
  /** With `bridge`: the networks joined, by name (absent in rows written before networks). */
  networks?: string[];
  /** With `bridge`: static addresses (`--ip`, `--network NAME:ip=`), by network name. */
  staticIps?: Record<string, string>;
  /** With `bridge`: static MAC addresses (`--mac-address`, `NAME:mac=`), by network name. */
  staticMacs?: Record<string, string>;
  /** With `bridge`: interface names, by network, once `network connect`/`disconnect` ran. */
  interfaceNames?: Record<string, string>;
  /** `-p`/`-P`: published ports, host ports chosen at create (absent: none). */
  portMappings?: PortMapping[];
  shmSize: number;
  volumes: VolumeSpec[];
  /** Signal number sent by `stop`. */
  stopSignal: number;
  /** Seconds `stop` waits before SIGKILL. */
  stopTimeout: number;
  /** `--rm`: remove the container when it exits. */
  autoRemove: boolean;
  /** `-t`: the process gets a terminal (absent in rows written before it existed: false). */
  terminal?: boolean;
  /** `-i`: the process's stdin stays open for attached clients (absent: false). */
  stdin?: boolean;
  /** ISO-8601 creation time. */
  created: string;
  /** Resources and security; absent in containers made before it existed (podman's defaults). */
  confinement?: Confinement;
  /** `--restart`; absent: none. */
  restartPolicy?: RestartPolicy;
  /** The command line that created it (`denopod` first; absent in rows made before it was kept). */
  createCommand?: string[];
  /** SELinux process and mount labels (empty when SELinux is off or `label=disable`). */
  selinux?: { processLabel: string; mountLabel: string };
}

/** The container's mutable state. */
export interface ContainerState {
  status: ContainerStatus;
  /** PID of the container's init process, 0 when none. */
  pid: number;
  /** PID of the monitor (conmon or built-in), 0 when none. */
  monitorPid: number;
  /** Which monitor holds the running container. */
  monitor: "conmon" | "builtin" | "";
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  /** The merged rootfs is mounted (by a start, or by `mount`). */
  mounted: boolean;
  /** How many `mount` users hold the rootfs (a running container counts as one more). */
  mountCount: number;
  mountpoint: string;
  netNs: string;
  ipAddress: string;
  subnetMask: string;
  /** What `netavark setup` answered, by network name, while the network is set up. */
  networkStatus?: Record<string, StatusBlock>;
  oomKilled: boolean;
  /** Set by `stop` while it waits, so others know a stop is under way. */
  stopRequested: boolean;
  /** Set by `stop` and kept after the exit (cleared by a start): the restart policy then waits. */
  stoppedByUser?: boolean;
  /** Restarts done by the restart policy. */
  restartCount?: number;
}

/** The state of a container that was just created. */
export function initialState(): ContainerState {
  return {
    status: "configured",
    pid: 0,
    monitorPid: 0,
    monitor: "",
    exitCode: 0,
    startedAt: "",
    finishedAt: "",
    mounted: false,
    mountCount: 0,
    mountpoint: "",
    netNs: "",
    ipAddress: "",
    subnetMask: "",
    oomKilled: false,
    stopRequested: false,
  };
}
