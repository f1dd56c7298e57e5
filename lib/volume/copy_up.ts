/**
 * podman's "copy-up": the first time a new, empty named volume is mounted, what the image has at
 * the mount point is copied into it (modes, owners, symlinks as links). The path is resolved
 * inside the container's root one component at a time; a symlink on the way means nothing is
 * copied (never follow one out of the root).
 *
 * @example
 * ```ts
 * await copyUp("/merged", "/etc", "/var/lib/denopod/volumes/v/_data");
 * ```
 * @module
 */
import { join } from "../util/path.ts";

/** The path of `inside` within `root`, or undefined when a component is a symlink or missing. */
function resolveInRoot(root: string, inside: string): string | undefined {
  let path = root;
  for (const part of inside.split("/").filter((p) => p !== "" && p !== ".")) {
    if (part === "..") return undefined;
    path = join(path, part);
    try {
      if (Deno.lstatSync(path).isSymlink) return undefined;
    } catch {
      return undefined;
    }
  }
  return path;
}

async function copyTree(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const info = await Deno.lstat(src);
    if (info.isSymlink) {
      await Deno.symlink(await Deno.readLink(src), dst);
      continue;
    }
    if (info.isDirectory) {
      await Deno.mkdir(dst);
      await copyTree(src, dst);
    } else if (info.isFile) {
      await Deno.copyFile(src, dst);
    } else {
      continue; // devices, fifos, sockets: not copied
    }
    await Deno.chown(dst, info.uid, info.gid);
    await Deno.chmod(dst, (info.mode ?? 0o644) & 0o7777);
  }
}

/**
 * Copies the content at `destination` in the rootfs `root` into the empty directory `data`;
 * true when something was there to copy. A non-empty `data` is left alone.
 */
export async function copyUp(root: string, destination: string, data: string): Promise<boolean> {
  for await (const _ of Deno.readDir(data)) return false;
  const source = resolveInRoot(root, destination);
  if (source === undefined) return false;
  const info = await Deno.stat(source);
  if (!info.isDirectory) return false;
  await copyTree(source, data);
  await Deno.chown(data, info.uid, info.gid);
  await Deno.chmod(data, (info.mode ?? 0o755) & 0o7777);
  return true;
}
