/**
 * The monitor processes (conmon, or the built-in `__monitor`) that hold containers of one
 * runroot, found by their command lines in `/proc`: each names the container's run directory
 * (`<runroot>/containers/<id>`). Used to find monitors no row accounts for, and to end the monitor
 * of a start that was interrupted before it saved the monitor's PID.
 *
 * @example
 * ```ts
 * for (const { pid, id } of findMonitors(paths)) console.log(pid, id);
 * ```
 * @module
 */
import { basename, join } from "../util/path.ts";
import type { Paths } from "../paths.ts";
import { processArgs } from "../sys/identity.ts";
import { isProcessAlive } from "../sys/process.ts";

/** A monitor process and the container it holds. */
export interface MonitorProcess {
  pid: number;
  /** The container's ID. */
  id: string;
}

function isMonitor(args: string[]): boolean {
  return basename(args[0] ?? "") === "conmon" || args.includes("__monitor");
}

/** The live monitor processes of containers of this runroot; see the module doc. */
export function findMonitors(paths: Paths): MonitorProcess[] {
  const prefix = `${join(paths.runRoot, "containers")}/`;
  const found: MonitorProcess[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    const args = processArgs(pid);
    if (!isMonitor(args)) continue;
    const line = args.join(" ");
    const at = line.indexOf(prefix);
    if (at < 0) continue;
    const id = line.slice(at + prefix.length, at + prefix.length + 64);
    if (/^[0-9a-f]{64}$/.test(id) && isProcessAlive(pid)) found.push({ pid, id });
  }
  return found;
}

/**
 * The live `runc` commands (create, start, ...) that name container `id`: a monitor killed while
 * its `runc create` runs leaves that command running, and it may still make the container.
 */
export function findRuncCommands(id: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const args = processArgs(Number(entry.name));
    if (basename(args[0] ?? "") === "runc" && args.includes(id)) found.push(Number(entry.name));
  }
  return found;
}

/** True when `pid` is a live monitor of container `id` of this runroot (not a reused PID). */
export function isMonitorOf(paths: Paths, pid: number, id: string): boolean {
  if (!isProcessAlive(pid)) return false;
  const args = processArgs(pid);
  return isMonitor(args) && args.join(" ").includes(join(paths.runRoot, "containers", id));
}

/** Reads a PID file; 0 when it is missing or holds no number. */
export function readPidFile(path: string): number {
  try {
    const pid = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** Sends SIGKILL to `pid`, ignoring a process that is already gone. */
export function killProcess(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Waits up to `ms` for `pid` to be gone; true when it is. */
export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
