/**
 * Extracting an image layer (a tar stream, maybe gzip or zstd compressed) into a fresh layer
 * directory, safely against hostile archives, and computing its diff ID on the way.
 *
 * Every entry is resolved inside the layer root one component at a time
 * ({@linkcode resolveInRoot}): absolute names and `..` land inside the root, a symlink on the way
 * is expanded within the root, and an entry whose path escapes (a symlink climbing above the root,
 * a loop, a file used as a directory) is refused with an {@linkcode UnsafeArchiveEntryError}.
 * Nothing is ever written, chmod-ed, chown-ed or time-stamped through a symlink: an existing
 * symlink or non-directory at an entry's path is removed first and the new node is created with
 * `O_CREAT|O_EXCL` (files), `mkdir`, `symlink`, `link` or `mknod`; ownership and times use the
 * `l*` calls.
 *
 * @example
 * ```ts
 * await Deno.mkdir(diffDir);
 * try {
 *   // fileChunks (./source.ts) reads big chunks into one buffer: faster than `file.readable`.
 *   const { diffId, size } = await extractLayer(fileChunks(await Deno.open("layer.tar.gz")), diffDir);
 * } catch (err) {
 *   await Deno.remove(diffDir, { recursive: true });
 *   throw err;
 * }
 * ```
 * @module
 */
import { ArchiveError, DenopodError, SyscallError } from "../../errors.ts";
import { libc, S_IFBLK, S_IFCHR, S_IFIFO } from "../../sys/libc.ts";
import { createSha256 } from "../../sys/sha256.ts";
import { treeSize } from "../size.ts";
import { decompressedChunks } from "./decompress.ts";
import { DiskReserveError, type SpaceGuard } from "./disk_reserve.ts";
import { type ExtractLimits, readTarEntries, type TarEntryInfo } from "./read.ts";
import type { ChunkSource } from "./source.ts";
import { cleanArchivePath, lstatOrNull, resolveInRoot, UnsafePathError } from "./resolve.ts";

export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from "./read.ts";

/** An archive entry was refused because extracting it would be unsafe; the message names it. */
export class UnsafeArchiveEntryError extends ArchiveError {
  /** The entry's name as stored in the archive. */
  readonly entry: string;
  constructor(entry: string, reason: string, options?: ErrorOptions) {
    super(`archive entry ${JSON.stringify(entry)}: ${reason}`, options);
    this.entry = entry;
  }
}

/** Writing an entry to disk failed (disk full, I/O error, an unsupported xattr...). */
export class LayerWriteError extends DenopodError {}

/** Options of {@linkcode extractLayer}. */
export interface ExtractOptions {
  /** Limits to enforce; missing fields take the defaults (see `DEFAULT_EXTRACT_LIMITS`). */
  limits?: Partial<ExtractLimits>;
  /** When true (default), whiteouts become overlay whiteouts (char 0:0, `trusted.overlay.opaque`). */
  overlayWhiteouts?: boolean;
  /** Aborting stops the extraction, which then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Told the stream's bytes and where each file body went, to rebuild the tar (./split.ts). */
  recorder?: ExtractRecorder;
  /** Told every byte written; stops the extraction when the disk's reserve is reached. */
  guard?: SpaceGuard;
}

/**
 * What a tar-split recorder (./split.ts) is told during {@linkcode extractLayer}: every byte of
 * the decompressed stream, where each entry's header ends, where each regular file's body was
 * written, and what is about to be removed from the tree (so a body it points at can be kept).
 */
