/**
 * A container's cgroup and what it may use: the cgroup path (cgroupfs layout, `/denopod/<id>`,
 * in every hierarchy on cgroup v1, hybrid or v2 hosts; runc creates it and removes it on
 * `delete`), the pids limit, memory and CPU limits, and the rlimits — podman's defaults (nofile
 * and nproc 1048576), each capped at the caller's hard limit so they never fail, with soft = hard
 * whatever the caller's soft limits, then the `--ulimit` values as given.
 *
 * @example
 * ```ts
 * const spec = newSpec(withCgroup("ID"), withResources(defaultConfinement()),
 *   withUlimits([], 20000, 96364));
 * spec.linux.resources.pids; // { limit: 2048 }
 * ```
 * @module
 */
import type { Confinement, Ulimit } from "../confinement.ts";
import { ULIMIT_TYPES } from "../confinement.ts";
import { DEFAULT_NOFILE, DEFAULT_NPROC, type OciRlimit, type SpecOption } from "../spec.ts";

/** The parent cgroup of every container. */
export const CGROUP_PARENT = "/denopod";

/** The container's cgroup path, as `linux.cgroupsPath` takes it (cgroupfs layout). */
export function containerCgroupPath(id: string): string {
  return `${CGROUP_PARENT}/${id}`;
}

/** Puts the container in its own cgroup, `/denopod/<id>`. */
export function withCgroup(id: string): SpecOption {
  return (spec) => {
    spec.linux.cgroupsPath = containerCgroupPath(id);
  };
}

/** The CFS period podman uses for `--cpus`, microseconds. */
export const CPU_PERIOD = 100_000;

/** Sets the pids, memory and CPU limits of `linux.resources` from the confinement. */
export function withResources(conf: Confinement): SpecOption {
  return (spec) => {
    const resources = spec.linux.resources;
    if (conf.pidsLimit > 0) resources.pids = { limit: conf.pidsLimit };
    else delete resources.pids;
    const memory: NonNullable<typeof resources.memory> = {};
    if (conf.memory !== undefined && conf.memory > 0) memory.limit = conf.memory;
    if (conf.memorySwap !== undefined && conf.memorySwap !== 0) memory.swap = conf.memorySwap;
    if (conf.memoryReservation !== undefined && conf.memoryReservation > 0) {
      memory.reservation = conf.memoryReservation;
    }
    if (Object.keys(memory).length > 0) resources.memory = memory;
    const cpu: NonNullable<typeof resources.cpu> = {};
    if (conf.cpus !== undefined) {
      cpu.period = CPU_PERIOD;
      cpu.quota = Math.round(conf.cpus * CPU_PERIOD);
    }
    if (conf.cpuShares !== undefined) cpu.shares = conf.cpuShares;
    if (conf.cpusetCpus !== undefined) cpu.cpus = conf.cpusetCpus;
    if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  };
}

/** `-1` (unlimited) as the spec takes it: the largest 64-bit value, which JSON rounds. */
const RLIM_INFINITY = 18446744073709551615;

function limitValue(n: number): number {
  return n === -1 || n === Infinity ? RLIM_INFINITY : n;
}

/**
 * Sets the rlimits: RLIMIT_NOFILE and RLIMIT_NPROC at podman's 1048576, each capped at the
 * caller's hard limit (`Infinity` for unlimited; a limit whose hard value is unknown is left
 * out), soft = hard; then each `--ulimit` replaces the default of its type or is added.
 */
export function withUlimits(
  ulimits: readonly Ulimit[],
  hardNofile?: number,
  hardNproc?: number,
): SpecOption {
  return (spec) => {
    const byType = new Map<string, OciRlimit>();
    if (hardNofile !== undefined) {
      const n = Math.min(DEFAULT_NOFILE, hardNofile);
      byType.set("RLIMIT_NOFILE", { type: "RLIMIT_NOFILE", hard: n, soft: n });
    }
    if (hardNproc !== undefined) {
      const n = Math.min(DEFAULT_NPROC, hardNproc);
      byType.set("RLIMIT_NPROC", { type: "RLIMIT_NPROC", hard: n, soft: n });
    }
    for (const u of ulimits) {
      const type = ULIMIT_TYPES[u.name] as `RLIMIT_${string}`;
      byType.set(type, { type, hard: limitValue(u.hard), soft: limitValue(u.soft) });
    }
    spec.process.rlimits = [...byType.values()];
  };
}
