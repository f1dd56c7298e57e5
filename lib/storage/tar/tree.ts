/**
 * Archives a directory tree into a {@linkcode TarWriter}: the walk behind `export` (and behind
 * saving a layer diff, with overlay whiteouts converted).
 *
 * Each file costs as few system calls as the job allows, through libc rather than Deno's ops: each
 * directory is opened relative to its parent's descriptor (`DirectoryChain`, so depth is no
 * limit) and read with `getdents64`; an entry that says "regular file" or "directory" is opened
 * without following symlinks and `fstat`ed on that descriptor (no separate `lstat`), its xattrs
 * listed and read on the descriptor, a file's body `read` straight into the writer's buffer.
 * Anything else, or an entry that changed kind since the directory was read, is `lstat`ed; the
 * xattrs of a symlink, device or FIFO are read through `/proc/self/fd/DIR/NAME`. On the benchmark's 200 MB, 7,800-file tree the whole walk takes ~0.26 s
 * here, against ~0.32 s with Deno's `readDirSync`/`lstatSync`/`openSync`/`readSync`, and ~0.29 s
 * for a whole `tar -cf` run. Most of what is left is the system calls themselves.
 *
 * @example
 * ```ts
 * const out = Deno.openSync("rootfs.tar", { write: true, create: true, truncate: true });
 * const writer = new TarWriter((chunk) => { for (let o = 0; o < chunk.length;) o += out.writeSync(chunk.subarray(o)); });
 * writeTree("/var/lib/denopod/layers/abc/merged", writer);
 * writer.finish();
 * out.close();
 * ```
 * @module
 */
import { type DirectoryEntry, type Libc, libc } from "../../sys/libc.ts";
import { DirectoryChain, type EnteredDirectory } from "../../sys/dir_chain.ts";
import type { FileStat } from "../../sys/statx.ts";
import { SyscallError } from "../../errors.ts";
import { readError, type TarEntryHeader, TarWriteError, type TarWriter } from "./writer.ts";

/** Options of {@linkcode writeTree}. */
export interface WriteTreeOptions {
  /**
   * Convert overlay whiteouts for saving a layer diff: a char device 0:0 becomes an empty file
   * `.wh.NAME`, a directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` entry.
   */
  overlayWhiteouts?: boolean;
  /** Called after each entry with the archive bytes produced so far. */
  onProgress?: (bytes: number) => void;
  /** Directory descriptors the walk keeps open at most (see `DirectoryChain`); for tests. */
  maxOpenDirectories?: number;
}

/**
 * Archives everything below `root` into `writer` (without calling `finish()`), the way
 * `tar --sort=name --numeric-owner -C root -cf - .` would, except that the root itself is not
 * emitted and names carry no `./` prefix (`etc/`, `etc/passwd`), as in `docker save` layers.
 *
 * Directories are walked in sorted order, symlinks are never followed, sockets are skipped. The
 * second and later paths of a hard-linked inode become hard link entries to the first. Extended
 * attributes are kept except `trusted.overlay.*`, `user.overlay.*`, `security.selinux` and
 * `system.*` (ACLs). Every entry is reached relative to its directory's descriptor, so a tree of
 * any depth can be archived. Throws {@linkcode TarWriteError} when the tree cannot be read; the
 * caller discards the partial output.
 */
export function writeTree(root: string, writer: TarWriter, options: WriteTreeOptions = {}): void {
  const c = libc();
  let rootType: string;
  try {
    rootType = c.lstat(root).type;
  } catch (err) {
    throw readError(".", err);
  }
  if (rootType !== "dir") {
    throw new TarWriteError(`cannot archive "${root}": not a directory`);
  }
  let opened: ReturnType<typeof DirectoryChain.open>;
  try {
    opened = DirectoryChain.open(c, root, options.maxOpenDirectories);
  } catch (err) {
    throw readError(".", err);
  }
  try {
    new TreeWalker(c, writer, options, opened.chain).walk(opened.root.entries);
  } finally {
    opened.chain.close();
  }
}

/** The fields every entry's header takes from the file's status. */
type CommonHeader = Pick<TarEntryHeader, "mode" | "uid" | "gid" | "mtime">;

function commonHeader(st: FileStat): CommonHeader {
  return { mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime };
}

