/**
 * A container's resource usage as podman 4.3's `stats` reports it, from the container's cgroup
 * (`/denopod/<id>`, v1 or v2: `lib/sys/cgroup_stats.ts`) and `/proc` (the network namespace's
 * `net/dev` through the container's PID). CPU % compares a sample with the previous one of the
 * same container: the first sample of a run is compared with the container's start, so it equals
 * AVG CPU % (the average since start), as podman does. A container that does not run (created,
 * exited, stopping) gives a row of zeros, as podman 4.3.1 does.
 *
 * @example
 * ```ts
 * const previous = new Map<string, ContainerStats>();
 * const rows = await sampleStats(ctrs, previous);   // later: sampleStats(ctrs, previous) again
 * statsRow(rows[0]).MemUsage;                       // "327.7kB / 67.11MB"
 * ```
 * @module
 */
import { readCgroupUsage } from "../sys/cgroup_stats.ts";
import { cgroupMounts } from "../sys/cgroup.ts";
import { readNetDev } from "../sys/procfs.ts";
import { formatGoG } from "../util/humanize.ts";
import { goDuration } from "../util/go_duration.ts";
import type { Container } from "./container.ts";
import { containerCgroupPath } from "./spec/resources.ts";
import { syncForDisplay } from "./lifecycle/sync.ts";

/** One sample of one container, podman's `define.ContainerStats`. */
export interface ContainerStats {
  containerId: string;
  name: string;
  /** CPU % since the previous sample (or since start for the first). */
  cpu: number;
  /** CPU % averaged since the container started. */
  avgCpu: number;
  /** CPU time used, nanoseconds. */
  cpuNano: number;
  /** Kernel-mode CPU time, nanoseconds. */
  cpuSystemNano: number;
  /** When the sample was taken, milliseconds since the epoch (fractional). */
  sampledAtMs: number;
  memUsage: number;
  /** The memory limit, at most the host's RAM (0 for a container that does not run). */
  memLimit: number;
  memPerc: number;
  netInput: number;
  netOutput: number;
  blockInput: number;
  blockOutput: number;
  pids: number;
}

/** The host's RAM in bytes (`sysinfo`'s total), cached. */
let totalRam: number | undefined;
function hostRam(): number {
  totalRam ??= Deno.systemMemoryInfo().total;
  return totalRam;
}

/** The wall clock with sub-millisecond precision. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A row of zeros for a container that does not run. */
function idleStats(ctr: Container): ContainerStats {
  return {
    containerId: ctr.id,
    name: ctr.name,
    cpu: 0,
    avgCpu: 0,
    cpuNano: 0,
    cpuSystemNano: 0,
    sampledAtMs: 0,
    memUsage: 0,
    memLimit: 0,
    memPerc: 0,
    netInput: 0,
    netOutput: 0,
    blockInput: 0,
    blockOutput: 0,
    pids: 0,
  };
}

/** CPU % between two points: CPU nanoseconds used over wall nanoseconds passed, times 100. */
function cpuPercent(cpuDeltaNs: number, wallDeltaMs: number): number {
  const wallNs = wallDeltaMs * 1e6;
  return wallNs > 0 && cpuDeltaNs > 0 ? (cpuDeltaNs / wallNs) * 100 : 0;
}

/**
 * Samples one container (the caller has synced its state). `previous` is this container's last
 * sample in this run, if any.
 */
export function sampleContainer(ctr: Container, previous?: ContainerStats): ContainerStats {
  const { state } = ctr;
  if (state.status !== "running" && state.status !== "paused") return idleStats(ctr);
  const usage = readCgroupUsage(containerCgroupPath(ctr.id), mounts());
  const now = nowMs();
  const startedMs = state.startedAt ? Date.parse(state.startedAt) : now;
  // a smaller CPU total than before means a restart into a new cgroup: start over
  const base = previous && previous.cpuNano <= usage.cpuNanos && previous.sampledAtMs > 0
    ? previous
    : undefined;
  const net = ctr.config.network === "host" ? { rx: 0, tx: 0 } : readNetDev(state.pid);
  const memLimit = Math.min(usage.memoryLimit, hostRam());
  return {
    containerId: ctr.id,
    name: ctr.name,
    cpu: cpuPercent(usage.cpuNanos - (base?.cpuNano ?? 0), now - (base?.sampledAtMs ?? startedMs)),
    avgCpu: cpuPercent(usage.cpuNanos, now - startedMs),
    cpuNano: usage.cpuNanos,
    cpuSystemNano: usage.cpuSystemNanos,
    sampledAtMs: now,
    memUsage: usage.memoryUsage,
    memLimit,
    memPerc: memLimit > 0 ? (usage.memoryUsage / memLimit) * 100 : 0,
    netInput: net.rx,
    netOutput: net.tx,
    blockInput: usage.blockRead,
    blockOutput: usage.blockWrite,
    pids: usage.pids,
  };
}

