/**
 * Takes the kernel's cgroup migration lock once, in the background, just before runc moves a new
 * container's first process into its cgroup, so that runc does not wait for it.
 *
 * Moving a process between cgroups takes `cgroup_threadgroup_rwsem` for writing. That lock is a
 * per-CPU rwsem: its first writer after a quiet spell waits for an RCU grace period (6–30 ms on
 * this 2-core host, measured by timing `echo $$ > cgroup.procs` after a pause and at once again:
 * ~7 ms then 0.04 ms). Writers within about one grace period after the last one pass at once.
 * `runc create` writes the container's pid into its cgroup before the container's init can go on,
 * so that wait used to sit in every `run`/`start` (runc create took 52 ms here against 36 ms with
 * the lock warm). podman pays the grace period when it moves conmon into its own cgroup, just
 * before releasing conmon to run runc.
 *
 * The warm-up writes this process's own pid into the cgroup it is already in: the kernel takes the
 * lock, finds nothing to move and lets go. It is written from a blocking-pool thread while conmon
 * and runc start, so the grace period passes beside that work instead of after it. Any failure
 * (no cgroup file, a read-only mount) is ignored: the warm-up only ever saves time.
 *
 * @example
 * ```ts
 * warmCgroupMigration(); // then spawn the monitor that runs `runc create`
 * ```
 * @module
 */
import { cgroupMounts } from "./cgroup.ts";
import { join } from "../util/path.ts";

/**
 * The `cgroup.procs` file of the cgroup this process is in: the v2 one when there is a v2
 * hierarchy, else the first v1 hierarchy's. Undefined when cgroups are not mounted.
 */
export function ownCgroupProcsFile(
  procSelfCgroup: string = Deno.readTextFileSync("/proc/self/cgroup"),
  mounts = cgroupMounts(),
): string | undefined {
  const entries = procSelfCgroup.split("\n").flatMap((line) => {
    const [id, controllers, path] = line.split(":", 3);
    return path === undefined ? [] : [{ v2: id === "0" && controllers === "", controllers, path }];
  });
  const v2 = mounts.find((m) => m.version === 2);
  const unified = entries.find((e) => e.v2);
  if (v2 && unified) return join(v2.mountPoint, unified.path, "cgroup.procs");
  for (const entry of entries) {
    const mount = mounts.find((m) =>
      m.version === 1 && entry.controllers.split(",").every((c) => m.controllers.includes(c))
    );
    if (mount) return join(mount.mountPoint, entry.path, "cgroup.procs");
  }
  return undefined;
}

/**
 * Starts the warm-up described in the module doc; resolves when the kernel has answered. Never
 * rejects, and the caller need not wait for it.
 */
export function warmCgroupMigration(): Promise<void> {
  let file: string | undefined;
  try {
    file = ownCgroupProcsFile();
  } catch {
    return Promise.resolve();
  }
  if (file === undefined) return Promise.resolve();
  return Deno.writeTextFile(file, String(Deno.pid)).catch(() => {});
}
