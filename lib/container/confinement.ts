/**
 * How a container is confined and what it may use: the values of `create`'s resource and security
 * flags, checked and turned into one {@linkcode Confinement} record kept in the container's config.
 * Each parser throws {@linkcode InvalidArgError} with podman 4.3.1's words for a bad value, so
 * `create` refuses it before anything is written (never later inside runc).
 *
 * @example
 * ```ts
 * const conf = buildConfinement({ memory: "64m", pidsLimit: 100, capDrop: ["ALL"], ulimits: ["nofile=10:20"] });
 * conf.memory;     // 67108864
 * conf.ulimits[0]; // { name: "nofile", soft: 10, hard: 20 }
 * ```
 * @module
 */
import { isAbsolute } from "../util/path.ts";
import { InvalidArgError } from "../errors.ts";
import { parseSize } from "../util/humanize.ts";
import type { CapabilityName } from "./spec.ts";
import { DEFAULT_CAPABILITIES, DEFAULT_PIDS_LIMIT, defaultConfinement } from "./defaults.ts";

export { DEFAULT_PIDS_LIMIT };

/** Every capability Linux knows (6.x), as the spec spells them. */
export const ALL_CAPABILITIES: readonly CapabilityName[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** One `--ulimit`: a resource name as podman spells it (`nofile`) and its limits. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** A tmpfs mount (`--tmpfs`, `--mount type=tmpfs`, `--read-only-tmpfs`). */
export interface TmpfsSpec {
  destination: string;
  options: string[];
}

/** A host device given to the container (`--device`). */
export interface DeviceSpec {
  /** The host device node. */
  source: string;
  /** Where it appears in the container. */
  destination: string;
  /** Cgroup access: some of `r`, `w`, `m`. */
  permissions: string;
}

/** The SELinux choice (`--security-opt label=...`). */
export interface LabelOptions {
  disable: boolean;
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

/** What confines a container; absent fields take podman's defaults. */
export interface Confinement {
  /** Memory limit, bytes. */
  memory?: number;
  /** Memory + swap limit, bytes; -1 unlimited. */
  memorySwap?: number;
  /** Memory soft limit, bytes. */
  memoryReservation?: number;
  /** CPUs (quota / period). */
  cpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  /** Max processes in the container's cgroup; 0 unlimited. */
  pidsLimit: number;
  ulimits: Ulimit[];
  /** The capability set the process gets (after `--cap-add`/`--cap-drop`/`--privileged`). */
  capabilities: CapabilityName[];
  privileged: boolean;
  noNewPrivileges: boolean;
  /** `default` (podman's profile), `unconfined`, or the absolute path of a profile. */
  seccomp: string;
  label: LabelOptions;
  readOnly: boolean;
  readOnlyTmpfs: boolean;
  tmpfs: TmpfsSpec[];
  devices: DeviceSpec[];
  /** Run catatonit as PID 1 (`--init`). */
  init: boolean;
  /** The process's umask. */
  umask: number;
  annotations: Record<string, string>;
}

/** The raw flag values {@linkcode buildConfinement} checks. */
export interface ConfinementFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string | number;
  ulimits?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpts?: string[];
  readOnly?: boolean;
  readOnlyTmpfs?: boolean | string;
  tmpfs?: string[];
  devices?: string[];
  init?: boolean;
  annotations?: string[];
  umask?: string;
  /** Number of CPUs online (for `--cpuset-cpus`); default: this host's. */
  onlineCpus?: number;
}

export { defaultConfinement };

function memoryValue(text: string): number {
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch {
    throw new InvalidArgError(`invalid value for memory: invalid size: '${text}'`);
  }
  if (bytes < 0) throw new InvalidArgError(`invalid value for memory: invalid size: '${text}'`);
  return bytes;
}

/** The smallest memory limit runc can apply (as docker's check). */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** Parses `--memory`, `--memory-swap` (`-1`: unlimited) and `--memory-reservation` together. */
export function parseMemory(
  memory?: string,
  swap?: string,
  reservation?: string,
): Pick<Confinement, "memory" | "memorySwap" | "memoryReservation"> {
  const out: Pick<Confinement, "memory" | "memorySwap" | "memoryReservation"> = {};
  if (memory !== undefined) {
    out.memory = memoryValue(memory);
    if (out.memory > 0 && out.memory < MIN_MEMORY) {
      throw new InvalidArgError("minimum memory limit allowed is 6MB");
    }
  }
  if (swap !== undefined) {
    out.memorySwap = swap === "-1" ? -1 : memoryValue(swap);
    if (out.memory === undefined) {
      throw new InvalidArgError(
        "you should always set a memory limit when using a memoryswap limit, see usage",
      );
    }
    if (out.memorySwap !== -1 && out.memorySwap < out.memory) {
      throw new InvalidArgError(
        "minimum memoryswap limit should be larger than memory limit, see usage",
      );
    }
  }
  if (reservation !== undefined) {
    out.memoryReservation = memoryValue(reservation);
    if (out.memory !== undefined && out.memory > 0 && out.memory < out.memoryReservation) {
      throw new InvalidArgError(
        "minimum memory limit cannot be less than memory reservation limit, see usage",
      );
    }
  }
  return out;
}

/** Parses `--cpus` (a positive decimal, at most the CPUs online). */
export function parseCpus(text: string, online: number): number {
  const value = /^\s*[-+]?(\d+\.?\d*|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) {
    throw new InvalidArgError(
      `invalid argument "${text}" for "--cpus" flag: strconv.ParseFloat: parsing "${text}": invalid syntax`,
    );
  }
  if (value < 0.01 || value > online) {
    throw new InvalidArgError(
      `range of CPUs is from 0.01 to ${
        online.toFixed(2)
      }, as there are only ${online} CPUs available`,
    );
  }
  return value;
}

/** Parses `--cpu-shares` (a whole number). */
export function parseCpuShares(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgError(
      `invalid argument "${text}" for "-c, --cpu-shares" flag: strconv.ParseUint: parsing "${text}": invalid syntax`,
    );
  }
  return Number(text);
}