/**
 * Syncs each container with its process and samples it; `previous` holds each container's last
 * sample of this run (by ID) and is updated. A container removed meanwhile is left out.
 */
export async function sampleStats(
  ctrs: readonly Container[],
  previous: Map<string, ContainerStats>,
): Promise<ContainerStats[]> {
  const samples: ContainerStats[] = [];
  for (const ctr of ctrs) {
    if (!(await syncForDisplay(ctr))) continue;
    const sample = sampleContainer(ctr, previous.get(ctr.id));
    previous.set(ctr.id, sample);
    samples.push(sample);
  }
  return samples;
}

let mountsCache: ReturnType<typeof cgroupMounts> | undefined;
function mounts(): ReturnType<typeof cgroupMounts> {
  mountsCache ??= cgroupMounts();
  return mountsCache;
}

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/** go-units `HumanSize` (decimal units, 4 significant digits): `327.7kB`, `67.11MB`. */
export function humanSize4(bytes: number): string {
  return unitSize(bytes, 1000, DECIMAL);
}

/** go-units `BytesSize` (binary units, 4 significant digits): `304KiB`, `64MiB`. */
export function bytesSize4(bytes: number): string {
  return unitSize(bytes, 1024, BINARY);
}

function unitSize(bytes: number, base: number, units: string[]): string {
  let size = bytes;
  let unit = 0;
  while (size >= base && unit < units.length - 1) {
    size /= base;
    unit++;
  }
  return `${formatGoG(size, 4)}${units[unit]}`;
}

/** podman's `floatToPercentString`: two decimals and `%`. */
export function percentString(value: number): string {
  return `${(Number.isFinite(value) ? value : 0).toFixed(2)}%`;
}

/**
 * The fields a `--format` template sees, as podman's `containerStats` (its methods and
 * `define.ContainerStats`' fields): `ID` (12 characters, or the full ID with `noTrunc`), `Name`,
 * `CPUPerc`, `AVGCPU`, `MemUsage`, `MemUsageBytes`, `MemPerc`, `NetIO`, `BlockIO`, `PIDS`,
 * `UpTime` (CPU time), and the raw numbers.
 */
export function statsRow(s: ContainerStats, noTrunc = false): Record<string, string | number> {
  return {
    ID: noTrunc ? s.containerId : s.containerId.slice(0, 12),
    ContainerID: s.containerId,
    Name: s.name,
    CPUPerc: percentString(s.cpu),
    AVGCPU: percentString(s.avgCpu),
    MemUsage: `${humanSize4(s.memUsage)} / ${humanSize4(s.memLimit)}`,
    MemUsageBytes: `${bytesSize4(s.memUsage)} / ${bytesSize4(s.memLimit)}`,
    MemPerc: percentString(s.memPerc),
    NetIO: `${humanSize4(s.netInput)} / ${humanSize4(s.netOutput)}`,
    BlockIO: `${humanSize4(s.blockInput)} / ${humanSize4(s.blockOutput)}`,
    PIDS: String(s.pids),
    UpTime: goDuration(s.cpuNano),
    Up: goDuration(s.cpuNano),
    CPU: s.cpu,
    AvgCPU: s.avgCpu,
    CPUNano: s.cpuNano,
    CPUSystemNano: s.cpuSystemNano,
    Duration: s.cpuNano,
    MemLimit: s.memLimit,
    NetInput: s.netInput,
    NetOutput: s.netOutput,
    BlockInput: s.blockInput,
    BlockOutput: s.blockOutput,
    PIDs: s.pids,
  };
}

/** One entry of `stats --format json`, podman's keys and string values. */
export interface StatsJson {
  id: string;
  name: string;
  cpu_time: string;
  cpu_percent: string;
  avg_cpu: string;
  mem_usage: string;
  mem_percent: string;
  net_io: string;
  block_io: string;
  pids: string;
}

/** The `--format json` entry of a sample. */
export function statsJson(s: ContainerStats, noTrunc = false): StatsJson {
  const row = statsRow(s, noTrunc);
  return {
    id: row.ID as string,
    name: s.name,
    cpu_time: row.UpTime as string,
    cpu_percent: row.CPUPerc as string,
    avg_cpu: row.AVGCPU as string,
    mem_usage: row.MemUsage as string,
    mem_percent: row.MemPerc as string,
    net_io: row.NetIO as string,
    block_io: row.BlockIO as string,
    pids: row.PIDS as string,
  };
}