export interface ExtractRecorder {
  /** Every chunk of the decompressed tar stream, in order, before it is parsed. */
  chunk(bytes: Uint8Array): void;
  /** The memory of the chunks given so far is about to be reused: copy what is still needed. */
  release(): void;
  /**
   * An entry's header ends at `bodyOffset` and its body (if any) is the next `bodySize` bytes;
   * `kept` says it is a regular file's body the extractor keeps on disk (else the body, say a
   * symlink's, is just more bytes of the stream).
   */
  entry(bodyOffset: number, bodySize: number, kept: boolean): void;
  /** The kept body just announced was written to `relative` (a path below the layer root). */
  bodyWritten(relative: string): void;
  /** The kept body just announced is not part of the tree (a whiteout with content): keep it. */
  keepBody(body: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * `relative` (a file, or a directory and everything below it) is about to be removed or
   * replaced. Returns true when the recorder moved it out of the tree itself (a file whose body
   * it refers to), so there is nothing left to remove.
   */
  removing(relative: string, isDirectory: boolean): boolean;
}

/** What {@linkcode extractLayer} found and wrote. */
export interface ExtractResult {
  /** `sha256:<hex>` of the decompressed tar stream, trailing blocks included (docker's diff ID). */
  diffId: string;
  /** Apparent bytes of the extracted tree, hard links once (the same figure `treeSize` gives). */
  size: number;
  /** How many entries the archive held (PAX and long-name records not counted). */
  entries: number;
}

const OPAQUE_WHITEOUT = ".wh..wh..opq";
const WHITEOUT_PREFIX = ".wh.";
const WHITEOUT_META_PREFIX = ".wh..wh.";
const WRITE_BUFFER_BYTES = 256 * 1024;
/** What an entry counts toward the disk reserve's check besides its body (an inode, a block). */
const ENTRY_COST_BYTES = 512;
const encoder = new TextEncoder();

/**
 * Extracts the layer tarball `source` (plain, gzip or zstd) into `dest`, which must be an existing,
 * empty directory (the layer's `diff`). Whiteouts become overlay whiteouts unless
 * `overlayWhiteouts` is false. Resolves with the diff ID, the apparent size and the entry count.
 *
 * Rejects with {@linkcode ArchiveError} for a malformed, truncated or over-limit archive, with
 * {@linkcode UnsafeArchiveEntryError} for a refused entry and with {@linkcode LayerWriteError} when
 * writing fails. On any rejection `dest` holds a partial layer: the caller deletes it. `source` is
 * always read to its end or cancelled.
 */
export async function extractLayer(
  source: ReadableStream<Uint8Array> | ChunkSource,
  dest: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const root = dest.replace(/\/+$/, "") || "/";
  try {
    checkEmptyDirectory(root);
  } catch (err) {
    await source.cancel(err).catch(() => {});
    throw err;
  }
  const hash = createSha256();
  const recorder = options.recorder;
  const layer = new LayerTree(root, options.overlayWhiteouts ?? true, recorder, options.guard);
  let entries = 0;
  try {
    for await (
      const { entry, body, bodyOffset } of readTarEntries(decompressedChunks(source), {
        limits: options.limits,
        signal: options.signal,
        onChunk: (chunk) => {
          hash.update(chunk);
          recorder?.chunk(chunk);
        },
        onChunkReleased: recorder && (() => recorder.release()),
      })
    ) {
      entries++;
      const keptBody = recorder !== undefined && entry.type === "file" && entry.size > 0;
      // Every entry but a directory has its size of body in the stream.
      recorder?.entry(bodyOffset, entry.type === "dir" ? 0 : entry.size, keptBody);
      const written = await layer.apply(entry, body);
      if (!keptBody) continue;
      if (written !== undefined) recorder.bodyWritten(written);
      else await recorder.keepBody(body);
    }
  } catch (err) {
    // However the abort surfaced (mid-body, mid-header), the caller gets the signal's reason.
    if (options.signal?.aborted) throw options.signal.reason;
    throw err;
  }
  const size = layer.finish();
  return { diffId: `sha256:${hash.hex()}`, size, entries };
}

function checkEmptyDirectory(root: string): void {
  const info = lstatOrNull(root);
  if (info === null || !info.isDirectory) {
    throw new LayerWriteError(`layer directory "${root}" does not exist or is not a directory`);
  }
  for (const _ of Deno.readDirSync(root)) {
    throw new LayerWriteError(`layer directory "${root}" is not empty`);
  }
}

/** Where an entry goes: the host path and its components below the root. */
interface Target {
  path: string;
  relative: string;
}

/** The layer being written: its root, what this layer created, and work left for the end. */
class LayerTree {
  readonly #root: string;
  readonly #overlayWhiteouts: boolean;
  readonly #asRoot = Deno.uid() === 0;
  /** New files get gid 0 (outside setgid directories). */
  readonly #createsAsRootGroup = Deno.gid() === 0;
  /** Relative directories with the setgid bit: files made in them inherit their group. */
  readonly #setgidDirectories = new Set<string>();
  readonly #umask = Deno.umask();
  /**
   * Relative paths of the whiteout nodes this layer made and no later entry replaced. The layer
   * started empty, so every other non-directory in it is an earlier entry (a hard link may point
   * there): no set of every path (it grew with the layer, some 3 MB of heap for 30,000 files).
   */
  readonly #whiteouts = new Set<string>();
  /** Relative directory → mtime to set once every entry is in. */
  readonly #directoryTimes = new Map<string, number>();
  /** Every directory of the layer, the root (`""`) included, for the size tally. */
  readonly #directories = new Set<string>([""]);
  /** Cleaned parent name → resolved parent components; cleared whenever something is removed. */
  readonly #parents = new Map<string, string[]>();
  readonly #buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  /** Apparent bytes of the non-directories written; exact until something gets removed. */
  #nonDirectoryBytes = 0;
  /** Set once anything was removed or replaced: the tally is then redone with `treeSize`. */
  #removedSomething = false;
  readonly #recorder: ExtractRecorder | undefined;
  readonly #guard: SpaceGuard | undefined;

