/**
 * `top`: the processes of a running container as podman 4.3 shows them (its psgo library), read
 * from the host's `/proc` — no `ps` process and no namespace joined. The processes are those of
 * the container's cgroup (`cgroup.procs`) that share the init process's PID namespace, ordered
 * by their PID in that namespace; PID and PPID are shown as the container sees them (`NSpid`),
 * user and group names come from the container's own `/etc/passwd` and `/etc/group` (HUSER and
 * HGROUP from the host's). Descriptors are psgo's, by name or AIX code (`pid` or `%p`), and may be
 * given comma-separated.
 *
 * @example
 * ```ts
 * topTable(ctr, []);               // [["USER","PID",…,"COMMAND"], ["root","1",…,"sleep 1000 "]]
 * topTable(ctr, ["pid", "comm"]);  // [["PID","COMMAND"], ["1","sleep"]]
 * ```
 * @module
 */
import { ContainerStateError, InvalidArgError } from "../errors.ts";
import { cgroupPids } from "../sys/cgroup_stats.ts";
import { clockTicksPerSecond, type ProcStat, readProcess, uptimeMs } from "../sys/procfs.ts";
import { goDuration } from "../util/go_duration.ts";
import type { Container } from "./container.ts";
import { containerCgroupPath } from "./spec/resources.ts";
import { readRootfsFile } from "./user.ts";

/** What a descriptor's function gets: the process, and lookups shared by every process. */
interface TopContext {
  /** Host PID → PID in the container's namespace, for the container's processes. */
  nsPids: Map<number, number>;
  /** UID → name in the container's `/etc/passwd`; GID → name in its `/etc/group`. */
  users: Map<number, string>;
  groups: Map<number, string>;
  hostUsers: Map<number, string>;
  hostGroups: Map<number, string>;
  /** Milliseconds since boot, now (`/proc/uptime`: a clock no one sets). */
  uptimeMs: number;
}

/** One psgo descriptor: its names, column title and value. */
interface Descriptor {
  normal: string;
  code?: string;
  header: string;
  value: (p: ProcStat, ctx: TopContext) => string;
}

/** podman's default columns (`ps -ef`'s). */
export const DEFAULT_DESCRIPTORS = ["user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"];

/** CPU time in whole seconds, as psgo truncates it. */
function cpuSeconds(p: ProcStat): number {
  return Math.floor(p.cpuTicks / clockTicksPerSecond());
}

/**
 * Milliseconds since the process started (its start truncated to the second, as psgo), measured
 * on the boot clock: a wall clock set back or forward changes nothing.
 */
function elapsedMs(p: ProcStat, ctx: TopContext): number {
  return ctx.uptimeMs - Math.floor(p.startTicks / clockTicksPerSecond()) * 1000;
}

/** `/dev/…` name of a tty device number, without `/dev/`; `?` when none. */
export function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return "?";
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  if (major === 5 && minor === 1) return "console";
  return "?";
}

const nameOr = (names: Map<number, string>, id: number | undefined) =>
  id === undefined ? "?" : names.get(id) ?? String(id);

const SECCOMP_MODES = ["disabled", "strict", "filter"];

/** The descriptors denopod's `top` knows, psgo's names, codes and headers. */
const DESCRIPTORS: readonly Descriptor[] = [
  {
    normal: "pcpu",
    code: "%C",
    header: "%CPU",
    value: (p, ctx) => (100 * cpuSeconds(p) / (elapsedMs(p, ctx) / 1000)).toFixed(3),
  },
  { normal: "group", code: "%G", header: "GROUP", value: (p, c) => nameOr(c.groups, p.gids[1]) },
  {
    normal: "ppid",
    code: "%P",
    header: "PPID",
    value: (p, c) => String(c.nsPids.get(p.ppid) ?? 0),
  },
  { normal: "user", code: "%U", header: "USER", value: (p, c) => nameOr(c.users, p.uids[1]) },
  { normal: "uid", header: "UID", value: (p) => String(p.uids[1]) },
  {
    normal: "args",
    code: "%a",
    header: "COMMAND",
    value: (p) => p.args[0] === "" ? `[${p.comm}]` : p.args.join(" "),
  },
  { normal: "comm", code: "%c", header: "COMMAND", value: (p) => p.comm },
  { normal: "rgroup", code: "%g", header: "RGROUP", value: (p, c) => nameOr(c.groups, p.gids[0]) },
  { normal: "nice", code: "%n", header: "NI", value: (p) => String(p.nice) },
  { normal: "pid", code: "%p", header: "PID", value: (p) => String(p.nsPid) },
  {
    normal: "pgid",
    code: "%r",
    header: "PGID",
    value: (p, c) => String(c.nsPids.get(p.pgid) ?? 0),
  },
  {
    normal: "etime",
    code: "%t",
    header: "ELAPSED",
    value: (p, ctx) => goDuration(elapsedMs(p, ctx) * 1e6),
  },
  { normal: "ruser", code: "%u", header: "RUSER", value: (p, c) => nameOr(c.users, p.uids[0]) },
  { normal: "time", code: "%x", header: "TIME", value: (p) => goDuration(cpuSeconds(p) * 1e9) },
  { normal: "tty", code: "%y", header: "TTY", value: (p) => ttyName(p.ttyNr) },
  { normal: "vsz", code: "%z", header: "VSZ", value: (p) => String(Math.floor(p.vsize / 1024)) },
  { normal: "seccomp", header: "SECCOMP", value: (p) => SECCOMP_MODES[p.seccomp] ?? "?" },
  { normal: "hpid", header: "HPID", value: (p) => String(p.pid) },
  { normal: "huser", header: "HUSER", value: (p, c) => nameOr(c.hostUsers, p.uids[1]) },
  { normal: "huid", header: "HUID", value: (p) => String(p.uids[1]) },
  { normal: "hgroup", header: "HGROUP", value: (p, c) => nameOr(c.hostGroups, p.gids[1]) },
  { normal: "rss", header: "RSS", value: (p) => String(p.rssKiB) },
  { normal: "state", header: "STATE", value: (p) => p.state },
];

