/**
 * Archives a directory tree into a {@linkcode TarWriter}: the walk behind `export` (and behind
 * saving a layer diff, with overlay whiteouts converted).
 *
 * Each file costs as few system calls as the job allows, through libc rather than Deno's ops: each
 * directory is read with `readdir` and its entries are opened relative to its descriptor; an
 * entry that says "regular file" is opened without following symlinks and `fstat`ed on that
 * descriptor (no separate `lstat`), its xattrs listed on the descriptor, its body `read` straight
 * into the writer's buffer. Anything else, or a file that changed kind since the directory was
 * read, is `lstat`ed. On the benchmark's 200 MB, 7,800-file tree the whole walk takes ~0.26 s
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
import { type DirectoryListing, type Libc, libc } from "../../sys/libc.ts";
import type { FileStat } from "../../sys/statx.ts";
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
}

/**
 * Archives everything below `root` into `writer` (without calling `finish()`), the way
 * `tar --sort=name --numeric-owner -C root -cf - .` would, except that the root itself is not
 * emitted and names carry no `./` prefix (`etc/`, `etc/passwd`), as in `docker save` layers.
 *
 * Directories are walked in sorted order, symlinks are never followed, sockets are skipped. The
 * second and later paths of a hard-linked inode become hard link entries to the first. Extended
 * attributes are kept except `trusted.overlay.*`, `user.overlay.*`, `security.selinux` and
 * `system.*` (ACLs). Throws {@linkcode TarWriteError} when the tree cannot be read; the caller
 * discards the partial output.
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
  const walker = new TreeWalker(c, writer, options);
  walker.walk(root.replace(/\/+$/, "") || "/", "");
}

/** The fields every entry's header takes from the file's status. */
type CommonHeader = Pick<TarEntryHeader, "mode" | "uid" | "gid" | "mtime">;

function commonHeader(st: FileStat): CommonHeader {
  return { mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime };
}

/** The state of one {@linkcode writeTree} run. */
class TreeWalker {
  readonly #libc: Libc;
  readonly #writer: TarWriter;
  readonly #options: WriteTreeOptions;
  readonly #firstPathOfInode = new Map<string, string>();

  constructor(c: Libc, writer: TarWriter, options: WriteTreeOptions) {
    this.#libc = c;
    this.#writer = writer;
    this.#options = options;
  }

  /** Emits the entries below directory `dir`, whose archive name prefix is `prefix`. */
  walk(dir: string, prefix: string): void {
    let listing: DirectoryListing;
    try {
      listing = this.#libc.openDirectory(dir);
    } catch (err) {
      throw readError(prefix || ".", err);
    }
    try {
      const entries = listing.entries;
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const base = dir === "/" ? "" : dir;
      for (const { name, type } of entries) {
        const at: EntryPlace = { dirFd: listing.fd, name, path: `${base}/${name}` };
        const relative = prefix + name;
        if (!(type === "file" && this.#regularFile(at, relative, false))) {
          const st = lstatOrThrow(this.#libc, at, relative);
          if (st.type === "file") this.#regularFile(at, relative, true);
          else {
            this.#otherEntry(at.path, relative, st);
            if (st.type === "dir") {
              this.#options.onProgress?.(this.#writer.bytesWritten);
              this.walk(at.path, relative + "/");
              continue;
            }
          }
        }
        this.#options.onProgress?.(this.#writer.bytesWritten);
      }
    } finally {
      listing.close();
    }
  }

  /**
   * Archives `path` if it is a regular file when opened (without following a symlink) and returns
   * true. When it cannot be opened or is something else, returns false having written nothing,
   * or, when `strict` (an `lstat` just said it is a file), throws {@linkcode TarWriteError}.
   */
  #regularFile(at: EntryPlace, name: string, strict: boolean): boolean {
    const c = this.#libc;
    let fd: number;
    try {
      fd = c.openRead(at.name, true, at.dirFd);
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
      let keys: string[];
      try {
        keys = c.flistxattr(fd);
      } catch (err) {
        throw readError(name, err);
      }
      const { xattrs } = this.#xattrValues(at.path, name, keys);
      this.#writer.addFileFromDescriptor(
        { ...common, name, type: "file", size: st.size, xattrs },
        fd,
      );
      return true;
    } finally {
      c.close(fd);
    }
  }

  /** Archives an entry that is not a regular file: a directory, symlink, device or FIFO. */
  #otherEntry(path: string, name: string, st: FileStat): void {
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
    const { xattrs, opaque } = this.#xattrValues(path, name, this.#listXattrs(path, name));
    switch (st.type) {
      case "dir":
        writer.addEntry({ ...common, name, type: "dir", xattrs });
        if (opaque) {
          writer.addEntry({ ...common, name: `${name}/.wh..wh..opq`, type: "file", mode: 0 });
        }
        return;
      case "symlink": {
        let target: string;
        try {
          target = Deno.readLinkSync(path);
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

  #listXattrs(path: string, name: string): string[] {
    try {
      return this.#libc.llistxattr(path);
    } catch (err) {
      throw readError(name, err);
    }
  }

  /** Reads the values of the xattrs worth archiving; `opaque` tells whether overlay marked it. */
  #xattrValues(
    path: string,
    name: string,
    keys: string[],
  ): { xattrs: Record<string, Uint8Array> | undefined; opaque: boolean } {
    let xattrs: Record<string, Uint8Array> | undefined;
    let opaque = false;
    if (keys.length === 0) return { xattrs, opaque };
    try {
      for (const key of keys) {
        if (key === "trusted.overlay.opaque" && this.#options.overlayWhiteouts === true) {
          const value = this.#libc.lgetxattr(path, key);
          opaque = value !== null && value.length === 1 && value[0] === 0x79; // "y"
          continue;
        }
        if (!archivableXattr(key)) continue;
        const value = this.#libc.lgetxattr(path, key);
        if (value === null) continue;
        (xattrs ??= {})[key] = value;
      }
    } catch (err) {
      throw readError(name, err);
    }
    return { xattrs, opaque };
  }
}

/** Where an entry is: its directory's descriptor and its name there, and its full path. */
interface EntryPlace {
  dirFd: number;
  name: string;
  path: string;
}

function lstatOrThrow(c: Libc, at: EntryPlace, name: string): FileStat {
  try {
    return c.lstat(at.name, at.dirFd);
  } catch (err) {
    throw readError(name, err);
  }
}

/** Whether an extended attribute belongs in an archive (overlay, SELinux and ACLs do not). */
export function archivableXattr(key: string): boolean {
  return !key.startsWith("trusted.overlay.") && !key.startsWith("user.overlay.") &&
    key !== "security.selinux" && !key.startsWith("system.");
}