  constructor(
    root: string,
    overlayWhiteouts: boolean,
    recorder?: ExtractRecorder,
    guard?: SpaceGuard,
  ) {
    this.#root = root;
    this.#overlayWhiteouts = overlayWhiteouts;
    this.#recorder = recorder;
    this.#guard = guard;
    if ((Deno.lstatSync(root).mode ?? 0) & 0o2000) this.#setgidDirectories.add("");
  }

  /**
   * Writes one entry; its body must be read to the end (or left to the reader to skip). Returns
   * the path below the root a regular file's body was written to (undefined for anything else,
   * whose body is left unread).
   */
  async apply(entry: TarEntryInfo, body: AsyncIterable<Uint8Array>): Promise<string | undefined> {
    try {
      this.#guard?.wrote(ENTRY_COST_BYTES);
      const { components } = cleanArchivePath(entry.name);
      const base = components.at(-1);
      if (this.#overlayWhiteouts && base?.startsWith(WHITEOUT_PREFIX)) {
        this.#whiteout(entry, components);
        return;
      }
      switch (entry.type) {
        case "dir":
          this.#directory(entry, components);
          return;
        case "file":
          return await this.#file(entry, components, body);
        case "symlink":
          this.#symlink(entry, components);
          return;
        case "hardlink":
          this.#hardLink(entry, components);
          return;
        case "char":
        case "block":
        case "fifo":
          this.#special(entry, components);
          return;
      }
    } catch (err) {
      throw entryError(entry.name, err);
    }
  }

