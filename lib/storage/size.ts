/**
 * Disk usage of a directory tree, counted the way `du --apparent-size -s -B1` counts it. The walk
 * goes from directory descriptor to directory descriptor (`DirectoryChain`) and `statx`es each
 * entry relative to its directory, so no path is longer than one name: a container that made a
 * tree deeper than PATH_MAX is measured like any other.
 *
 * @example
 * ```ts
 * const bytes = treeSize("/var/lib/denopod/layers/abc/diff"); // e.g. 77_594_624
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { DirectoryChain } from "../sys/dir_chain.ts";
import { type DirectoryEntry, libc } from "../sys/libc.ts";
import type { FileStat } from "../sys/statx.ts";

/** Options of {@linkcode treeSize}. */
export interface TreeSizeOptions {
  /** Directory descriptors the walk keeps open at most (see `DirectoryChain`); for tests. */
  maxOpenDirectories?: number;
  /** Count directories' own sizes (default true, as `du`); false counts what is in them only. */
  directories?: boolean;
}

/**
 * Returns the apparent size of the tree at `root` in bytes: the sum of `st_size` of every file,
 * directory, symlink and special file (`lstat`, never following a symlink), the root included,
 * each hard-linked inode (`dev:ino`) counted once. A missing root gives 0; entries that vanish
 * during the walk are skipped. Other failures throw the SyscallError of the call.
 */
export function treeSize(root: string, options: TreeSizeOptions = {}): number {
  const c = libc();
  let rootInfo: FileStat;
  try {
    rootInfo = c.lstat(root);
  } catch (err) {
    if (vanished(err)) return 0;
    throw err;
  }
  if (rootInfo.type !== "dir") return rootInfo.size;
  let opened: ReturnType<typeof DirectoryChain.open>;
  try {
    opened = DirectoryChain.open(c, root, options.maxOpenDirectories);
  } catch (err) {
    if (vanished(err)) return rootInfo.size;
    throw err;
  }
  const { chain } = opened;
  const seenInodes = new Set<string>();
  const directories = options.directories !== false;
  let total = directories ? opened.root.stat.size : 0;
  const add = (st: FileStat) => {
    if (st.type === "dir" && !directories) return;
    if (st.type !== "dir" && st.nlink > 1) {
      if (seenInodes.has(st.identity)) return;
      seenInodes.add(st.identity);
    }
    total += st.size;
  };
  try {
    const pending: Array<{ entries: DirectoryEntry[]; next: number }> = [
      { entries: opened.root.entries, next: 0 },
    ];
    while (pending.length > 0) {
      const dir = pending[pending.length - 1];
      if (dir.next === dir.entries.length) {
        pending.pop();
        if (pending.length > 0) chain.leave();
        continue;
      }
      const { name, type } = dir.entries[dir.next++];
      if (type === "dir" || type === "unknown") {
        try {
          const sub = chain.enter(name);
          add(sub.stat);
          pending.push({ entries: sub.entries, next: 0 });
          continue;
        } catch (err) {
          if (vanished(err)) continue;
          if (!notADirectory(err)) throw err;
        }
      }
      let st: FileStat;
      try {
        st = c.lstat(name, chain.fd());
      } catch (err) {
        if (vanished(err)) continue;
        throw err;
      }
      if (st.type === "dir") {
        try {
          const sub = chain.enter(name);
          add(sub.stat);
          pending.push({ entries: sub.entries, next: 0 });
        } catch (err) {
          if (!vanished(err)) throw err;
        }
        continue;
      }
      add(st);
    }
  } finally {
    chain.close();
  }
  return total;
}

/** The entry is gone (removed while the walk ran). */
function vanished(err: unknown): boolean {
  return err instanceof SyscallError && err.code === "ENOENT";
}

/** The entry is not a directory (a symlink or a file now): stat it instead. */
function notADirectory(err: unknown): boolean {
  return err instanceof SyscallError && (err.code === "ENOTDIR" || err.code === "ELOOP");
}
