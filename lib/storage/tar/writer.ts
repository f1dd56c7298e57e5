/**
 * A streaming ustar+PAX tar writer of our own: synchronous, with one big reused buffer.
 *
 * Why not tar-stream's packer: on a 200 MB, 6,768-file rootfs, tar-stream took 1.58 s, a small
 * synchronous writer like this one 0.38 s, and GNU tar 0.26 s. The per-entry promise and stream
 * machinery is what costs; here file bodies are read with `readSync` straight into the output
 * buffer and handed to a synchronous sink 1 MiB at a time.
 *
 * Format: POSIX ustar headers; a PAX extended header (`x`) is added only when a field does not fit
 * ustar: names or link targets too long or not ASCII, sizes of 8 GiB and more, ids over 0o7777777,
 * mtimes out of range, long or non-ASCII user/group names, and extended attributes
 * (`SCHILY.xattr.NAME`, as GNU tar `--xattrs` writes them).
 *
 * @example
 * ```ts
 * const out = Deno.openSync("rootfs.tar", { write: true, create: true, truncate: true });
 * const writer = new TarWriter((chunk) => { for (let o = 0; o < chunk.length;) o += out.writeSync(chunk.subarray(o)); });
 * writeTree("/var/lib/denopod/layers/abc/diff", writer);
 * writer.finish();
 * out.close();
 * ```
 * @module
 */
import { DenopodError, InvalidArgError } from "../../errors.ts";
import { libc } from "../../sys/libc.ts";
import { encodePaxRecords, PAX_XATTR_PREFIX } from "./pax.ts";

/** Receives archive bytes synchronously; the chunk's memory is reused after the call returns. */
export type TarSink = (chunk: Uint8Array) => void;