  /**
   * Sets directory mtimes, deepest first, now that nothing more is written into them, and returns
   * the apparent size of the layer (as `treeSize` counts it).
   */
  finish(): number {
    const dirs = [...this.#directoryTimes].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [relative, mtime] of dirs) {
      const path = this.#pathOf(relative);
      if (lstatOrNull(path)?.isDirectory) libc().lutimes(path, mtime, mtime);
    }
    if (this.#removedSomething) return treeSize(this.#root);
    let bytes = this.#nonDirectoryBytes;
    for (const relative of this.#directories) bytes += Deno.lstatSync(this.#pathOf(relative)).size;
    return bytes;
  }

  #directory(entry: TarEntryInfo, components: string[]): void {
    const target = components.length === 0
      ? { path: this.#root, relative: "" }
      : this.#target(entry.name, components);
    try {
      Deno.mkdirSync(target.path);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      if (!Deno.lstatSync(target.path).isDirectory) {
        this.#remove(target.path);
        Deno.mkdirSync(target.path);
      }
    }
    this.#directories.add(target.relative);
    this.#applyMetadata(target, entry, "dir");
    if (entry.mode & 0o2000) this.#setgidDirectories.add(target.relative);
    else this.#setgidDirectories.delete(target.relative);
    this.#directoryTimes.set(target.relative, entry.mtime);
  }

  async #file(
    entry: TarEntryInfo,
    components: string[],
    body: AsyncIterable<Uint8Array>,
  ): Promise<string> {
    const target = this.#nonDirectoryTarget(entry.name, components);
    // O_CREAT|O_EXCL: never opens through a symlink; whatever is in the way is removed first.
    const options = { write: true, createNew: true, mode: entry.mode & 0o777 };
    const file = this.#replacing(target.path, () => Deno.openSync(target.path, options));
    try {
      await this.#writeBody(file, body);
      file.utimeSync(entry.mtime, entry.mtime); // through the fd: cheaper than by path
    } finally {
      file.close();
    }
    this.#nonDirectoryBytes += entry.size;
    this.#created(target, entry, "file");
    return target.relative;
  }

  #symlink(entry: TarEntryInfo, components: string[]): void {
    const target = this.#nonDirectoryTarget(entry.name, components);
    if (entry.linkname === "") {
      throw new UnsafeArchiveEntryError(entry.name, "symlink with an empty target");
    }
    this.#replacing(target.path, () => Deno.symlinkSync(entry.linkname, target.path));
    this.#nonDirectoryBytes += encoder.encode(entry.linkname).length;
    this.#created(target, entry, "symlink");
  }

  #hardLink(entry: TarEntryInfo, components: string[]): void {
    const link = cleanArchivePath(entry.linkname);
    if (link.climbedAboveRoot) {
      throw new UnsafeArchiveEntryError(entry.name, "hard link target escapes the layer");
    }
    if (link.components.length === 0) {
      throw new UnsafeArchiveEntryError(entry.name, "hard link to the layer root (a directory)");
    }
    const shownTarget = JSON.stringify(entry.linkname);
    const notEarlier = () =>
      new UnsafeArchiveEntryError(
        entry.name,
        `hard link target ${shownTarget} is not an earlier entry of this layer`,
      );
    let existing: Target;
    try {
      existing = this.#locate(entry.linkname, link.components, false);
    } catch (err) {
      if (!(err instanceof UnsafePathError)) throw err;
      if (err.kind === "missing") throw notEarlier();
      throw new UnsafeArchiveEntryError(
        entry.name,
        `hard link target ${shownTarget}: ${err.reason}`,
        { cause: err },
      );
    }
    const info = lstatOrNull(existing.path);
    if (info?.isDirectory) {
      throw new UnsafeArchiveEntryError(
        entry.name,
        `hard link target ${shownTarget} is a directory`,
      );
    }
    if (info === null || this.#whiteouts.has(existing.relative)) throw notEarlier();
    const target = this.#nonDirectoryTarget(entry.name, components);
    if (target.path === existing.path) return; // a link to itself changes nothing
    this.#replacing(target.path, () => Deno.linkSync(existing.path, target.path));
    this.#whiteouts.delete(target.relative);
  }

