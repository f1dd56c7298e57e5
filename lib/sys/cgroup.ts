/**
 * The host's cgroup hierarchies, read from `/proc/self/mountinfo`: which version the host runs
 * (v1, hybrid — v1 controllers plus a v2 `unified` mount, as this Debian host — or v2), where a
 * cgroup path lives in each hierarchy, and removing a container's cgroup from all of them (runc
 * removes it on `delete`; this catches one left by a crash).
 *
 * @example
 * ```ts
 * cgroupMode();                         // "hybrid"
 * cgroupDirs("/denopod/ID");            // ["/sys/fs/cgroup/pids/denopod/ID", …]
 * await removeCgroup("/denopod/ID");
 * ```
 * @module
 */
import { join } from "../util/path.ts";

/** How the host mounts cgroups. */
export type CgroupMode = "v1" | "hybrid" | "v2";

/** One mounted cgroup hierarchy. */
export interface CgroupMount {
  mountPoint: string;
  version: 1 | 2;
  /** The v1 controllers (`cpu`, `pids`, `name=systemd`); empty for v2. */
  controllers: string[];
}

/** Every cgroup hierarchy mounted in this process's mount namespace. */
export function cgroupMounts(mountinfo?: string): CgroupMount[] {
  const text = mountinfo ?? Deno.readTextFileSync("/proc/self/mountinfo");
  const mounts: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [fstype, , superOptions = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mountPoint = line.slice(0, sep).split(" ")[4].replace(
      /\\([0-7]{3})/g,
      (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)),
    );
    const controllers = fstype === "cgroup"
      ? superOptions.split(",").filter((o) =>
        !["rw", "ro", "relatime", "noexec", "nosuid", "nodev"].includes(o)
      )
      : [];
    mounts.push({ mountPoint, version: fstype === "cgroup" ? 1 : 2, controllers });
  }
  return mounts;
}

/** v1, hybrid or v2, from the mounted hierarchies. */
export function cgroupMode(mounts: CgroupMount[] = cgroupMounts()): CgroupMode {
  const v1 = mounts.some((m) => m.version === 1);
  const v2 = mounts.some((m) => m.version === 2);
  return v1 && v2 ? "hybrid" : v1 ? "v1" : "v2";
}

/** Where the cgroup `path` (absolute, e.g. `/denopod/ID`) lives in each hierarchy. */
export function cgroupDirs(path: string, mounts: CgroupMount[] = cgroupMounts()): string[] {
  return mounts.map((m) => join(m.mountPoint, path));
}

/**
 * The directory of `path` in the hierarchy holding `controller` (`pids`, `memory`): the v1 one
 * when a v1 hierarchy has that controller, else the v2 one.
 */
export function controllerDir(
  path: string,
  controller: string,
  mounts: CgroupMount[] = cgroupMounts(),
): string | undefined {
  const v1 = mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
  if (v1) return join(v1.mountPoint, path);
  const v2 = mounts.find((m) => m.version === 2);
  return v2 ? join(v2.mountPoint, path) : undefined;
}

/**
 * Removes the cgroup `path` from every hierarchy (children first; an empty cgroup is removed with
 * `rmdir`). Missing is fine; a cgroup that still has processes is left (EBUSY) and reported.
 * Returns the directories that could not be removed.
 */
export async function removeCgroup(
  path: string,
  mounts: CgroupMount[] = cgroupMounts(),
): Promise<string[]> {
  const left: string[] = [];
  for (const dir of cgroupDirs(path, mounts)) {
    if (!await rmdirTree(dir)) left.push(dir);
  }
  return left;
}

async function rmdirTree(dir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await rmdirTree(join(dir, entry.name));
    }
    // a cgroup directory's files go with it: rmdir, never a recursive remove
    await Deno.remove(dir);
    return true;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}
