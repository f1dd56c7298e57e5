/**
 * A streaming ustar+PAX tar writer of our own: synchronous, with one big reused buffer.
 *
 * Why not tar-stream's packer: on a 200 MB, 6,768-file rootfs, tar-stream took 1.58 s, a small
 * synchronous writer like this one 0.38 s, and GNU tar 0.26 s. The per-entry promise and stream
 * machinery is what costs; here file bodies are read (libc `read`, see `tree.ts`) straight into
 * the output buffer and handed to a synchronous sink 256 KiB at a time (as fast as 1 MiB writes
 * here, and they stalled less often in this VM's page cache).
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
import type { FileStat } from "../../sys/statx.ts";
import { BLOCK_SIZE as BLOCK, putChecksum, putOctal, putString } from "./header.ts";
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

const DEFAULT_BUFFER_BYTES = 256 * 1024;
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

/**
 * Writes a tar archive to a synchronous sink through one reused buffer (default 256 KiB), flushing
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
   * (given `expectedIdentity`, a {@linkcode FileStat.identity} from an earlier `lstat`) is no
   * longer that file, e.g. swapped for a symlink.
   */
  addFileFromPath(header: TarEntryHeader, path: string, expectedIdentity?: string): void {
    this.#checkOpen();
    const c = libc();
    let fd: number;
    try {
      fd = c.openRead(path, expectedIdentity !== undefined);
    } catch (err) {
      throw readError(header.name, err);
    }
    try {
      if (expectedIdentity !== undefined) {
        let now: FileStat;
        try {
          now = c.fstat(fd);
        } catch (err) {
          throw readError(header.name, err);
        }
        if (now.type !== "file" || now.identity !== expectedIdentity) {
          throw new TarWriteError(`cannot archive "${header.name}": it changed while being read`);
        }
      }
      this.addFileFromDescriptor(header, fd);
    } finally {
      c.close(fd);
    }
  }

  /**
   * Adds a regular file whose body is read from the open descriptor `fd` (which the caller
   * closes), exactly `header.size` bytes. Throws {@linkcode TarWriteError} when reading fails or
   * the file holds fewer bytes than the size.
   */
  addFileFromDescriptor(header: TarEntryHeader, fd: number): void {
    this.#checkOpen();
    const size = header.size;
    if (header.type !== "file" || size === undefined) {
      throw new InvalidArgError(`tar entry "${header.name}": a file body needs a file with a size`);
    }
    this.#writeHeaders(header, size);
    const c = libc();
    let left = size;
    while (left > 0) {
      if (this.#used === this.#buffer.length) this.#flush();
      const room = Math.min(this.#buffer.length - this.#used, left);
      let got: number;
      try {
        got = c.read(fd, this.#buffer.subarray(this.#used, this.#used + room));
      } catch (err) {
        throw readError(header.name, err);
      }
      if (got === 0) {
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
    if (header.uname) fields.uname = ownerNameOrPax(pax, "uname", header.uname);
    if (header.gname) fields.gname = ownerNameOrPax(pax, "gname", header.gname);
    if (header.xattrs !== undefined) {
      for (const [key, value] of Object.entries(header.xattrs)) {
        pax.push([PAX_XATTR_PREFIX + key, value]);
      }
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

  /**
   * Writes one ustar header block: a copy of the constant template, then each field, summing the
   * bytes written as they go so the checksum needs no second pass over the block.
   */
  #headerBlock(f: UstarFields): void {
    if (this.#buffer.length - this.#used < BLOCK) this.#flush();
    const block = this.#buffer;
    const at = this.#used;
    block.set(headerTemplate(), at);
    let sum = templateSum;
    sum += putString(block, at, f.name);
    sum += putOctal(block, at + 100, 8, f.mode);
    sum += putOctal(block, at + 108, 8, f.uid);
    sum += putOctal(block, at + 116, 8, f.gid);
    sum += putOctal(block, at + 124, 12, f.size);
    sum += putOctal(block, at + 136, 12, f.mtime);
    block[at + 156] = f.typeflag;
    sum += f.typeflag;
    sum += putString(block, at + 157, f.linkname);
    sum += putString(block, at + 265, f.uname);
    sum += putString(block, at + 297, f.gname);
    sum += putOctal(block, at + 329, 8, f.devmajor);
    sum += putOctal(block, at + 337, 8, f.devminor);
    sum += putString(block, at + 345, f.prefix);
    putChecksum(block, at, sum);
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

/** A user or group name that fits its ustar field goes there; otherwise to PAX, and "" there. */
function ownerNameOrPax(
  pax: [string, string | Uint8Array][],
  key: "uname" | "gname",
  value: string,
): string {
  if (isAscii(value) && value.length <= 32) return value;
  pax.push([key, value]);
  return "";
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

/**
 * The constant part of every ustar header: zeros, the `ustar\0` magic, version `00`, and the
 * checksum field as eight spaces (how the checksum is computed); made on first use.
 */
let template: Uint8Array | undefined;
let templateSum = 0;
function headerTemplate(): Uint8Array {
  if (template === undefined) {
    template = new Uint8Array(BLOCK);
    template.fill(0x20, 148, 156);
    putString(template, 257, "ustar\x0000");
    templateSum = template.reduce((sum, byte) => sum + byte, 0);
  }
  return template;
}

/** A {@linkcode TarWriteError} for entry `name`, carrying the OS error as its cause. */
export function readError(name: string, err: unknown): TarWriteError {
  const detail = err instanceof Error ? err.message : String(err);
  return new TarWriteError(`cannot archive "${name}": ${detail}`, { cause: err });
}