  #special(entry: TarEntryInfo, components: string[]): void {
    const target = this.#nonDirectoryTarget(entry.name, components);
    const kind = entry.type === "char" ? S_IFCHR : entry.type === "block" ? S_IFBLK : S_IFIFO;
    const mode = kind | (entry.mode & 0o777);
    this.#replacing(
      target.path,
      () => libc().mknod(target.path, mode, entry.devmajor, entry.devminor),
    );
    this.#created(target, entry, "special");
  }

  /** `DIR/.wh.NAME` hides NAME of lower layers; `DIR/.wh..wh..opq` makes DIR opaque. */
  #whiteout(entry: TarEntryInfo, components: string[]): void {
    const base = components.at(-1)!;
    // Any symlink on the way would make the whiteout land somewhere else than it names.
    const marker = this.#target(entry.name, components, { refuseSymlinks: true });
    const parent = marker.path.slice(0, marker.path.lastIndexOf("/")) || "/";
    const parentRelative = marker.relative.split("/").slice(0, -1).join("/");
    if (base === OPAQUE_WHITEOUT) {
      libc().lsetxattr(parent, "trusted.overlay.opaque", encoder.encode("y"));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // aufs bookkeeping, meaningless here
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === "" || hidden === "." || hidden === "..") {
      throw new UnsafeArchiveEntryError(entry.name, `invalid whiteout name "${base}"`);
    }
    const path = `${parent === "/" ? "" : parent}/${hidden}`;
    this.#replacing(path, () => libc().mknod(path, S_IFCHR, 0, 0));
    if (this.#asRoot) libc().lchown(path, entry.uid, entry.gid);
    this.#whiteouts.add(parentRelative === "" ? hidden : `${parentRelative}/${hidden}`);
  }

  /** Records a new non-directory and applies its owner, mode, xattrs and mtime. */
  #created(target: Target, entry: TarEntryInfo, kind: "file" | "symlink" | "special"): void {
    this.#whiteouts.delete(target.relative);
    this.#applyMetadata(target, entry, kind);
    if (kind !== "file") libc().lutimes(target.path, entry.mtime, entry.mtime);
  }

  /** chown, then chmod (chown clears setuid), then xattrs (chown clears capabilities). */
  #applyMetadata(
    target: Target,
    entry: TarEntryInfo,
    kind: "dir" | "file" | "symlink" | "special",
  ) {
    const c = libc();
    const path = target.path;
    if (this.#needsChown(target, entry, kind)) c.lchown(path, entry.uid, entry.gid);
    const mode = entry.mode & 0o7777;
    // A file was created with `mode & 0o777`; only special bits or the umask need a chmod.
    const createdRight = kind === "file" && (mode & (0o7000 | this.#umask)) === 0;
    if (kind !== "symlink" && !createdRight) Deno.chmodSync(path, mode);
    for (const [name, value] of entry.xattrs) {
      if (!extractableXattr(name)) continue;
      if (kind === "symlink" && name.startsWith("user.")) continue; // Linux refuses these
      c.lsetxattr(path, name, value);
    }
  }

  /**
   * Whether a new node needs an explicit chown. A file this root process just made is already
   * root:root unless its directory is setgid (then it took the directory's group).
   */
  #needsChown(target: Target, entry: TarEntryInfo, kind: string): boolean {
    if (!this.#asRoot) return false;
    if (kind !== "file" || entry.uid !== 0 || entry.gid !== 0 || !this.#createsAsRootGroup) {
      return true;
    }
    const slash = target.relative.lastIndexOf("/");
    return this.#setgidDirectories.has(slash === -1 ? "" : target.relative.slice(0, slash));
  }

  /** Streams a body to `file` in large writes (a chunk is copied or written before the next). */
  async #writeBody(file: Deno.FsFile, body: AsyncIterable<Uint8Array>): Promise<void> {
    const buffer = this.#buffer;
    const guard = this.#guard;
    let used = 0;
    for await (const chunk of body) {
      guard?.wrote(chunk.length);
      if (used === 0 && chunk.length >= buffer.length / 4) {
        writeAll(file, chunk);
        continue;
      }
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(buffer.length - used, chunk.length - at);
        buffer.set(chunk.subarray(at, at + n), used);
        used += n;
        at += n;
        if (used === buffer.length) {
          writeAll(file, buffer);
          used = 0;
        }
      }
    }
    if (used > 0) writeAll(file, buffer.subarray(0, used));
  }

  /** The target of a non-directory entry; the layer root itself is refused. */
  #nonDirectoryTarget(name: string, components: string[]): Target {
    if (components.length === 0) {
      throw new UnsafeArchiveEntryError(
        name,
        "a non-directory entry cannot replace the layer root",
      );
    }
    return this.#target(name, components);
  }

  /** Resolves an entry's path, creating missing parent directories inside the root. */
  #target(name: string, components: string[], options: { refuseSymlinks?: boolean } = {}): Target {
    return this.#locate(name, components, true, options.refuseSymlinks ?? false);
  }

  #locate(name: string, components: string[], create: boolean, refuseSymlinks = false): Target {
    const parentKey = components.slice(0, -1).join("/");
    let parent = this.#parents.get(parentKey);
    if (parent === undefined || refuseSymlinks) {
      const resolved = resolveInRoot(this.#root, `${parentKey}/${components.at(-1)}`, {
        createParents: create,
      });
      for (const dir of resolved.createdDirectories) this.#directories.add(dir);
      if (refuseSymlinks && resolved.viaSymlink) {
        throw new UnsafePathError(name, "its parent directory goes through a symlink", "escape");
      }
      parent = resolved.components.slice(0, -1);
      if (create) this.#parents.set(parentKey, parent);
    }
    const relative = [...parent, components.at(-1)!].join("/");
    return { path: this.#pathOf(relative), relative };
  }

  #pathOf(relative: string): string {
    if (relative === "") return this.#root;
    return `${this.#root === "/" ? "" : this.#root}/${relative}`;
  }

  /**
   * Runs `create` (which must fail with EEXIST rather than follow anything at `path`); when
   * something is in the way, removes it (a directory with its contents) and runs `create` again.
   */
  #replacing<T>(path: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    this.#remove(path);
    return create();
  }

  #remove(path: string): void {
    const info = lstatOrNull(path);
    if (info === null) return;
    const relative = path.slice(this.#root === "/" ? 1 : this.#root.length + 1);
    const movedAway = this.#recorder?.removing(relative, info.isDirectory) ?? false;
    if (!movedAway) Deno.removeSync(path, { recursive: info.isDirectory });
    this.#parents.clear();
    this.#removedSomething = true;
  }
}

