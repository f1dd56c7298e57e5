/**
 * The tar header codec every tar reader and writer of denopod shares: one 512-byte header block
 * (checksum, octal and base-256 numbers, ustar prefix, GNU and v7 forms), and the extension
 * records that change the entry after them (PAX `x`/`g` records, GNU long names `L`/`K`) under
 * size limits. The layer reader (`./read.ts`), the image archive index (`../archive/outer_tar.ts`)
 * and the writer (`./writer.ts`, which uses {@linkcode putOctal} and {@linkcode putString}) use it.
 *
 * @example
 * ```ts
 * const extensions = new TarExtensions({ maxPaxHeaderBytes: 1 << 20, maxPathLength: 4096 });
 * const header = decodeHeaderBlock(block); // throws TarHeaderError on a bad checksum or field
 * if (isExtensionType(header.typeflag)) extensions.apply(header, recordBody);
 * else entry = extensions.resolve(header); // PAX path/size/mtime/xattrs and long names applied
 * ```
 * @module
 */
import { ArchiveError } from "../../errors.ts";
import { parsePaxRecords, PAX_XATTR_PREFIX } from "./pax.ts";

/** Size of a tar block (headers, and the unit bodies are padded to). */
export const BLOCK_SIZE = 512;

/** Typeflags of the extension records: PAX local and global headers, GNU long name and link. */
export const PAX_LOCAL = "x";
/** PAX global header typeflag. */
export const PAX_GLOBAL = "g";
/** GNU long name typeflag. */
export const GNU_LONG_NAME = "L";
/** GNU long link target typeflag. */
export const GNU_LONG_LINK = "K";

/** A header block could not be decoded; `kind` says why (consumers word their own message). */
export class TarHeaderError extends ArchiveError {
  constructor(
    /** `checksum`: the block is not a tar header; `field`: a numeric field is malformed. */
    readonly kind: "checksum" | "field",
    /** The field at fault (`"checksum"` for a mismatch). */
    readonly field: string,
  ) {
    super(kind === "checksum" ? "tar header checksum mismatch" : `tar header: invalid ${field}`);
  }
}

