/**
 * The OCI runtime spec (`config.json`) a plain `create` writes, with podman's defaults, built the
 * containerd way: a fresh base spec and small option functions applied to it in order
 * (`withProcessArgs`, `withHostname`, `withMounts`, …). Every call builds a new spec; none is
 * shared.
 *
 * What differs from podman 4.3 on purpose: rlimits never exceed the caller's hard limits (podman
 * asks for 1048576 open files and fails where the caller may not raise its limit); no sysctls.
 * Seccomp, the pids limit, the cgroup path and the other confinement come from `spec/`
 * (`seccomp.ts`, `resources.ts`, `mounts.ts`, `security.ts`), applied after this base.
 *
 * @example
 * ```ts
 * const spec = buildSpec({ args: ["sh"], env: ["PATH=/bin"], cwd: "/", uid: 0, gid: 0,
 *   hostname: "abc", rootfs: "/merged", shmPath: "/shm", runDir: "/run/x", hasResolv: true,
 *   hasHosts: true, volumes: [], network: "private", terminal: false, hardNofile: 20000 });
 * await Deno.writeTextFile("bundle/config.json", JSON.stringify(spec, null, 2));
 * ```
 * @module
 */
import { isAbsolute, join, posix } from "../util/path.ts";
import { InvalidArgError } from "../errors.ts";
import type { OciSeccomp } from "./spec/seccomp.ts";
import { DEFAULT_CAPABILITIES, OCI_VERSION } from "./defaults.ts";

/** One mount in the spec: a mount is data (`type`, `source`, `destination`, `options`). */
export interface OciMount {
  /** Where it appears in the container. */
  destination: string;
  /** Filesystem type (`proc`, `tmpfs`, `bind`, …). */
  type: string;
  /** The source: a device name for pseudo filesystems, a host path for binds. */
  source: string;
  /** Mount options, as `mount(8)` takes them. */
  options: string[];
}

/** A capability name as the spec takes it, e.g. `CAP_CHOWN`. */
export type CapabilityName = `CAP_${string}`;

/** The process's capability sets. */
export interface OciCapabilities {
  bounding: CapabilityName[];
  effective: CapabilityName[];
  permitted: CapabilityName[];
  inheritable: CapabilityName[];
  ambient: CapabilityName[];
}

/** One resource limit. */
export interface OciRlimit {
  /** e.g. `RLIMIT_NOFILE`. */
  type: `RLIMIT_${string}`;
  hard: number;
  soft: number;
}

/** The user the process runs as. */
export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** The container's process. */
export interface OciProcess {
  terminal: boolean;
  /** The terminal's initial size (with `terminal`): set before the process starts. */
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
  selinuxLabel?: string;
}

/** The root filesystem. */
export interface OciRoot {
  /** Absolute path of the rootfs (the overlay mountpoint). */
  path: string;
  readonly: boolean;
}

/** A Linux namespace kind. */
export type NamespaceType = "pid" | "network" | "ipc" | "uts" | "mount" | "user" | "cgroup";

/** One namespace: a new one of `type`, or the one at `path`. */
export interface OciNamespace {
  type: NamespaceType;
  path?: string;
}

/** One device cgroup rule. */
export interface OciDeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access?: string;
}

/** Cgroup resources. */
export interface OciResources {
  devices: OciDeviceRule[];
  pids?: { limit: number };
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
}

/** A device node created in the container. */
export interface OciDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** The Linux part of the spec. */
export interface OciLinux {
  namespaces: OciNamespace[];
  maskedPaths: string[];
  readonlyPaths: string[];
  resources: OciResources;
  cgroupsPath?: string;
  mountLabel?: string;
  devices?: OciDevice[];
  seccomp?: OciSeccomp;
}

/** The OCI runtime spec, as runc reads it from `config.json`. */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: OciRoot;
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: OciLinux;
}

/** One spec option: changes the given (fresh, unshared) spec in place. */
export type SpecOption = (spec: OciSpec) => void;