/** Parses `--cpuset-cpus` (`0-1,3`), each CPU below `online`. */
export function parseCpusetCpus(text: string, online: number): string {
  const ranges = text.split(",");
  const requested: number[] = [];
  for (const range of ranges) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!match || (match[2] !== undefined && Number(match[2]) < Number(match[1]))) {
      throw new InvalidArgError(`invalid value ${text} for cpuset cpus`);
    }
    for (let cpu = Number(match[1]); cpu <= Number(match[2] ?? match[1]); cpu++) {
      requested.push(cpu);
    }
  }
  if (requested.some((cpu) => cpu >= online)) {
    throw new InvalidArgError(
      `requested CPUs are not available - requested ${text}, available: ${
        online === 1 ? "0" : `0-${online - 1}`
      }`,
    );
  }
  return text;
}

/** Parses `--pids-limit`: a whole number; `-1` and 0 mean unlimited (stored as 0). */
export function parsePidsLimit(value: string | number): number {
  const text = String(value);
  if (!/^-?\d+$/.test(text)) {
    throw new InvalidArgError(
      `invalid argument "${text}" for "--pids-limit" flag: strconv.ParseInt: parsing "${text}": invalid syntax`,
    );
  }
  const n = Number(text);
  return n <= 0 ? 0 : n;
}