/** A directory being archived: its entries (sorted), the next to do, and its archive prefix. */
interface Pending {
  entries: DirectoryEntry[];
  next: number;
  prefix: string;
}

function sortByName(entries: DirectoryEntry[]): DirectoryEntry[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether a failed open says "this is not a directory (any more)" rather than a read error. */
function notADirectory(err: unknown): boolean {
  return err instanceof SyscallError && (err.code === "ENOTDIR" || err.code === "ELOOP");
}

/** The state of one {@linkcode writeTree} run. */
class TreeWalker {
  readonly #libc: Libc;
  readonly #writer: TarWriter;
  readonly #options: WriteTreeOptions;
  readonly #chain: DirectoryChain;
  readonly #firstPathOfInode = new Map<string, string>();
  /** The directories being walked, the root first: `#chain`'s, with their entries. */
  readonly #pending: Pending[] = [];

  constructor(c: Libc, writer: TarWriter, options: WriteTreeOptions, chain: DirectoryChain) {
    this.#libc = c;
    this.#writer = writer;
    this.#options = options;
    this.#chain = chain;
  }

  /** Emits every entry below the root, whose entries are `rootEntries`, depth first. */
  walk(rootEntries: DirectoryEntry[]): void {
    const pending = this.#pending;
    pending.push({ entries: sortByName(rootEntries), next: 0, prefix: "" });
    while (pending.length > 0) {
      const dir = pending[pending.length - 1];
      if (dir.next === dir.entries.length) {
        pending.pop();
        if (pending.length > 0) this.#chain.leave();
        continue;
      }
      const { name, type } = dir.entries[dir.next++];
      const relative = dir.prefix + name;
      const dirFd = this.#chain.fd();
      if (type === "dir" && this.#directory(name, relative, false)) continue;
      if (!(type === "file" && this.#regularFile(dirFd, name, relative, false))) {
        const st = lstatOrThrow(this.#libc, dirFd, name, relative);
        if (st.type === "file") this.#regularFile(dirFd, name, relative, true);
        else if (st.type === "dir") {
          this.#directory(name, relative, true);
          continue;
        } else this.#otherEntry(dirFd, name, relative, st);
      }
      this.#options.onProgress?.(this.#writer.bytesWritten);
    }
  }

  /**
   * Goes down into the directory `name` of the current one: emits its entry and queues its
   * entries, and returns true. When it is not a directory (any more), returns false having written
   * nothing, or, when `strict` (an `lstat` just said it is one), throws {@linkcode TarWriteError}.
   */
  #directory(name: string, relative: string, strict: boolean): boolean {
    let entered: EnteredDirectory;
    try {
      entered = this.#chain.enter(name);
    } catch (err) {
      if (!strict && notADirectory(err)) return false;
      throw readError(relative, err);
    }
    const { xattrs, opaque } = this.#xattrValuesOf(entered.fd, relative);
    const common = commonHeader(entered.stat);
    this.#writer.addEntry({ ...common, name: relative, type: "dir", xattrs });
    if (opaque) {
      this.#writer.addEntry({
        ...common,
        name: `${relative}/.wh..wh..opq`,
        type: "file",
        mode: 0,
      });
    }
    this.#pending.push({ entries: sortByName(entered.entries), next: 0, prefix: relative + "/" });
    this.#options.onProgress?.(this.#writer.bytesWritten);
    return true;
  }

  /**
   * Archives the entry `name` of the directory `dirFd` if it is a regular file when opened
   * (without following a symlink) and returns true. When it cannot be opened or is something
   * else, returns false having written nothing, or, when `strict` (an `lstat` just said it is a
   * file), throws {@linkcode TarWriteError}.
   */
  #regularFile(dirFd: number, entryName: string, name: string, strict: boolean): boolean {
    const c = this.#libc;
    let fd: number;
    try {
      fd = c.openRead(entryName, true, dirFd);
    } catch (err) {
      if (strict) throw readError(name, err);
      return false;
    }
    try {
      let st: FileStat;
      try {
        st = c.fstat(fd);
      } catch (err) {
        throw readError(name, err);
      }
      if (st.type !== "file") {
        if (strict) {
          throw new TarWriteError(`cannot archive "${name}": it changed while being read`);
        }
        return false;
      }
      const common = commonHeader(st);
      if (st.nlink > 1) {
        const first = this.#firstPathOfInode.get(st.identity);
        if (first !== undefined) {
          this.#writer.addEntry({ ...common, name, type: "hardlink", linkname: first });
          return true;
        }
        this.#firstPathOfInode.set(st.identity, name);
      }
      const { xattrs } = this.#xattrValuesOf(fd, name);
      this.#writer.addFileFromDescriptor(
        { ...common, name, type: "file", size: st.size, xattrs },
        fd,
      );
      return true;
    } finally {
      c.close(fd);
    }
  }

  /** Archives an entry that is not a regular file or directory: a symlink, device or FIFO. */
  #otherEntry(dirFd: number, entryName: string, name: string, st: FileStat): void {
    const writer = this.#writer;
    const common = commonHeader(st);
    const convert = this.#options.overlayWhiteouts === true;
    if (st.type === "char" && convert && st.rdevMajor === 0 && st.rdevMinor === 0) {
      const slash = name.lastIndexOf("/");
      const whiteout = `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`;
      writer.addEntry({ ...common, name: whiteout, type: "file", mode: 0 });
      return;
    }
    if (st.type === "socket") return; // skipped, as GNU tar does
    // Such an entry cannot be opened for its xattrs; its path through the directory's
    // descriptor is short whatever the depth.
    const path = `/proc/self/fd/${dirFd}/${entryName}`;
    const { xattrs } = this.#xattrValuesAt(path, name);
    switch (st.type) {
      case "symlink": {
        let target: string;
        try {
          target = this.#libc.readlink(entryName, dirFd);
        } catch (err) {
          throw readError(name, err);
        }
        writer.addEntry({ ...common, name, type: "symlink", linkname: target, xattrs });
        return;
      }
      case "char":
      case "block":
        writer.addEntry({
          ...common,
          name,
          type: st.type,
          devmajor: st.rdevMajor,
          devminor: st.rdevMinor,
          xattrs,
        });
        return;
      case "fifo":
        writer.addEntry({ ...common, name, type: "fifo", xattrs });
        return;
    }
  }

  /** The xattrs worth archiving of the file or directory open as `fd`. */
  #xattrValuesOf(fd: number, name: string): XattrValues {
    const c = this.#libc;
    try {
      return this.#xattrValues(c.flistxattr(fd), (key) => c.fgetxattr(fd, key));
    } catch (err) {
      throw readError(name, err);
    }
  }

  /** The xattrs worth archiving of the entry at `path` (never following a symlink there). */
  #xattrValuesAt(path: string, name: string): XattrValues {
    const c = this.#libc;
    try {
      return this.#xattrValues(c.llistxattr(path), (key) => c.lgetxattr(path, key));
    } catch (err) {
      throw readError(name, err);
    }
  }

  /** Reads the values of the xattrs worth archiving; `opaque` tells whether overlay marked it. */
  #xattrValues(keys: string[], get: (key: string) => Uint8Array | null): XattrValues {
    let xattrs: Record<string, Uint8Array> | undefined;
    let opaque = false;
    for (const key of keys) {
      if (key === "trusted.overlay.opaque" && this.#options.overlayWhiteouts === true) {
        const value = get(key);
        opaque = value !== null && value.length === 1 && value[0] === 0x79; // "y"
        continue;
      }
      if (!archivableXattr(key)) continue;
      const value = get(key);
      if (value === null) continue;
      (xattrs ??= {})[key] = value;
    }
    return { xattrs, opaque };
  }
}

/** An entry's archivable xattrs, and whether overlay marked the directory opaque. */
interface XattrValues {
  xattrs: Record<string, Uint8Array> | undefined;
  opaque: boolean;
}

function lstatOrThrow(c: Libc, dirFd: number, entryName: string, name: string): FileStat {
  try {
    return c.lstat(entryName, dirFd);
  } catch (err) {
    throw readError(name, err);
  }
}

/** Whether an extended attribute belongs in an archive (overlay, SELinux and ACLs do not). */
export function archivableXattr(key: string): boolean {
  return !key.startsWith("trusted.overlay.") && !key.startsWith("user.overlay.") &&
    key !== "security.selinux" && !key.startsWith("system.");
}
