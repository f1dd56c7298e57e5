/**
 * Mounts as data, and the calls that make and undo them. A {@linkcode MountSpec} says what to
 * mount; {@linkcode mountFs} does it with mount(2) ({@linkcode mountFsFrom} with relative paths
 * from a directory); {@linkcode unmount} undoes it with umount2(2);
 * {@linkcode mountPoints} reads `/proc/self/mountinfo` so callers check the kernel, not a flag.
 *
 * @example
 * ```ts
 * mountFs({ type: "tmpfs", source: "shm", target: "/tmp/shm", flags: MS_NOSUID, data: "size=65536k" });
 * unmount("/tmp/shm", { detach: true });
 * ```
 * @module
 */
import { libc, MNT_DETACH } from "./libc.ts";
import { SyscallError } from "../errors.ts";

/** One mount: filesystem type, source, target directory, mount(2) flags and option string. */
export interface MountSpec {
  type: string;
  source: string;
  target: string;
  flags: number;
  data: string;
}

/** Mounts `spec` with mount(2); throws SyscallError (with errno) on failure. */
export function mountFs(spec: MountSpec): void {
  libc().mount(spec.source, spec.target, spec.type, spec.flags, spec.data);
}

/**
 * Mounts `spec` with mount(2) with the process's working directory set to `dir` for the call, so
 * that relative paths in `spec.data` (overlay's `lowerdir=l/NAME:...`) are taken from `dir`: an
 * option string must fit in one page, and relative paths keep it short. The working directory is
 * restored before returning (through a descriptor, so even an unnamed one comes back). The
 * switch is process-wide: callers use it only from synchronous code with no file system work
 * of theirs in flight on other threads, and `spec.target` and `spec.source` should be absolute.
 */
export function mountFsFrom(dir: string, spec: MountSpec): void {
  const c = libc();
  const previous = c.openDirectoryPath(".");
  try {
    const target = c.openDirectoryPath(dir);
    try {
      c.fchdir(target);
    } finally {
      c.close(target);
    }
    try {
      c.mount(spec.source, spec.target, spec.type, spec.flags, spec.data);
    } finally {
      c.fchdir(previous);
    }
  } finally {
    c.close(previous);
  }
}

/** Options for {@linkcode unmount}. */
export interface UnmountOptions {
  /** Lazy unmount (MNT_DETACH). */
  detach?: boolean;
  /** Treat "not mounted" (EINVAL) and "no such path" (ENOENT) as success. */
  ignoreNotMounted?: boolean;
}

/** Unmounts `target` with umount2(2); returns false when it was not mounted and that is ignored. */
export function unmount(target: string, options: UnmountOptions = {}): boolean {
  try {
    libc().umount2(target, options.detach ? MNT_DETACH : 0);
    return true;
  } catch (err) {
    if (
      options.ignoreNotMounted && err instanceof SyscallError &&
      (err.code === "EINVAL" || err.code === "ENOENT")
    ) {
      return false;
    }
    throw err;
  }
}

/** Decodes the octal escapes (`\040`) the kernel writes into mountinfo paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One line of `/proc/self/mountinfo`, the fields denopod uses. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** Parses `/proc/self/mountinfo` (or the given text) into its mounts, in kernel order. */
export function mountPoints(text = Deno.readTextFileSync("/proc/self/mountinfo")): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0) continue;
    mounts.push({
      mountPoint: unescapeMountPath(fields[4]),
      fsType: fields[dash + 1],
      source: unescapeMountPath(fields[dash + 2] ?? ""),
      superOptions: fields[dash + 3] ?? "",
    });
  }
  return mounts;
}

/** Tells whether `path` is a mount point now, by `/proc/self/mountinfo`. */
export function isMountPoint(path: string): boolean {
  return mountPoints().some((m) => m.mountPoint === path);
}

/** Returns every mount point at or below `dir` (deepest first), for cleanup after tests or reboots. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mountPoints()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