/** The rlimit names `--ulimit` takes, and their `RLIMIT_` types. */
export const ULIMIT_TYPES: Readonly<Record<string, string>> = {
  core: "RLIMIT_CORE",
  cpu: "RLIMIT_CPU",
  data: "RLIMIT_DATA",
  fsize: "RLIMIT_FSIZE",
  locks: "RLIMIT_LOCKS",
  memlock: "RLIMIT_MEMLOCK",
  msgqueue: "RLIMIT_MSGQUEUE",
  nice: "RLIMIT_NICE",
  nofile: "RLIMIT_NOFILE",
  nproc: "RLIMIT_NPROC",
  rss: "RLIMIT_RSS",
  rtprio: "RLIMIT_RTPRIO",
  rttime: "RLIMIT_RTTIME",
  sigpending: "RLIMIT_SIGPENDING",
  stack: "RLIMIT_STACK",
};

/** Parses `--ulimit NAME=SOFT[:HARD]` (`-1` is unlimited). */
export function parseUlimit(text: string): Ulimit {
  const fail = (why: string): never => {
    throw new InvalidArgError(
      `ulimit option "${text}" requires name=SOFT:HARD, failed to be parsed: ${why}`,
    );
  };
  const eq = text.indexOf("=");
  if (eq < 0) fail(`invalid ulimit argument: ${text}`);
  const name = text.slice(0, eq);
  if (!(name in ULIMIT_TYPES)) fail(`invalid ulimit type: ${name}`);
  const parts = text.slice(eq + 1).split(":");
  if (parts.length > 2) fail(`too many limit value arguments - ${text.slice(eq + 1)}`);
  const numbers = parts.map((part) => {
    if (!/^-?\d+$/.test(part)) fail(`strconv.ParseInt: parsing "${part}": invalid syntax`);
    return Number(part);
  });
  const [soft, hard = soft] = numbers;
  if (soft !== -1 && hard !== -1 && soft > hard) {
    fail(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { name, soft, hard };
}

/** `CAP_`-prefixed, upper-case form of a capability the user wrote (`net_admin`, `CAP_NET_ADMIN`). */
function normalizeCapability(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

/**
 * The capability set after `--cap-add` and `--cap-drop` (`ALL` in either), applied to podman's
 * defaults as podman does (drops win over the defaults, adds over drops of `ALL`); `privileged`
 * gives every capability. An unknown name throws with podman's words.
 */
export function resolveCapabilities(
  add: string[],
  drop: string[],
  privileged: boolean,
): CapabilityName[] {
  const check = (cap: string): CapabilityName => {
    const name = normalizeCapability(cap);
    if (!(ALL_CAPABILITIES as readonly string[]).includes(name)) {
      throw new InvalidArgError(`"${name}": unknown capability`);
    }
    return name as CapabilityName;
  };
  const adds = add.filter((c) => c.toUpperCase() !== "ALL").map(check);
  const drops = drop.filter((c) => c.toUpperCase() !== "ALL").map(check);
  if (privileged) return [...ALL_CAPABILITIES];
  const addAll = add.some((c) => c.toUpperCase() === "ALL");
  const dropAll = drop.some((c) => c.toUpperCase() === "ALL");
  let caps: CapabilityName[] = addAll ? [...ALL_CAPABILITIES] : [...DEFAULT_CAPABILITIES];
  if (dropAll && !addAll) caps = [];
  for (const cap of adds) if (!caps.includes(cap)) caps.push(cap);
  caps = caps.filter((cap) => !drops.includes(cap) || adds.includes(cap));
  return ALL_CAPABILITIES.filter((cap) => caps.includes(cap));
}

/**
 * Applies the `--security-opt` values: `no-new-privileges[=true|false]`,
 * `seccomp=unconfined|PATH` (the file must exist), `label=disable|user:|role:|type:|level:`.
 */
export function parseSecurityOpts(
  opts: string[],
): Pick<Confinement, "noNewPrivileges" | "seccomp" | "label"> {
  const out: Pick<Confinement, "noNewPrivileges" | "seccomp" | "label"> = {
    noNewPrivileges: false,
    seccomp: "default",
    label: { disable: false },
  };
  opts.forEach((opt, index) => {
    const bad = (): never => {
      throw new InvalidArgError(`invalid --security-opt ${index + 1}: "${opt}"`);
    };
    if (opt === "no-new-privileges" || opt === "no-new-privileges=true") {
      out.noNewPrivileges = true;
      return;
    }
    if (opt === "no-new-privileges=false") {
      out.noNewPrivileges = false;
      return;
    }
    const eq = opt.search(/[=:]/);
    if (eq < 0) bad();
    const key = opt.slice(0, eq);
    const value = opt.slice(eq + 1);
    if (key === "seccomp") {
      if (value === "unconfined") {
        out.seccomp = "unconfined";
        return;
      }
      if (!isAbsolute(value)) bad();
      try {
        Deno.statSync(value);
      } catch (err) {
        throw new InvalidArgError(
          `opening seccomp profile failed: open ${value}: no such file or directory`,
          { cause: err },
        );
      }
      out.seccomp = value;
      return;
    }
    if (key === "label") {
      if (value === "disable") {
        out.label.disable = true;
        return;
      }
      const colon = value.indexOf(":");
      const part = value.slice(0, colon);
      const text = value.slice(colon + 1);
      if (colon < 0 || !["user", "role", "type", "level"].includes(part) || text === "") bad();
      // deno-lint-ignore no-control-regex
      if (/["\s\u0000-\u001f]/.test(text)) bad();
      out.label[part as "user" | "role" | "type" | "level"] = text;
      return;
    }
    bad();
  });
  return out;
}

/** The options `--tmpfs` and `--mount type=tmpfs` accept (as `mount(8)` spells them). */
const TMPFS_OPTIONS = new Set([
  "ro",
  "rw",
  "nodev",
  "dev",
  "noexec",
  "exec",
  "nosuid",
  "suid",
  "sync",
  "async",
  "dirsync",
  "noatime",
  "atime",
  "relatime",
  "norelatime",
  "strictatime",
  "nostrictatime",
  "tmpcopyup",
  "notmpcopyup",
  "private",
  "rprivate",
  "shared",
  "rshared",
  "slave",
  "rslave",
]);

/** Checks a container path: absolute, with podman's words. */
export function assertContainerPath(path: string): void {
  if (!isAbsolute(path)) {
    throw new InvalidArgError(`invalid container path "${path}", must be an absolute path`);
  }
}

/** Checks tmpfs options (`size=`, `mode=`, `uid=`, `gid=`, `nr_inodes=` and flag words). */
export function validateTmpfsOptions(options: string[]): void {
  for (const option of options) {
    const eq = option.indexOf("=");
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = option.slice(eq + 1);
    const ok = eq < 0
      ? TMPFS_OPTIONS.has(option)
      : key === "size"
      ? /^\d+[kmgKMG%]?$/.test(value)
      : key === "mode"
      ? /^[0-7]{1,4}$/.test(value)
      : ["uid", "gid", "nr_inodes"].includes(key) && /^\d+$/.test(value);
    if (!ok) throw new InvalidArgError(`unknown mount option "${option}": invalid mount option`);
  }
}

/** Parses `--tmpfs PATH[:OPTS]` (podman adds `rw,noexec,nosuid,nodev` unless given otherwise). */
export function parseTmpfs(text: string): TmpfsSpec {
  const colon = text.indexOf(":");
  const destination = colon < 0 ? text : text.slice(0, colon);
  const options = colon < 0 ? [] : text.slice(colon + 1).split(",").filter((o) => o !== "");
  assertContainerPath(destination);
  validateTmpfsOptions(options);
  return { destination, options };
}

/** Parses `--device HOST[:CTR[:PERMS]]`; the host node must exist and be a device. */
export function parseDevice(text: string): DeviceSpec {
  const parts = text.split(":");
  if (parts.length > 3) throw new InvalidArgError(`invalid device specification: ${text}`);
  const source = parts[0];
  let destination = source;
  let permissions = "rwm";
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1])) permissions = parts[1];
    else if (isAbsolute(parts[1])) destination = parts[1];
    else throw new InvalidArgError(`invalid device mode: ${parts[1]}`);
  } else if (parts.length === 3) {
    destination = parts[1];
    permissions = parts[2];
    if (!/^[rwm]+$/.test(permissions)) {
      throw new InvalidArgError(`invalid device mode: ${permissions}`);
    }
    assertContainerPath(destination);
  }
  if (!isAbsolute(source)) throw new InvalidArgError(`invalid device specification: ${text}`);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(source);
  } catch (err) {
    throw new InvalidArgError(`stat ${source}: no such file or directory`, { cause: err });
  }
  if (!info.isCharDevice && !info.isBlockDevice) {
    throw new InvalidArgError(`${source} is not a device`);
  }
  return { source, destination, permissions };
}