/** The fields of one header block as stored (no extension applied). */
export interface TarHeaderBlock {
  /** The name, with the ustar prefix joined in front when there is one. */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  /** The size field: bytes of body (or of record data, for an extension record). */
  size: number;
  /** Seconds since the epoch; negative only in base-256. */
  mtime: number;
  /** The typeflag as a character (`"0"` for a NUL typeflag, `"5"` for a v7 `name/` file). */
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

const decoder = new TextDecoder();
const MAGIC_OFFSET = 257;
const CHECKSUM_OFFSET = 148;

/** True when all 512 bytes of `block` (from `at`) are zero: an end-of-archive marker. */
export function isZeroBlock(block: Uint8Array, at = 0): boolean {
  for (let i = at; i < at + BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Decodes the header block at `block[at..at+512]`. Throws {@linkcode TarHeaderError} when the
 * checksum (unsigned or signed sum, as tar accepts both) does not match or a field is malformed.
 */
export function decodeHeaderBlock(block: Uint8Array, at = 0): TarHeaderBlock {
  const recorded = parseOctal(block, at + CHECKSUM_OFFSET, 8);
  if (recorded === undefined || !checksumMatches(block, at, recorded)) {
    throw new TarHeaderError("checksum", "checksum");
  }
  const ustar = block[at + MAGIC_OFFSET] === 0x75 && block[at + MAGIC_OFFSET + 1] === 0x73 &&
    block[at + MAGIC_OFFSET + 2] === 0x74 && block[at + MAGIC_OFFSET + 3] === 0x61 &&
    block[at + MAGIC_OFFSET + 4] === 0x72;
  // POSIX ustar ("ustar\0") has a prefix field; GNU ("ustar  \0") keeps other things there.
  const posix = ustar && block[at + MAGIC_OFFSET + 5] === 0;
  let name = cString(block, at, 100);
  if (posix && block[at + 345] !== 0) name = `${cString(block, at + 345, 155)}/${name}`;
  const flag = block[at + 156];
  let typeflag = flag === 0 ? "0" : String.fromCharCode(flag);
  // Old tars mark a directory by a trailing slash on a plain file entry.
  if (typeflag === "0" && name.endsWith("/")) typeflag = "5";
  return {
    name,
    mode: numeric(block, at + 100, 8, "mode"),
    uid: numeric(block, at + 108, 8, "uid"),
    gid: numeric(block, at + 116, 8, "gid"),
    size: numeric(block, at + 124, 12, "size"),
    mtime: numeric(block, at + 136, 12, "mtime", true),
    typeflag,
    linkname: cString(block, at + 157, 100),
    uname: ustar ? cString(block, at + 265, 32) : "",
    gname: ustar ? cString(block, at + 297, 32) : "",
    devmajor: ustar ? numeric(block, at + 329, 8, "devmajor") : 0,
    devminor: ustar ? numeric(block, at + 337, 8, "devminor") : 0,
  };
}

/** Whether the recorded checksum matches the block's unsigned or signed byte sum. */
function checksumMatches(block: Uint8Array, at: number, recorded: number): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = at; i < at + BLOCK_SIZE; i++) {
    const byte = i >= at + CHECKSUM_OFFSET && i < at + CHECKSUM_OFFSET + 8 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return recorded === unsigned || recorded === signed;
}

/**
 * The number in a header field: octal digits (leading spaces, trailing NULs or spaces; an empty
 * field is 0) or GNU base-256 (first byte `0x80`, or `0xff` for a negative value, allowed only
 * with `signed`). Returns undefined for anything else or a value beyond 2^53.
 */
export function parseNumeric(
  block: Uint8Array,
  offset: number,
  length: number,
  signed = false,
): number | undefined {
  const first = block[offset];
  if (first === 0x80 || first === 0xff) {
    if (first === 0xff && !signed) return undefined;
    const negative = first === 0xff;
    let value = 0;
    for (let i = offset + 1; i < offset + length; i++) {
      value = value * 256 + (negative ? 0xff - block[i] : block[i]);
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return negative ? -value - 1 : value;
  }
  return parseOctal(block, offset, length);
}

function parseOctal(block: Uint8Array, offset: number, length: number): number | undefined {
  const end = offset + length;
  let i = offset;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  for (; i < end; i++) {
    const c = block[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
  }
  for (; i < end; i++) if (block[i] !== 0 && block[i] !== 0x20) return undefined;
  return value > Number.MAX_SAFE_INTEGER ? undefined : value;
}

function numeric(
  block: Uint8Array,
  offset: number,
  length: number,
  field: string,
  signed = false,
): number {
  const value = parseNumeric(block, offset, length, signed);
  if (value === undefined) throw new TarHeaderError("field", field);
  return value;
}

function cString(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  const limit = offset + length;
  let ascii = true;
  while (end < limit && block[end] !== 0) {
    if (block[end] > 0x7f) ascii = false;
    end++;
  }
  if (!ascii) return decoder.decode(block.subarray(offset, end));
  // Plain ASCII (nearly every name): cheaper than a TextDecoder call.
  return String.fromCharCode.apply(null, block.subarray(offset, end) as unknown as number[]);
}

/** Whether a typeflag is an extension record ({@linkcode TarExtensions.apply} takes it). */
export function isExtensionType(typeflag: string): boolean {
  return typeflag === PAX_LOCAL || typeflag === PAX_GLOBAL || typeflag === GNU_LONG_NAME ||
    typeflag === GNU_LONG_LINK;
}

/** Bytes of body that follow a header in the stream: none for a directory, as GNU tar reads it. */
export function bodyBytes(typeflag: string, size: number): number {
  return typeflag === "5" ? 0 : size;
}

/** Bytes a body of `size` bytes takes in the stream, padded to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
}

/** Caps on extension records. */
export interface ExtensionLimits {
  /** Largest PAX record data (local or global), in bytes. */
  maxPaxHeaderBytes: number;
  /** Longest name or link target (GNU long name, PAX path/linkpath, or header), in bytes. */
  maxPathLength: number;
}

/** One entry's header with every extension applied. */
export interface ResolvedHeader extends TarHeaderBlock {
  /** PAX records that applied (global then local), values as raw bytes. */
  pax: ReadonlyMap<string, Uint8Array>;
  /** `SCHILY.xattr.*` records, by attribute name, raw bytes. */
  xattrs: Map<string, Uint8Array>;
}

const NO_RECORDS: ReadonlyMap<string, Uint8Array> = new Map();

/**
 * The extension records met since the last entry (and the PAX global records met so far), and
 * how they change the next entry. Global records never rename or resize entries (`path`,
 * `linkpath` and `size` are dropped from them).
 */
export class TarExtensions {
  readonly #limits: ExtensionLimits;
  #global: Map<string, Uint8Array> = new Map();
  #local: Map<string, Uint8Array> | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;

  constructor(limits: ExtensionLimits) {
    this.#limits = limits;
  }

  /** True when records wait for an entry (an archive must not end here). */
  get pending(): boolean {
    return this.#local !== undefined || this.#longName !== undefined ||
      this.#longLink !== undefined;
  }

  /**
   * Checks, before its data is read, that an extension record of `size` bytes is within the
   * limits; throws an {@linkcode ArchiveError} naming the limit otherwise.
   */
  checkSize(typeflag: string, size: number): void {
    if (typeflag === PAX_LOCAL || typeflag === PAX_GLOBAL) {
      if (size > this.#limits.maxPaxHeaderBytes) {
        throw new ArchiveError(
          `a PAX header of ${size} bytes is over the limit of ${this.#limits.maxPaxHeaderBytes}`,
        );
      }
    } else if (size > this.#limits.maxPathLength + 1) {
      throw new ArchiveError(
        `a GNU long name of ${size} bytes is over the limit of ${this.#limits.maxPathLength}`,
      );
    }
  }

  /** Takes the data of an extension record (typeflag `x`, `g`, `L` or `K`). */
  apply(typeflag: string, data: Uint8Array): void {
    this.checkSize(typeflag, data.length);
    if (typeflag === PAX_LOCAL || typeflag === PAX_GLOBAL) {
      const records = parsePaxRecords(data);
      if (typeflag === PAX_GLOBAL) {
        for (const key of ["path", "linkpath", "size"]) records.delete(key);
        for (const [key, value] of records) this.#global.set(key, value);
      } else {
        this.#local ??= new Map();
        for (const [key, value] of records) this.#local.set(key, value);
      }
      return;
    }
    const end = data.indexOf(0);
    const bytes = end === -1 ? data : data.subarray(0, end);
    if (bytes.length > this.#limits.maxPathLength) {
      throw new ArchiveError(
        `a GNU long name of ${bytes.length} bytes is over the limit of ${this.#limits.maxPathLength}`,
      );
    }
    if (typeflag === GNU_LONG_NAME) this.#longName = decoder.decode(bytes);
    else this.#longLink = decoder.decode(bytes);
  }

  /**
   * The entry `header` with the waiting records applied (GNU long names, then PAX `path`,
   * `linkpath`, `size`, `uid`, `gid`, `mtime`, `uname`, `gname`, `SCHILY.xattr.*`), which are then
   * used up. Throws an {@linkcode ArchiveError} for a malformed PAX number (naming the field).
   */
  resolve(header: TarHeaderBlock): ResolvedHeader {
    const resolved: ResolvedHeader = { ...header, pax: NO_RECORDS, xattrs: new Map() };
    if (this.#longName !== undefined) resolved.name = this.#longName;
    if (this.#longLink !== undefined) resolved.linkname = this.#longLink;
    this.#longName = this.#longLink = undefined;
    const local = this.#local;
    this.#local = undefined;
    if (local === undefined && this.#global.size === 0) return resolved;
    const pax = this.#global.size === 0
      ? local!
      : local === undefined
      ? this.#global
      : new Map([...this.#global, ...local]);
    resolved.pax = pax;
    for (const [key, value] of pax) {
      switch (key) {
        case "path":
          resolved.name = decoder.decode(value);
          break;
        case "linkpath":
          resolved.linkname = decoder.decode(value);
          break;
        case "size":
        case "uid":
        case "gid":
          resolved[key] = paxInteger(key, value);
          break;
        case "mtime": {
          const text = decoder.decode(value);
          if (!/^-?\d{1,19}(\.\d{0,19})?$/.test(text)) throw badPax(key);
          resolved.mtime = Number(text);
          break;
        }
        case "uname":
        case "gname":
          resolved[key] = decoder.decode(value);
          break;
        default:
          if (key.startsWith(PAX_XATTR_PREFIX)) {
            resolved.xattrs.set(key.slice(PAX_XATTR_PREFIX.length), value);
          }
      }
    }
    return resolved;
  }
}

function paxInteger(key: string, value: Uint8Array): number {
  const text = decoder.decode(value);
  if (!/^\d{1,16}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER) throw badPax(key);
  return Number(text);
}

function badPax(key: string): ArchiveError {
  return new ArchiveError(`malformed PAX header: invalid ${key} record`);
}

/**
 * Writes `value` as zero-padded octal digits filling `width - 1` bytes, then a NUL; returns the
 * sum of the bytes written (for the checksum). The caller has checked that the value fits.
 */
export function putOctal(block: Uint8Array, offset: number, width: number, value: number): number {
  let sum = 0;
  let rest = value;
  for (let i = offset + width - 2; i >= offset; i--) {
    const digit = 0x30 + (rest % 8);
    block[i] = digit;
    sum += digit;
    rest = Math.floor(rest / 8);
  }
  block[offset + width - 1] = 0;
  return sum;
}

/** Writes an ASCII string's characters as bytes; returns their sum (for the checksum). */
export function putString(block: Uint8Array, offset: number, value: string): number {
  let sum = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    block[offset + i] = c;
    sum += c;
  }
  return sum;
}

/** Writes the checksum field of the header at `block[at..]` from `sum` (its bytes' sum, the field as spaces). */
export function putChecksum(block: Uint8Array, at: number, sum: number): void {
  putOctal(block, at + CHECKSUM_OFFSET, 7, sum);
  block[at + CHECKSUM_OFFSET + 7] = 0x20;
}