/** A volume bind: host `source` at `destination`, read-only or not. */
export interface VolumeMount {
  source: string;
  destination: string;
  readonly: boolean;
  /** More mount options (`nodev`, `noexec`, `nosuid`, a propagation; `bind` for a plain bind). */
  options?: string[];
}

/** The container's network mode. */
export type SpecNetworkMode = "private" | "none" | "host";

/** What {@linkcode buildSpec} needs to write a plain create's spec. */
export interface SpecInput {
  /** The command and its arguments. */
  args: string[];
  /** `NAME=value` environment entries. */
  env: string[];
  /** Working directory: absolute, not under `/proc`. */
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  hostname: string;
  /** The overlay mountpoint (absolute). */
  rootfs: string;
  /** The container's shm tmpfs, bound at `/dev/shm`. */
  shmPath: string;
  /** Holds `resolv.conf`, `hosts`, `hostname`. */
  runDir: string;
  /** Whether `runDir/resolv.conf` exists (bound at `/etc/resolv.conf`). */
  hasResolv: boolean;
  /** Whether `runDir/hosts` exists (bound at `/etc/hosts`). */
  hasHosts: boolean;
  /** Whether `runDir/hostname` exists (bound at `/etc/hostname`); default true. */
  hasHostname?: boolean;
  volumes: VolumeMount[];
  network: SpecNetworkMode;
  /** A network namespace to join (a bridge network's, made by denopod), by path. */
  netnsPath?: string;
  /** Whether the process gets a terminal (`-t`). */
  terminal: boolean;
  /** The terminal's size before the process starts (with `terminal`). */
  consoleSize?: { rows: number; cols: number };
  annotations?: Record<string, string>;
  /** The caller's hard RLIMIT_NOFILE (`Infinity` for unlimited); the spec never asks more. */
  hardNofile?: number;
  /** The caller's hard RLIMIT_NPROC (`Infinity` for unlimited); the spec never asks more. */
  hardNproc?: number;
  /** Options applied last (confinement: `spec/`). */
  extra?: SpecOption[];
}

export { DEFAULT_CAPABILITIES, OCI_VERSION };

/** Paths hidden from the container (a `/dev/null` or empty tmpfs over them). */
export const MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/interrupts",
  "/sys/firmware",
  "/sys/fs/selinux",
  "/sys/devices/virtual/powercap",
];

/** Paths made read-only in the container. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** The open-files limit podman asks for; capped at the caller's hard limit. */
export const DEFAULT_NOFILE = 1048576;
/** The process-count limit podman asks for; capped at the caller's hard limit. */
export const DEFAULT_NPROC = 1048576;

/**
 * Throws {@linkcode InvalidArgError} unless `cwd` is absolute and not `/proc` or under it
 * (after `..` is resolved).
 *
 * @example
 * ```ts
 * validateWorkdir("/srv");         // ok
 * validateWorkdir("srv");          // throws: must be an absolute path
 * validateWorkdir("/a/../proc/1"); // throws: under /proc
 * ```
 */
export function validateWorkdir(cwd: string): void {
  if (!isAbsolute(cwd)) {
    throw new InvalidArgError(
      `invalid working directory ${JSON.stringify(cwd)}: must be an absolute path`,
    );
  }
  const clean = posix.normalize(cwd);
  if (clean === "/proc" || clean.startsWith("/proc/")) {
    throw new InvalidArgError(
      `invalid working directory ${JSON.stringify(cwd)}: must not be under /proc`,
    );
  }
}

/** A new spec with nothing container-specific in it: podman's defaults for a plain create. */
export function baseSpec(): OciSpec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0, umask: 0o022 },
      args: [],
      env: [],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
        inheritable: [],
        ambient: [],
      },
      rlimits: [],
      noNewPrivileges: false,
    },
    root: { path: "", readonly: false },
    hostname: "",
    mounts: defaultMounts(),
    annotations: {},
    linux: {
      namespaces: [],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      // Deny every device; runc adds its default allow list (null, zero, tty, pts, …).
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
}

/** The pseudo-filesystem mounts every container gets. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/** Applies options, in order, to a fresh base spec and returns it. */
export function newSpec(...options: SpecOption[]): OciSpec {
  const spec = baseSpec();
  for (const option of options) option(spec);
  return spec;
}