function isAlreadyExists(err: unknown): boolean {
  return err instanceof Deno.errors.AlreadyExists ||
    (err instanceof SyscallError && err.code === "EEXIST");
}

/** Whether an xattr from an archive may be set: overlay's and SELinux's own are dropped. */
export function extractableXattr(name: string): boolean {
  if (name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.")) return false;
  if (name === "security.selinux") return false;
  return name.startsWith("user.") || name.startsWith("trusted.") ||
    name.startsWith("security.") || name === "system.posix_acl_access" ||
    name === "system.posix_acl_default";
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += file.writeSync(bytes.subarray(at));
}

function depth(relative: string): number {
  if (relative === "") return 0;
  let n = 1;
  for (let i = 0; i < relative.length; i++) if (relative.charCodeAt(i) === 0x2f) n++;
  return n;
}

/** Names the entry in any failure: refusals become UnsafeArchiveEntryError, I/O LayerWriteError. */
function entryError(name: string, err: unknown): unknown {
  if (err instanceof ArchiveError || err instanceof DiskReserveError) return err;
  if (err instanceof UnsafePathError) {
    return new UnsafeArchiveEntryError(name, err.reason, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new LayerWriteError(`writing archive entry ${JSON.stringify(name)}: ${detail}`, {
    cause: err,
  });
}
