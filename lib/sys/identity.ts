/**
 * Who a process is, across time: this boot's ID and a process's start time (so a PID the kernel
 * reused names another process). Intent records carry both, so a later command can tell whether
 * the process that wrote one is still alive.
 *
 * @example
 * ```ts
 * const me = { pid: Deno.pid, start: processStartTime(Deno.pid), boot: bootId() };
 * isSameProcessAlive(me.pid, me.start); // true
 * ```
 * @module
 */

/** This boot's ID, from the kernel (`unknown` when it cannot be read). */
export function bootId(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return "unknown";
  }
}

/**
 * The start time of process `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`), or
 * "" when there is no such process or it is a zombie.
 */
export function processStartTime(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) return "";
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return "";
  }
  // fields after the command name (in parentheses, which may hold spaces): state is field 3
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return "";
  return rest[19] ?? "";
}

/** True when process `pid` is alive and is the one that started at `start` (not a reused PID). */
export function isSameProcessAlive(pid: number, start: string): boolean {
  const now = processStartTime(pid);
  return now !== "" && (start === "" || now === start);
}

/** The command line of process `pid` (NUL-separated arguments), or [] when it is gone. */
export function processArgs(pid: number): string[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return text.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
  } catch {
    return [];
  }
}