/** Sets the command and its arguments; refuses an empty command. */
export function withProcessArgs(args: string[]): SpecOption {
  if (args.length === 0 || args[0] === "") {
    throw new InvalidArgError("no command given for the container");
  }
  return (spec) => {
    spec.process.args = [...args];
  };
}

/** Sets the environment (`NAME=value` entries). */
export function withEnv(env: string[]): SpecOption {
  return (spec) => {
    spec.process.env = [...env];
  };
}

/** Sets the working directory (checked by {@linkcode validateWorkdir}). */
export function withCwd(cwd: string): SpecOption {
  validateWorkdir(cwd);
  return (spec) => {
    spec.process.cwd = cwd;
  };
}

/** Sets the user, group and supplementary groups the process runs as. */
export function withUser(uid: number, gid: number, additionalGids: number[] = []): SpecOption {
  for (const id of [uid, gid, ...additionalGids]) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new InvalidArgError(`invalid user or group ID ${id}`);
    }
  }
  return (spec) => {
    spec.process.user.uid = uid;
    spec.process.user.gid = gid;
    if (additionalGids.length > 0) spec.process.user.additionalGids = [...additionalGids];
    else delete spec.process.user.additionalGids;
  };
}

/** Sets the container's hostname (set in its own UTS namespace). */
export function withHostname(hostname: string): SpecOption {
  return (spec) => {
    spec.hostname = hostname;
  };
}

/** Sets the root filesystem path (absolute). */
export function withRootPath(path: string, readonly = false): SpecOption {
  if (!isAbsolute(path)) {
    throw new InvalidArgError(`root filesystem path ${JSON.stringify(path)} is not absolute`);
  }
  return (spec) => {
    spec.root = { path, readonly };
  };
}

/** Appends mounts after the ones already in the spec (a later mount covers an earlier one). */
export function withMounts(mounts: OciMount[]): SpecOption {
  return (spec) => {
    spec.mounts.push(...mounts.map((m) => ({ ...m, options: [...m.options] })));
  };
}

/** Binds the container's shm tmpfs at `/dev/shm`. */
export function withShm(shmPath: string): SpecOption {
  return withMounts([{
    destination: "/dev/shm",
    type: "bind",
    source: shmPath,
    options: ["bind", "rprivate", "nosuid", "noexec", "nodev"],
  }]);
}

/** Binds the rundir's `resolv.conf`, `hosts` and `hostname` at their `/etc` places, each if present. */
export function withRundirFiles(
  runDir: string,
  files: { resolv: boolean; hosts: boolean; hostname: boolean },
): SpecOption {
  const binds: OciMount[] = [];
  const bind = (name: string) => ({
    destination: `/etc/${name}`,
    type: "bind",
    source: join(runDir, name),
    options: ["bind", "rprivate"],
  });
  if (files.resolv) binds.push(bind("resolv.conf"));
  if (files.hosts) binds.push(bind("hosts"));
  if (files.hostname) binds.push(bind("hostname"));
  return withMounts(binds);
}

/** Binds each volume (recursive bind, private propagation, `ro` when read-only). */
export function withVolumes(volumes: VolumeMount[]): SpecOption {
  for (const v of volumes) {
    if (!isAbsolute(v.source) || !isAbsolute(v.destination)) {
      throw new InvalidArgError(
        `invalid volume ${JSON.stringify(`${v.source}:${v.destination}`)}: paths must be absolute`,
      );
    }
  }
  return withMounts(volumes.map((v) => {
    const extra = v.options ?? [];
    const kind = extra.includes("bind") ? "bind" : "rbind";
    const propagation = extra.find((o) => /^r?(private|shared|slave)$/.test(o)) ?? "rprivate";
    const flags = extra.filter((o) => o !== "bind" && o !== "rbind" && o !== propagation);
    return {
      destination: v.destination,
      type: "bind",
      source: v.source,
      options: [kind, propagation, ...(v.readonly ? ["ro"] : []), ...flags],
    };
  }));
}

