/**
 * Process facts read from the host's `/proc`, no `ps` process: one process's `stat`, `status`
 * and `cmdline` fields, the time since boot, the clock tick rate (from the auxiliary vector, as
 * `sysconf(_SC_CLK_TCK)`), and the bytes a network namespace received and sent (its
 * `/proc/PID/net/dev`, loopback left out).
 *
 * @example
 * ```ts
 * const p = readProcess(4770);   // { pid: 4770, nsPid: 1, comm: "sleep", args: ["sleep", "1000", ""], … }
 * uptimeMs();                    // 17460512.3
 * readNetDev(4770);              // { rx: 0, tx: 0 }
 * ```
 * @module
 */

/** One process as `/proc/PID/{stat,status,cmdline}` show it. */
export interface ProcStat {
  /** PID in the reader's (host) namespace. */
  pid: number;
  /** PID in the innermost PID namespace the process lives in (`NSpid`'s last entry). */
  nsPid: number;
  /** Parent PID (host view). */
  ppid: number;
  /** Executable name (`comm`, without the parentheses). */
  comm: string;
  /** One-letter state (`R`, `S`, …). */
  state: string;
  /** Process group ID (host view). */
  pgid: number;
  /** Controlling terminal's device number (0: none). */
  ttyNr: number;
  /** User and system CPU time, clock ticks. */
  cpuTicks: number;
  /** Nice value. */
  nice: number;
  /** Start time after boot, clock ticks. */
  startTicks: number;
  /** Virtual memory size, bytes. */
  vsize: number;
  /** Resident set in KiB (`VmRSS`; 0 for kernel threads). */
  rssKiB: number;
  /** Real, effective, saved and filesystem UIDs. */
  uids: number[];
  /** Real, effective, saved and filesystem GIDs. */
  gids: number[];
  /** Seccomp mode: 0 off, 1 strict, 2 filter. */
  seccomp: number;
  /** `cmdline` split at NUL bytes (a trailing empty string when it ends in NUL, as psgo keeps). */
  args: string[];
  /** The PID namespace's identity (`pid:[4026532…]`). */
  pidNamespace: string;
}

/** Reads a `/proc` file; undefined when the process has gone meanwhile. */
function readProcFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    // ESRCH: the process went while we read
    if (err instanceof Error && /ESRCH|No such process/.test(err.message)) return undefined;
    throw err;
  }
}

/** The fields of a `/proc/PID/stat` line after `(comm)`, and comm itself. */
export function parseStatLine(text: string): { comm: string; fields: string[] } {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  return {
    comm: text.slice(open + 1, close),
    fields: text.slice(close + 2).trim().split(" "),
  };
}

/** `Key:\tvalue` lines of `/proc/PID/status` as a map. */
export function parseStatusText(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) map.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return map;
}

const numbers = (text: string | undefined): number[] =>
  (text ?? "").split(/\s+/).filter((s) => s !== "").map(Number);

/** Reads one process from `/proc`; undefined when it has gone. */
export function readProcess(pid: number): ProcStat | undefined {
  const statText = readProcFile(`/proc/${pid}/stat`);
  const statusText = readProcFile(`/proc/${pid}/status`);
  const cmdline = readProcFile(`/proc/${pid}/cmdline`);
  if (statText === undefined || statusText === undefined || cmdline === undefined) return undefined;
  let pidNamespace = "";
  try {
    pidNamespace = Deno.readLinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
  const { comm, fields } = parseStatLine(statText);
  // fields[0] is stat's field 3 (state): field N is fields[N - 3]
  const field = (n: number) => Number(fields[n - 3]);
  const status = parseStatusText(statusText);
  const nsPids = numbers(status.get("NSpid"));
  return {
    pid,
    nsPid: nsPids.length > 0 ? nsPids[nsPids.length - 1] : pid,
    ppid: field(4),
    comm,
    state: fields[0],
    pgid: field(5),
    ttyNr: field(7),
    cpuTicks: field(14) + field(15),
    nice: field(19),
    startTicks: field(22),
    vsize: field(23),
    rssKiB: numbers(status.get("VmRSS"))[0] ?? 0,
    uids: numbers(status.get("Uid")),
    gids: numbers(status.get("Gid")),
    seccomp: Number(status.get("Seccomp") ?? 0),
    args: cmdline === "" ? [""] : cmdline.split("\0"),
    pidNamespace,
  };
}

/** Milliseconds since boot (the first figure of `/proc/uptime`). */
export function uptimeMs(): number {
  return Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
}

/** `AT_CLKTCK` in the auxiliary vector. */
const AT_CLKTCK = 17;
let clockTicks: number | undefined;

/** `sysconf(_SC_CLK_TCK)`: clock ticks per second, read from `/proc/self/auxv` (100 if absent). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    clockTicks = 100;
    const auxv = Deno.readFileSync("/proc/self/auxv");
    const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
    for (let i = 0; i + 16 <= auxv.byteLength; i += 16) {
      if (view.getBigUint64(i, true) === BigInt(AT_CLKTCK)) {
        clockTicks = Number(view.getBigUint64(i + 8, true));
        break;
      }
    }
  }
  return clockTicks;
}

/** Bytes received and sent. */
export interface NetBytes {
  rx: number;
  tx: number;
}

/** Sums the non-loopback interfaces of a `/proc/PID/net/dev` text. */
export function parseNetDev(text: string): NetBytes {
  let rx = 0;
  let tx = 0;
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === "lo") continue;
    const cols = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rx += cols[0] || 0;
    tx += cols[8] || 0;
  }
  return { rx, tx };
}

/** The bytes the network namespace of `pid` received and sent (loopback left out). */
export function readNetDev(pid: number): NetBytes {
  const text = readProcFile(`/proc/${pid}/net/dev`);
  return text === undefined ? { rx: 0, tx: 0 } : parseNetDev(text);
}