/** The kinds of entry the writer emits (and the reader reports). */
export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** What goes into one entry's header. */
export interface TarEntryHeader {
  /** Relative name, e.g. `etc/passwd`; a directory gets a trailing `/` if it lacks one. */
  name: string;
  /** The entry type. */
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky; higher bits are ignored. */
  mode: number;
  /** Numeric owner. */
  uid: number;
  /** Numeric group. */
  gid: number;
  /** Body size in bytes; files only (taken from the body in {@linkcode TarWriter.addEntry}). */
  size?: number;
  /** Modification time in seconds since the epoch (the fraction is dropped). */
  mtime: number;
  /** Symlink target, or for a hard link the name of the entry it links to. */
  linkname?: string;
  /** Device major number (char and block devices). */
  devmajor?: number;
  /** Device minor number (char and block devices). */
  devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.NAME` PAX records. */
  xattrs?: Record<string, Uint8Array>;
  /** User name (left empty by {@linkcode writeTree}: the host's names mean nothing to an image). */
  uname?: string;
  /** Group name. */
  gname?: string;
}

/** Reading the tree being archived failed (a file vanished or changed, an I/O error). */
export class TarWriteError extends DenopodError {}

const BLOCK = 512;
const DEFAULT_BUFFER_BYTES = 1024 * 1024;
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};
const PAX_TYPEFLAG = 0x78; // 'x'

/** Identity a file must still have when its body is read (see {@linkcode TarWriter.addFileFromPath}). */
export interface ExpectedFile {
  /** `st_dev` seen by `lstat`. */
  dev: number;
  /** `st_ino` seen by `lstat`. */
  ino: number;
}

/**
 * Writes a tar archive to a synchronous sink through one reused buffer (default 1 MiB), flushing
 * it whenever it is full and on {@linkcode TarWriter.finish}.
 */
export class TarWriter {
  readonly #sink: TarSink;
  readonly #buffer: Uint8Array;
  #used = 0;
  #flushed = 0;
  #finished = false;

  constructor(sink: TarSink, bufferSize: number = DEFAULT_BUFFER_BYTES) {
    this.#sink = sink;
    const blocks = Math.max(8, Math.floor(bufferSize / BLOCK));
    this.#buffer = new Uint8Array(blocks * BLOCK);
  }

  /** Bytes of archive produced so far; some may wait in the buffer until a flush or `finish()`. */
  get bytesWritten(): number {
    return this.#flushed + this.#used;
  }

  /**
   * Adds one entry. A file's body is `body` (its length is the size); other types take no body.
   *
   * @example
   * ```ts
   * writer.addEntry({ name: "etc/hostname", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0 },
   *   new TextEncoder().encode("box\n"));
   * ```
   */
  addEntry(header: TarEntryHeader, body?: Uint8Array): void {
    this.#checkOpen();
    let size = 0;
    if (header.type === "file") {
      size = body?.length ?? header.size ?? 0;
      if (body !== undefined && header.size !== undefined && header.size !== body.length) {
        throw new InvalidArgError(
          `tar entry "${header.name}": size ${header.size} does not match the ${body.length}-byte body`,
        );
      }
      if (body === undefined && size > 0) {
        throw new InvalidArgError(
          `tar entry "${header.name}": a ${size}-byte file needs a body (or addFileFromPath)`,
        );
      }
    } else if (body !== undefined && body.length > 0) {
      throw new InvalidArgError(`tar entry "${header.name}": a ${header.type} takes no body`);
    }
    this.#writeHeaders(header, size);
    if (body !== undefined && body.length > 0) {
      this.#copy(body);
      this.#pad(size);
    }
  }

  /**
   * Adds a regular file whose body is read from `path`, exactly `header.size` bytes. Throws
   * {@linkcode TarWriteError} when the file cannot be opened or read, is shorter than the size, or
   * (given `expected`) is no longer the file that was `lstat`ed, e.g. swapped for a symlink.
   */
  addFileFromPath(header: TarEntryHeader, path: string, expected?: ExpectedFile): void {
    this.#checkOpen();
    const size = header.size;
    if (header.type !== "file" || size === undefined) {
      throw new InvalidArgError(
        `tar entry "${header.name}": addFileFromPath needs a file with a size`,
      );
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (err) {
      throw readError(header.name, err);
    }
    try {
      if (expected !== undefined) {
        const info = file.statSync();
        if (!info.isFile || info.ino !== expected.ino || info.dev !== expected.dev) {
          throw new TarWriteError(`cannot archive "${header.name}": it changed while being read`);
        }
      }
      this.#writeHeaders(header, size);
      let left = size;
      while (left > 0) {
        if (this.#used === this.#buffer.length) this.#flush();
        const room = Math.min(this.#buffer.length - this.#used, left);
        let got: number | null;
        try {
          got = file.readSync(this.#buffer.subarray(this.#used, this.#used + room));
        } catch (err) {
          throw readError(header.name, err);
        }
        if (got === null || got === 0) {
          throw new TarWriteError(
            `cannot archive "${header.name}": it shrank while being read (${
              size - left
            } of ${size} bytes)`,
          );
        }
        this.#used += got;
        left -= got;
      }
      this.#pad(size);
    } finally {
      file.close();
    }
  }

  /** Ends the archive with two zero blocks and flushes everything to the sink. */
  finish(): void {
    this.#checkOpen();
    this.#zeros(2 * BLOCK);
    this.#flush();
    this.#finished = true;
  }

  #checkOpen(): void {
    if (this.#finished) throw new InvalidArgError("the tar archive is already finished");
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#sink(this.#buffer.subarray(0, this.#used));
    this.#flushed += this.#used;
    this.#used = 0;
  }

  #copy(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#used === this.#buffer.length) this.#flush();
      const n = Math.min(this.#buffer.length - this.#used, bytes.length - at);
      this.#buffer.set(bytes.subarray(at, at + n), this.#used);
      this.#used += n;
      at += n;
    }
  }

  #zeros(count: number): void {
    while (count > 0) {
      if (this.#used === this.#buffer.length) this.#flush();
      const n = Math.min(this.#buffer.length - this.#used, count);
      this.#buffer.fill(0, this.#used, this.#used + n);
      this.#used += n;
      count -= n;
    }
  }

  #pad(size: number): void {
    const rest = size % BLOCK;
    if (rest !== 0) this.#zeros(BLOCK - rest);
  }

  /** Writes the PAX header (when needed) and the ustar header of one entry. */
  #writeHeaders(header: TarEntryHeader, size: number): void {
    let name = header.name;
    if (name === "" || name.includes("\0")) {
      throw new InvalidArgError(`tar entry name ${JSON.stringify(name)} is empty or holds a NUL`);
    }
    if (header.type === "dir" && !name.endsWith("/")) name += "/";
    const pax: [string, string | Uint8Array][] = [];
    const fields = new UstarFields();

    const split = splitUstarName(name);
    if (split === null) {
      pax.push(["path", name]);
      fields.name = asciiFallback(name, 100);
    } else {
      fields.name = split.name;
      fields.prefix = split.prefix;
    }
    const linkname = header.linkname ?? "";
    if (isAscii(linkname) && linkname.length <= 100) fields.linkname = linkname;
    else {
      pax.push(["linkpath", linkname]);
      fields.linkname = asciiFallback(linkname, 100);
    }
    fields.uid = fitOrPax(pax, "uid", header.uid, MAX_OCTAL_7);
    fields.gid = fitOrPax(pax, "gid", header.gid, MAX_OCTAL_7);
    fields.size = fitOrPax(pax, "size", size, MAX_OCTAL_11);
    const mtime = Math.floor(header.mtime);
    if (mtime >= 0 && mtime <= MAX_OCTAL_11) fields.mtime = mtime;
    else pax.push(["mtime", String(mtime)]);
    for (const [key, value] of [["uname", header.uname], ["gname", header.gname]] as const) {
      if (value === undefined || value === "") continue;
      if (isAscii(value) && value.length <= 32) fields[key] = value;
      else pax.push([key, value]);
    }
    for (const [key, value] of Object.entries(header.xattrs ?? {})) {
      pax.push([PAX_XATTR_PREFIX + key, value]);
    }
    fields.mode = header.mode & 0o7777;
    fields.typeflag = TYPEFLAG[header.type];
    fields.devmajor = header.devmajor ?? 0;
    fields.devminor = header.devminor ?? 0;
    if (fields.devmajor > MAX_OCTAL_7 || fields.devminor > MAX_OCTAL_7) {
      throw new InvalidArgError(`tar entry "${name}": device number too large for ustar`);
    }

    if (pax.length > 0) {
      const data = encodePaxRecords(pax);
      const paxFields = new UstarFields();
      paxFields.name = paxHeaderName(name);
      paxFields.mode = 0o644;
      paxFields.size = data.length;
      paxFields.mtime = fields.mtime;
      paxFields.typeflag = PAX_TYPEFLAG;
      this.#headerBlock(paxFields);
      this.#copy(data);
      this.#pad(data.length);
    }
    this.#headerBlock(fields);
  }

  #headerBlock(f: UstarFields): void {
    if (this.#buffer.length - this.#used < BLOCK) this.#flush();
    const block = this.#buffer.subarray(this.#used, this.#used + BLOCK);
    block.fill(0);
    putString(block, 0, f.name);
    putOctal(block, 100, 8, f.mode);
    putOctal(block, 108, 8, f.uid);
    putOctal(block, 116, 8, f.gid);
    putOctal(block, 124, 12, f.size);
    putOctal(block, 136, 12, f.mtime);
    block.fill(0x20, 148, 156);
    block[156] = f.typeflag;
    putString(block, 157, f.linkname);
    putString(block, 257, "ustar\x0000");
    putString(block, 265, f.uname);
    putString(block, 297, f.gname);
    putOctal(block, 329, 8, f.devmajor);
    putOctal(block, 337, 8, f.devminor);
    putString(block, 345, f.prefix);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += block[i];
    putOctal(block, 148, 7, sum);
    block[155] = 0x20;
    this.#used += BLOCK;
  }
}

/** The values of one ustar header block. */
class UstarFields {
  name = "";
  mode = 0;
  uid = 0;
  gid = 0;
  size = 0;
  mtime = 0;
  typeflag = 0x30;
  linkname = "";
  uname = "";
  gname = "";
  devmajor = 0;
  devminor = 0;
  prefix = "";
}

/** Splits an ASCII name into ustar `prefix` (≤155) and `name` (≤100), or null when it cannot. */
function splitUstarName(name: string): { name: string; prefix: string } | null {
  if (!isAscii(name)) return null;
  if (name.length <= 100) return { name, prefix: "" };
  // The prefix ends at a slash; the shortest prefix leaving ≤100 bytes for the name part.
  const slash = name.indexOf("/", name.length - 101);
  if (slash <= 0 || slash > 155 || slash === name.length - 1) return null;
  return { name: name.slice(slash + 1), prefix: name.slice(0, slash) };
}

/** A value that fits its octal field goes there; otherwise it goes to PAX and the field gets 0. */
function fitOrPax(
  pax: [string, string | Uint8Array][],
  key: string,
  value: number,
  max: number,
): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgError(`tar header field ${key}=${value} is not a non-negative integer`);
  }
  if (value <= max) return value;
  pax.push([key, String(value)]);
  return 0;
}

/** True when every character is ASCII and none is NUL, so bytes and characters are the same. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/** An ASCII stand-in for a field whose real value is in a PAX record. */
function asciiFallback(value: string, max: number): string {
  let out = "";
  for (const ch of value) {
    if (out.length >= max) break;
    out += isAscii(ch) ? ch : "_";
  }
  return out;
}

function paxHeaderName(name: string): string {
  const base = name.replace(/\/+$/, "").split("/").pop() ?? "";
  return asciiFallback("PaxHeaders/" + base, 100);
}

function putString(block: Uint8Array, offset: number, value: string): void {
  for (let i = 0; i < value.length; i++) block[offset + i] = value.charCodeAt(i);
}

/** Writes `value` as zero-padded octal digits filling `width - 1` bytes, then a NUL. */
function putOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, "0");
  putString(block, offset, digits);
  block[offset + width - 1] = 0;
}

function readError(name: string, err: unknown): TarWriteError {
  const detail = err instanceof Error ? err.message : String(err);
  return new TarWriteError(`cannot archive "${name}": ${detail}`, { cause: err });
}

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
  const rootInfo = statOrThrow(root, ".");
  if (!rootInfo.isDirectory) throw new TarWriteError(`cannot archive "${root}": not a directory`);
  const walker = new TreeWalker(writer, options);
  walker.walk(root.replace(/\/+$/, "") || "/", "");
}

/** The state of one {@linkcode writeTree} run. */
class TreeWalker {
  readonly #writer: TarWriter;
  readonly #options: WriteTreeOptions;
  readonly #firstPathOfInode = new Map<string, string>();

  constructor(writer: TarWriter, options: WriteTreeOptions) {
    this.#writer = writer;
    this.#options = options;
  }

  /** Emits the entries below directory `dir`, whose archive name prefix is `prefix`. */
  walk(dir: string, prefix: string): void {
    let names: string[];
    try {
      names = [];
      for (const e of Deno.readDirSync(dir)) names.push(e.name);
    } catch (err) {
      throw readError(prefix || ".", err);
    }
    names.sort();
    const base = dir === "/" ? "" : dir;
    for (const name of names) {
      const path = `${base}/${name}`;
      const relative = prefix + name;
      const info = statOrThrow(path, relative);
      this.#entry(path, relative, info);
      this.#options.onProgress?.(this.#writer.bytesWritten);
      if (info.isDirectory) this.walk(path, relative + "/");
    }
  }

  #entry(path: string, name: string, info: Deno.FileInfo): void {
    const writer = this.#writer;
    const common = {
      mode: (info.mode ?? 0) & 0o7777,
      uid: info.uid ?? 0,
      gid: info.gid ?? 0,
      mtime: Math.floor((info.mtime?.getTime() ?? 0) / 1000),
    };
    const convert = this.#options.overlayWhiteouts === true;
    if (info.isFile) {
      if ((info.nlink ?? 1) > 1) {
        const inode = `${info.dev}:${info.ino}`;
        const first = this.#firstPathOfInode.get(inode);
        if (first !== undefined) {
          writer.addEntry({ ...common, name, type: "hardlink", linkname: first });
          return;
        }
        this.#firstPathOfInode.set(inode, name);
      }
      const xattrs = readXattrs(path, name, convert).xattrs;
      writer.addFileFromPath({ ...common, name, type: "file", size: info.size, xattrs }, path, {
        dev: info.dev,
        ino: info.ino ?? 0,
      });
      return;
    }
    if (info.isDirectory) {
      const { xattrs, opaque } = readXattrs(path, name, convert);
      writer.addEntry({ ...common, name, type: "dir", xattrs });
      if (opaque) {
        writer.addEntry({ ...common, name: `${name}/.wh..wh..opq`, type: "file", mode: 0 });
      }
      return;
    }
    if (info.isSymlink) {
      let target: string;
      try {
        target = Deno.readLinkSync(path);
      } catch (err) {
        throw readError(name, err);
      }
      const xattrs = readXattrs(path, name, convert).xattrs;
      writer.addEntry({ ...common, name, type: "symlink", linkname: target, xattrs });
      return;
    }
    const rdev = info.rdev ?? 0;
    if (info.isCharDevice && convert && rdev === 0) {
      const slash = name.lastIndexOf("/");
      const whiteout = `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`;
      writer.addEntry({ ...common, name: whiteout, type: "file", mode: 0 });
      return;
    }
    if (info.isCharDevice || info.isBlockDevice) {
      const xattrs = readXattrs(path, name, convert).xattrs;
      writer.addEntry({
        ...common,
        name,
        type: info.isCharDevice ? "char" : "block",
        devmajor: deviceMajor(rdev),
        devminor: deviceMinor(rdev),
        xattrs,
      });
      return;
    }
    if (info.isFifo) {
      const xattrs = readXattrs(path, name, convert).xattrs;
      writer.addEntry({ ...common, name, type: "fifo", xattrs });
    }
    // Sockets are skipped, as GNU tar does.
  }
}

function statOrThrow(path: string, name: string): Deno.FileInfo {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    throw readError(name, err);
  }
}

/** Reads the xattrs worth archiving; `opaque` tells whether overlay marked the dir opaque. */
function readXattrs(
  path: string,
  name: string,
  convertOverlay: boolean,
): { xattrs: Record<string, Uint8Array> | undefined; opaque: boolean } {
  let xattrs: Record<string, Uint8Array> | undefined;
  let opaque = false;
  try {
    const c = libc();
    for (const key of c.llistxattr(path)) {
      if (key === "trusted.overlay.opaque" && convertOverlay) {
        const value = c.lgetxattr(path, key);
        opaque = value !== null && value.length === 1 && value[0] === 0x79; // "y"
        continue;
      }
      if (!archivableXattr(key)) continue;
      const value = c.lgetxattr(path, key);
      if (value === null) continue;
      (xattrs ??= {})[key] = value;
    }
  } catch (err) {
    throw readError(name, err);
  }
  return { xattrs, opaque };
}

/** Whether an extended attribute belongs in an archive (overlay, SELinux and ACLs do not). */
export function archivableXattr(key: string): boolean {
  return !key.startsWith("trusted.overlay.") && !key.startsWith("user.overlay.") &&
    key !== "security.selinux" && !key.startsWith("system.");
}

/** The major number of a Linux `dev_t` (glibc's `gnu_dev_major`). */
export function deviceMajor(rdev: number): number {
  const high = Math.floor(rdev / 2 ** 32) >>> 0;
  const low = rdev >>> 0;
  return (((low >>> 8) & 0xfff) | (high & ~0xfff)) >>> 0;
}

/** The minor number of a Linux `dev_t` (glibc's `gnu_dev_minor`). */
export function deviceMinor(rdev: number): number {
  const high = Math.floor(rdev / 2 ** 32) >>> 0;
  const low = rdev >>> 0;
  const shifted = ((low >>> 12) | ((high & 0xfff) << 20)) >>> 0;
  return ((low & 0xff) | (shifted & ~0xff)) >>> 0;
}