/**
 * Sets the namespaces: pid, ipc, uts, mount always; network too unless `host` (a private
 * namespace has only loopback with both `private` and `none`), the one at `netnsPath` when given.
 */
export function withNamespaces(network: SpecNetworkMode, netnsPath?: string): SpecOption {
  return (spec) => {
    const types: NamespaceType[] = ["pid", "ipc", "uts", "mount"];
    if (network !== "host") types.push("network");
    spec.linux.namespaces = types.map((type) =>
      type === "network" && netnsPath ? { type, path: netnsPath } : { type }
    );
  };
}

/** The lower of a wanted limit and the caller's hard limit (`Infinity` for unlimited). */
function capLimit(wanted: number, hard: number): number {
  return Math.min(wanted, hard);
}

/**
 * Sets RLIMIT_NOFILE to min(1048576, `hardNofile`) and RLIMIT_NPROC to min(1048576,
 * `hardNproc`), soft = hard; a limit whose caller hard limit is unknown is left out (inherited).
 * Never above the caller's hard limit, so runc never needs to raise one.
 */
export function withRlimits(hardNofile?: number, hardNproc?: number): SpecOption {
  return (spec) => {
    const rlimits: OciRlimit[] = [];
    if (hardNofile !== undefined) {
      const n = capLimit(DEFAULT_NOFILE, hardNofile);
      rlimits.push({ type: "RLIMIT_NOFILE", hard: n, soft: n });
    }
    if (hardNproc !== undefined) {
      const n = capLimit(DEFAULT_NPROC, hardNproc);
      rlimits.push({ type: "RLIMIT_NPROC", hard: n, soft: n });
    }
    spec.process.rlimits = rlimits;
  };
}

/** Sets the bounding, effective and permitted sets to `caps`; inheritable and ambient empty. */
export function withCapabilities(caps: readonly CapabilityName[]): SpecOption {
  for (const cap of caps) {
    if (!/^CAP_[A-Z_]+$/.test(cap)) {
      throw new InvalidArgError(`invalid capability ${JSON.stringify(cap)}`);
    }
  }
  return (spec) => {
    spec.process.capabilities = {
      bounding: [...caps],
      effective: [...caps],
      permitted: [...caps],
      inheritable: [],
      ambient: [],
    };
  };
}

/** Sets the process's terminal flag and, with a terminal, its initial size. */
export function withTerminal(
  terminal: boolean,
  size?: { rows: number; cols: number },
): SpecOption {
  return (spec) => {
    spec.process.terminal = terminal;
    if (terminal && size !== undefined && size.rows > 0 && size.cols > 0) {
      spec.process.consoleSize = { height: size.rows, width: size.cols };
    } else {
      delete spec.process.consoleSize;
    }
  };
}

/** Merges annotations into the spec's. */
export function withAnnotations(annotations: Record<string, string>): SpecOption {
  return (spec) => {
    spec.annotations = { ...spec.annotations, ...annotations };
  };
}

/**
 * Builds the spec a plain `create` writes (see the design's list): default pseudo mounts, the
 * shm bind, the rundir file binds, the volumes, podman's capabilities, masked and read-only
 * paths, namespaces, rlimits capped at the caller's hard limits. Throws
 * {@linkcode InvalidArgError} on a bad working directory, an empty command or a relative path.
 */
export function buildSpec(input: SpecInput): OciSpec {
  return newSpec(
    withProcessArgs(input.args),
    withEnv(input.env),
    withCwd(input.cwd),
    withUser(input.uid, input.gid, input.additionalGids),
    withTerminal(input.terminal, input.consoleSize),
    withHostname(input.hostname),
    withRootPath(input.rootfs),
    withShm(input.shmPath),
    withRundirFiles(input.runDir, {
      resolv: input.hasResolv,
      hosts: input.hasHosts,
      hostname: input.hasHostname ?? true,
    }),
    withVolumes(input.volumes),
    withNamespaces(input.network, input.netnsPath),
    withRlimits(input.hardNofile, input.hardNproc),
    withAnnotations(input.annotations ?? {}),
    ...(input.extra ?? []),
  );
}