/** Parses `--annotation KEY=VALUE` entries. */
export function parseAnnotations(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new InvalidArgError("annotations must be formatted KEY=VALUE");
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(entry)) {
      throw new InvalidArgError(`invalid --annotation ${JSON.stringify(entry)}: control character`);
    }
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Parses `--umask` (octal, at most 0777). */
export function parseUmask(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text) || Number.parseInt(text, 8) > 0o777) {
    throw new InvalidArgError(
      `running container create option: invalid umask string ${text}: invalid argument`,
    );
  }
  return Number.parseInt(text, 8);
}

/** Parses `--read-only-tmpfs` given as a word. */
export function parseBool(flag: string, value: boolean | string): boolean {
  if (typeof value === "boolean") return value;
  if (["true", "1", "t", "T", "TRUE", "True"].includes(value)) return true;
  if (["false", "0", "f", "F", "FALSE", "False"].includes(value)) return false;
  throw new InvalidArgError(
    `invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

/** Number of CPUs this host has online. */
export function onlineCpus(): number {
  try {
    const text = Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
    let count = 0;
    for (const range of text.split(",")) {
      const [a, b = a] = range.split("-").map(Number);
      count += b - a + 1;
    }
    return count;
  } catch {
    return navigator.hardwareConcurrency;
  }
}

/** Checks every flag value and returns the container's confinement; see the module doc. */
export function buildConfinement(flags: ConfinementFlags): Confinement {
  const conf = defaultConfinement();
  const online = flags.onlineCpus ?? onlineCpus();
  Object.assign(conf, parseMemory(flags.memory, flags.memorySwap, flags.memoryReservation));
  if (flags.cpus !== undefined) conf.cpus = parseCpus(flags.cpus, online);
  if (flags.cpuShares !== undefined) conf.cpuShares = parseCpuShares(flags.cpuShares);
  if (flags.cpusetCpus !== undefined) conf.cpusetCpus = parseCpusetCpus(flags.cpusetCpus, online);
  if (flags.pidsLimit !== undefined) conf.pidsLimit = parsePidsLimit(flags.pidsLimit);
  conf.ulimits = (flags.ulimits ?? []).map(parseUlimit);
  conf.privileged = flags.privileged === true;
  conf.capabilities = resolveCapabilities(flags.capAdd ?? [], flags.capDrop ?? [], conf.privileged);
  Object.assign(conf, parseSecurityOpts(flags.securityOpts ?? []));
  if (conf.privileged) conf.seccomp = "unconfined";
  conf.readOnly = flags.readOnly === true;
  conf.readOnlyTmpfs = parseBool("--read-only-tmpfs", flags.readOnlyTmpfs ?? true);
  conf.tmpfs = (flags.tmpfs ?? []).map(parseTmpfs);
  conf.devices = (flags.devices ?? []).map(parseDevice);
  conf.init = flags.init === true;
  conf.annotations = parseAnnotations(flags.annotations ?? []);
  if (flags.umask !== undefined) conf.umask = parseUmask(flags.umask);
  return conf;
}
