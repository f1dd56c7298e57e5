/**
 * The directories a depth-first walk is in, from its root down, each opened relative to its
 * parent's descriptor: no path the walk hands to the kernel is longer than one name, so a tree
 * deeper than PATH_MAX (which a container can make) is walked like any other, where a walk by full
 * paths fails with ENAMETOOLONG.
 *
 * Open descriptors are capped (`maxOpen`): going deeper closes the shallowest open directory but
 * the root, and coming back up to a closed one opens it again from the root, name by name,
 * checking that each is still the directory (device and inode) it was. A chain of depth D costs
 * about D²/(2·maxOpen) extra opens on the way back up; the usual tree never reaches the cap.
 *
 * @example
 * ```ts
 * const { chain, listing } = DirectoryChain.open(libc(), "/srv/tree");
 * const sub = chain.enter("etc");  // sub.entries, sub.fd, sub.stat
 * libc().lstat("passwd", chain.fd());
 * chain.leave();
 * chain.close();
 * ```
 * @module
 */
import { DenopodError } from "../errors.ts";
import { AT_FDCWD, type DirectoryEntry, type Libc } from "./libc.ts";
import type { FileStat } from "./statx.ts";

/** Directory descriptors a chain keeps open besides its root, unless told otherwise. */
export const DEFAULT_MAX_OPEN_DIRECTORIES = 128;

/** A directory reopened on the way back up is no longer the one the walk went down into. */
export class DirectoryChangedError extends DenopodError {}

/** One directory the chain went down into. */
interface Frame {
  /** Its name in its parent ("" for the root). */
  readonly name: string;
  /** Its device and inode, to check a reopened directory against. */
  readonly identity: string;
  /** Its descriptor, or -1 while closed. */
  fd: number;
}

/** A directory just opened by {@linkcode DirectoryChain.enter}. */
export interface EnteredDirectory {
  /** Its descriptor (read-only, not O_PATH): valid until the chain leaves or goes deeper. */
  fd: number;
  /** Its entries, without `.` and `..`, in the file system's order. */
  entries: DirectoryEntry[];
  /** What `fstat` says of it. */
  stat: FileStat;
}

/** See the module doc. */
export class DirectoryChain {
  readonly #libc: Libc;
  readonly #maxOpen: number;
  readonly #frames: Frame[];
  /** Frames 1 .. #firstOpen-1 are closed; #firstOpen .. top are open; the root is always open. */
  #firstOpen = 1;

  private constructor(c: Libc, root: Frame, maxOpen: number) {
    this.#libc = c;
    this.#frames = [root];
    this.#maxOpen = Math.max(1, maxOpen);
  }

  /**
   * Opens the directory at `path` (never following a symlink there) as the chain's root and reads
   * its entries. Throws the SyscallError of the open or read (ENOTDIR, ELOOP, ENOENT, ...).
   */
  static open(
    c: Libc,
    path: string,
    maxOpen = DEFAULT_MAX_OPEN_DIRECTORIES,
  ): { chain: DirectoryChain; root: EnteredDirectory } {
    const listing = c.openDirectoryAt(path, AT_FDCWD);
    let stat: FileStat;
    try {
      stat = c.fstat(listing.fd);
    } catch (err) {
      listing.close();
      throw err;
    }
    const chain = new DirectoryChain(
      c,
      { name: "", identity: stat.identity, fd: listing.fd },
      maxOpen,
    );
    return { chain, root: { fd: listing.fd, entries: listing.entries, stat } };
  }

  /** How many directories below the root the walk is (0 at the root). */
  get depth(): number {
    return this.#frames.length - 1;
  }

  /** The descriptor of the directory the walk is in (reopened when it had been closed). */
  fd(): number {
    const top = this.#frames.length - 1;
    if (top === 0 || top >= this.#firstOpen) return this.#frames[top].fd;
    this.#reopen(top);
    return this.#frames[top].fd;
  }

  /**
   * Opens the entry `name` of the current directory (never following a symlink: ENOTDIR or
   * ELOOP then), reads its entries and goes down into it.
   */
  enter(name: string): EnteredDirectory {
    const c = this.#libc;
    const listing = c.openDirectoryAt(name, this.fd());
    let stat: FileStat;
    try {
      stat = c.fstat(listing.fd);
    } catch (err) {
      listing.close();
      throw err;
    }
    this.#frames.push({ name, identity: stat.identity, fd: listing.fd });
    if (this.#frames.length - this.#firstOpen > this.#maxOpen) {
      const shallowest = this.#frames[this.#firstOpen];
      c.close(shallowest.fd);
      shallowest.fd = -1;
      this.#firstOpen++;
    }
    return { fd: listing.fd, entries: listing.entries, stat };
  }

  /** Goes back up to the parent directory (closing the current one). Refused at the root. */
  leave(): void {
    const top = this.#frames.length - 1;
    if (top === 0) throw new RangeError("DirectoryChain.leave() at the root");
    const frame = this.#frames.pop()!;
    if (frame.fd !== -1) this.#libc.close(frame.fd);
    if (this.#firstOpen > top) this.#firstOpen = top;
  }

  /** Closes every directory the chain holds, the root included. */
  close(): void {
    for (const frame of this.#frames) {
      if (frame.fd !== -1) this.#libc.close(frame.fd);
      frame.fd = -1;
    }
    this.#frames.length = 1;
    this.#firstOpen = 1;
  }

  /** Opens frames 1..top again from the root, keeping the deepest `maxOpen` of them open. */
  #reopen(top: number): void {
    const c = this.#libc;
    const keepFrom = Math.max(1, top - this.#maxOpen + 1);
    let parent = this.#frames[0].fd;
    /** Whether `parent` is a descriptor opened on the way only (to close once past it). */
    let parentIsTransient = false;
    try {
      for (let i = 1; i <= top; i++) {
        const frame = this.#frames[i];
        const fd = c.openDirectoryPath(frame.name, parent, true);
        let identity: string;
        try {
          identity = c.fstat(fd).identity;
        } catch (err) {
          c.close(fd);
          throw err;
        }
        if (identity !== frame.identity) {
          c.close(fd);
          throw new DirectoryChangedError(
            `directory ${JSON.stringify(frame.name)} at depth ${i} was replaced during the walk`,
          );
        }
        if (parentIsTransient) c.close(parent);
        parent = fd;
        parentIsTransient = i < keepFrom;
        if (!parentIsTransient) frame.fd = fd;
      }
    } catch (err) {
      if (parentIsTransient) c.close(parent);
      for (let i = keepFrom; i <= top; i++) {
        const frame = this.#frames[i];
        if (frame.fd !== -1) c.close(frame.fd);
        frame.fd = -1;
      }
      throw err;
    }
    this.#firstOpen = keepFrom;
  }
}
