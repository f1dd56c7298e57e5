/**
 * What a cgroup has used, read from its files: CPU time, memory usage and limit, the number of
 * tasks, bytes read and written on block devices, and the PIDs in it. Each figure comes from the
 * hierarchy that holds its controller, chosen at run time: the v1 file where a v1 hierarchy has
 * the controller (`cpuacct.usage`, `memory.usage_in_bytes`, `blkio.throttle.io_service_bytes_recursive`),
 * else the v2 unified one (`cpu.stat`, `memory.current`, `io.stat`) — so hybrid hosts (v1
 * controllers beside an empty unified mount, as this Debian host) and pure v2 hosts both work.
 *
 * @example
 * ```ts
 * const usage = readCgroupUsage("/denopod/ID"); // { cpuNanos: 1217715503, memoryUsage: 344064, … }
 * cgroupPids("/denopod/ID");                    // [4770]
 * ```
 * @module
 */
import { type CgroupMount, cgroupMounts } from "./cgroup.ts";
import { join } from "../util/path.ts";

/** A cgroup's usage; a figure the host does not account is 0. */
export interface CgroupUsage {
  /** CPU time used by every task of the cgroup, nanoseconds. */
  cpuNanos: number;
  /** Kernel-mode part of {@linkcode cpuNanos} (0 where not accounted). */
  cpuSystemNanos: number;
  /** Memory charged to the cgroup, bytes. */
  memoryUsage: number;
  /** Its memory limit, bytes; `Infinity` when unlimited. */
  memoryLimit: number;
  /** Tasks (processes and threads) in it. */
  pids: number;
  /** Bytes read from block devices. */
  blockRead: number;
  /** Bytes written to block devices. */
  blockWrite: number;
}

/** The largest v1 limit (`PAGE_COUNTER_MAX` pages): what `memory.limit_in_bytes` shows unlimited. */
const V1_UNLIMITED = 2 ** 62;

/** One controller's directory for a cgroup path and which interface its files follow. */
interface ControllerDir {
  dir: string;
  version: 1 | 2;
}

function controllerDirOf(
  path: string,
  controller: string,
  mounts: CgroupMount[],
): ControllerDir | undefined {
  const v1 = mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
  if (v1) return { dir: join(v1.mountPoint, path), version: 1 };
  const v2 = mounts.find((m) => m.version === 2);
  return v2 ? { dir: join(v2.mountPoint, path), version: 2 } : undefined;
}

/** A cgroup file's text; undefined when the file (or the cgroup) is not there. */
function readCgroupFile(dir: string, name: string): string | undefined {
  try {
    return Deno.readTextFileSync(join(dir, name));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** A one-number file (`max` is `Infinity`); 0 when missing or empty. */
function readNumber(dir: string, name: string): number {
  const text = readCgroupFile(dir, name)?.trim();
  if (text === undefined || text === "") return 0;
  if (text === "max") return Infinity;
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

/** `key value` lines (`cpu.stat`, `memory.stat`) as a map. */
export function parseKeyValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

/**
 * Sums bytes read and written over the devices of a v1 `blkio.*io_service_bytes_recursive` file
 * (`8:0 Read 4096` lines; `Total` lines skipped).
 */
export function parseBlkioV1(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3) continue;
    const op = parts[1].toLowerCase();
    if (op === "read") read += Number(parts[2]) || 0;
    else if (op === "write") write += Number(parts[2]) || 0;
  }
  return { read, write };
}

/** Sums `rbytes=` and `wbytes=` over the devices of a v2 `io.stat` file. */
export function parseIoStatV2(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [key, value] = field.split("=");
      if (key === "rbytes") read += Number(value) || 0;
      else if (key === "wbytes") write += Number(value) || 0;
    }
  }
  return { read, write };
}

function readCpu(path: string, mounts: CgroupMount[]): { total: number; system: number } {
  const acct = controllerDirOf(path, "cpuacct", mounts);
  if (acct?.version === 1) {
    const stat = parseKeyValues(readCgroupFile(acct.dir, "cpuacct.stat") ?? "");
    // cpuacct.stat counts USER_HZ ticks
    return {
      total: readNumber(acct.dir, "cpuacct.usage"),
      system: (stat.get("system") ?? 0) * 1e7,
    };
  }
  const cpu = controllerDirOf(path, "cpu", mounts);
  if (!cpu) return { total: 0, system: 0 };
  const stat = parseKeyValues(readCgroupFile(cpu.dir, "cpu.stat") ?? "");
  return {
    total: (stat.get("usage_usec") ?? 0) * 1000,
    system: (stat.get("system_usec") ?? 0) * 1000,
  };
}

function readMemory(path: string, mounts: CgroupMount[]): { usage: number; limit: number } {
  const memory = controllerDirOf(path, "memory", mounts);
  if (!memory) return { usage: 0, limit: Infinity };
  if (memory.version === 1) {
    const limit = readNumber(memory.dir, "memory.limit_in_bytes");
    return {
      usage: readNumber(memory.dir, "memory.usage_in_bytes"),
      limit: limit === 0 || limit >= V1_UNLIMITED ? Infinity : limit,
    };
  }
  const limit = readNumber(memory.dir, "memory.max");
  return { usage: readNumber(memory.dir, "memory.current"), limit: limit || Infinity };
}

function readBlock(path: string, mounts: CgroupMount[]): { read: number; write: number } {
  const blkio = controllerDirOf(path, "blkio", mounts);
  if (blkio?.version === 1) {
    const text = readCgroupFile(blkio.dir, "blkio.throttle.io_service_bytes_recursive") ??
      readCgroupFile(blkio.dir, "blkio.io_service_bytes_recursive") ?? "";
    return parseBlkioV1(text);
  }
  const io = controllerDirOf(path, "io", mounts);
  return parseIoStatV2(io ? readCgroupFile(io.dir, "io.stat") ?? "" : "");
}

/**
 * Reads the usage of the cgroup `path` (absolute, e.g. `/denopod/ID`). A cgroup that is gone
 * reads as zeros.
 */
export function readCgroupUsage(path: string, mounts: CgroupMount[] = cgroupMounts()): CgroupUsage {
  const cpu = readCpu(path, mounts);
  const memory = readMemory(path, mounts);
  const block = readBlock(path, mounts);
  const pids = controllerDirOf(path, "pids", mounts);
  return {
    cpuNanos: cpu.total,
    cpuSystemNanos: cpu.system,
    memoryUsage: memory.usage,
    memoryLimit: memory.limit,
    pids: pids ? readNumber(pids.dir, "pids.current") : 0,
    blockRead: block.read,
    blockWrite: block.write,
  };
}

/**
 * The PIDs (host view) of the processes in the cgroup `path`, from `cgroup.procs` of the
 * hierarchy holding the pids controller (else the unified one); empty when the cgroup is gone.
 */
export function cgroupPids(path: string, mounts: CgroupMount[] = cgroupMounts()): number[] {
  const dir = controllerDirOf(path, "pids", mounts);
  const text = dir ? readCgroupFile(dir.dir, "cgroup.procs") ?? "" : "";
  return text.split("\n").filter((l) => l !== "").map(Number);
}