/** The names `top` accepts, sorted (psgo's `ListDescriptors`). */
export function topDescriptorNames(): string[] {
  return DESCRIPTORS.map((d) => d.normal).sort();
}

/**
 * The descriptors asked for (each argument may hold several, comma-separated); the default
 * columns when none. Throws InvalidArgError naming an unknown one.
 */
export function parseDescriptors(args: readonly string[]): Descriptor[] {
  const names = args.flatMap((a) => a.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  return (names.length > 0 ? names : DEFAULT_DESCRIPTORS).map((name) => {
    const found = DESCRIPTORS.find((d) => d.normal === name || d.code === name);
    if (!found) {
      throw new InvalidArgError(
        `'${name}': unknown descriptor (known: ${topDescriptorNames().join(", ")})`,
      );
    }
    return found;
  });
}

/** `name:x:id:…` lines of a passwd or group file as id → name. */
export function parseIdNames(text: string | undefined): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (text ?? "").split("\n")) {
    const [name, , id] = line.split(":");
    if (name && id !== undefined && /^\d+$/.test(id) && !names.has(Number(id))) {
      names.set(Number(id), name);
    }
  }
  return names;
}

function readRootfsIds(rootfs: string, path: string): Map<number, string> {
  if (!rootfs) return new Map();
  try {
    return parseIdNames(readRootfsFile(rootfs, path));
  } catch {
    // an unreadable file in the image: numeric IDs, as psgo shows them
    return new Map();
  }
}

function readHostIds(path: string): Map<number, string> {
  try {
    return parseIdNames(Deno.readTextFileSync(path));
  } catch {
    return new Map();
  }
}

/** The container's processes (host view), init's PID namespace only, by namespace PID. */
export function containerProcesses(ctr: Container): ProcStat[] {
  const init = readProcess(ctr.state.pid);
  const procs: ProcStat[] = [];
  for (const pid of cgroupPids(containerCgroupPath(ctr.id))) {
    const p = pid === init?.pid ? init : readProcess(pid);
    if (p && (!init || p.pidNamespace === init.pidNamespace)) procs.push(p);
  }
  return procs.sort((a, b) => a.nsPid - b.nsPid);
}

/**
 * The table `top` prints for a container (the caller has synced it): a header row, then a row
 * per process. Throws ContainerStateError unless the container runs, InvalidArgError for an
 * unknown descriptor.
 */
export function topTable(ctr: Container, descriptorArgs: readonly string[]): string[][] {
  if (ctr.state.status !== "running") {
    throw new ContainerStateError("top can only be used on running containers");
  }
  const descriptors = parseDescriptors(descriptorArgs);
  const procs = containerProcesses(ctr);
  const wants = (...names: string[]) => descriptors.some((d) => names.includes(d.normal));
  const rootfs = ctr.state.mountpoint;
  const ctx: TopContext = {
    nsPids: new Map(procs.map((p) => [p.pid, p.nsPid])),
    users: wants("user", "ruser") ? readRootfsIds(rootfs, "/etc/passwd") : new Map(),
    groups: wants("group", "rgroup") ? readRootfsIds(rootfs, "/etc/group") : new Map(),
    hostUsers: wants("huser") ? readHostIds("/etc/passwd") : new Map(),
    hostGroups: wants("hgroup") ? readHostIds("/etc/group") : new Map(),
    uptimeMs: uptimeMs(),
  };
  return [
    descriptors.map((d) => d.header),
    ...procs.map((p) => descriptors.map((d) => d.value(p, ctx))),
  ];
}
