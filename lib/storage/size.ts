/**
 * Disk usage of a directory tree, counted the way `du --apparent-size -s -B1` counts it.
 *
 * @example
 * ```ts
 * const bytes = treeSize("/var/lib/denopod/layers/abc/diff"); // e.g. 77_594_624
 * ```
 * @module
 */

/**
 * Returns the apparent size of the tree at `root` in bytes: the sum of `st_size` of every file,
 * directory, symlink and special file (`lstat`, never following a symlink), the root included,
 * each hard-linked inode (`dev:ino`) counted once. A missing root gives 0; entries that vanish
 * during the walk are skipped.
 */
export function treeSize(root: string): number {
  const rootInfo = lstatOrNull(root);
  if (rootInfo === null) return 0;
  const seenInodes = new Set<string>();
  let total = 0;
  const add = (info: Deno.FileInfo) => {
    if (!info.isDirectory && (info.nlink ?? 1) > 1) {
      const inode = `${info.dev}:${info.ino}`;
      if (seenInodes.has(inode)) return;
      seenInodes.add(inode);
    }
    total += info.size;
  };
  add(rootInfo);
  if (!rootInfo.isDirectory) return total;
  const pending = [root.replace(/\/+$/, "") || "/"];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const base = dir === "/" ? "" : dir;
    let entries: Deno.DirEntry[];
    try {
      entries = Array.from(Deno.readDirSync(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) continue;
      throw err;
    }
    for (const entry of entries) {
      const path = `${base}/${entry.name}`;
      const info = lstatOrNull(path);
      if (info === null) continue;
      add(info);
      if (info.isDirectory) pending.push(path);
    }
  }
  return total;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
