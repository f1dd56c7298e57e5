/**
 * An index of the members of an image archive's outer tar file: one pass over the headers
 * (bodies are skipped by seeking, never read), giving each member's name, type, offset and size,
 * so that `manifest.json`, configs and layer blobs can then be read by offset.
 *
 * The header parser is small and strict: it checks every header's checksum, reads octal and
 * base-256 numbers, PAX `path`/`linkpath`/`size` records and GNU long names (`L`/`K`), caps
 * what a hostile file can make it hold (entries, PAX and long-name sizes, name length), and
 * fails with a one-line ArchiveError on a non-tar or truncated file instead of guessing.
 * Member names are normalised (`./a//b/` → `a/b`) and any name with a `..` component is refused.
 *
 * @example
 * ```ts
 * const index = await indexTarFile("/tmp/image.tar");
 * const manifest = index.resolveFile("manifest.json", "manifest.json");
 * const bytes = await readMemberBytes(index, manifest, 8 << 20, "manifest.json");
 * ```
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { quoteForMessage } from "./message.ts";

/** What kind of entry a member is; `other` covers devices, FIFOs and tar extensions we skip. */
export type TarMemberType = "file" | "dir" | "symlink" | "hardlink" | "other";

/** One member of the outer tar: where its body lies in the file. */
export interface TarMember {
  /** Normalised name: no leading `./` or `/`, no trailing `/`, no empty or `.` components. */
  readonly name: string;
  readonly type: TarMemberType;
  /** Byte offset of the body in the (uncompressed) tar file. */
  readonly offset: number;
  /** Body size in bytes (0 for links and directories). */
  readonly size: number;
  /** Target of a symlink or hard link, as written in the archive; "" otherwise. */
  readonly linkname: string;
}

/** Caps on what indexing accepts; defaults suit image archives. */
export interface TarIndexLimits {
  /** Most members (of any type) the archive may hold. */
  maxEntries: number;
  /** Largest PAX extended header or GNU long-name body, in bytes. */
  maxExtendedHeaderBytes: number;
  /** Longest member or link name, in bytes of UTF-8. */
  maxNameBytes: number;
}

/** The caps {@linkcode indexTarFile} uses unless told otherwise. */
export const DEFAULT_TAR_INDEX_LIMITS: Readonly<TarIndexLimits> = {
  maxEntries: 200_000,
  maxExtendedHeaderBytes: 1 << 20,
  maxNameBytes: 4096,
};

const BLOCK = 512;
const MAX_LINK_HOPS = 16;
const STREAM_CHUNK = 1 << 20;

/** The members of one tar file, by normalised name (a later member of the same name wins). */
export class TarIndex {
  /** Path of the tar file the offsets refer to. */
  readonly path: string;
  /** Size of the tar file in bytes when it was indexed. */
  readonly fileSize: number;
  readonly #members: Map<string, TarMember>;

  constructor(path: string, fileSize: number, members: Map<string, TarMember>) {
    this.path = path;
    this.fileSize = fileSize;
    this.#members = members;
  }

  /** The member of that exact (already normalised) name, if any. */
  get(name: string): TarMember | undefined {
    return this.#members.get(name);
  }

  /** True when a member of that name exists (after normalising the name). */
  has(name: string): boolean {
    const normal = tryNormalizeMemberName(name);
    return normal !== undefined && this.#members.has(normal);
  }

  /** Every member name, in archive order of first appearance. */
  names(): string[] {
    return [...this.#members.keys()];
  }

  /**
   * The regular-file member that `name` designates, following symlinks (resolved lexically
   * inside the archive, never outside it) and hard links. Throws an ArchiveError naming `what`
   * when the name is malformed, missing, a link loop or not a regular file.
   */
  resolveFile(name: string, what: string): TarMember {
    let current = normalizeMemberName(name, what);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const member = this.#members.get(current);
      if (member === undefined) {
        throw new ArchiveError(`archive: ${what}: ${quoteForMessage(current)} missing`);
      }
      switch (member.type) {
        case "file":
          return member;
        case "hardlink":
          current = normalizeMemberName(member.linkname, `${what}: hard link ${member.name}`);
          continue;
        case "symlink":
          current = resolveSymlinkTarget(member, what);
          continue;
        default:
          throw new ArchiveError(
            `archive: ${what}: ${quoteForMessage(member.name)} is a ${member.type}, not a file`,
          );
      }
    }
    throw new ArchiveError(`archive: ${what}: too many links resolving ${quoteForMessage(name)}`);
  }
}

/**
 * Reads the headers of the tar file at `path` (uncompressed) and returns its member index.
 * Throws an ArchiveError when the file is not a tar archive, is truncated, has a corrupt
 * header, a member named with `..`, or goes over a limit.
 */
export async function indexTarFile(
  path: string,
  limits: TarIndexLimits = DEFAULT_TAR_INDEX_LIMITS,
): Promise<TarIndex> {
  const file = await Deno.open(path, { read: true });
  try {
    const fileSize = (await file.stat()).size;
    if (fileSize === 0) {
      throw new ArchiveError("archive: input is empty, not a tar archive");
    }
    const members = new Map<string, TarMember>();
    const pending: PendingExtensions = {};
    let offset = 0;
    let entries = 0;
    while (true) {
      const block = await readAt(file, offset, BLOCK);
      if (block.length === 0) {
        // End of file on a block boundary without the two zero blocks: GNU tar accepts it.
        if (hasPending(pending)) throw truncatedAt(offset);
        break;
      }
      if (block.length < BLOCK) throw truncatedAt(offset);
      if (isZeroBlock(block)) {
        if (hasPending(pending)) throw truncatedAt(offset);
        break;
      }
      const header = parseHeader(block, offset);
      if (++entries > limits.maxEntries) {
        throw new ArchiveError(`archive: more than ${limits.maxEntries} tar entries`);
      }
      const extension = isExtensionType(header.typeflag);
      const size = extension ? header.size : pending.size ?? header.size;
      const bodyOffset = offset + BLOCK;
      const nextOffset = bodyOffset + roundUpToBlock(size);
      if (nextOffset > fileSize) {
        throw new ArchiveError(
          `archive: truncated: member ${
            quoteForMessage(extension ? header.name : pending.path ?? header.name)
          } needs ${size} bytes at offset ${bodyOffset}, the file ends at ${fileSize}`,
        );
      }
      if (extension) {
        if (header.size > limits.maxExtendedHeaderBytes) {
          throw new ArchiveError(
            `archive: tar extended header at offset ${offset} is ${header.size} bytes, over the ${limits.maxExtendedHeaderBytes}-byte limit`,
          );
        }
        const body = await readAt(file, bodyOffset, header.size);
        if (body.length < header.size) throw truncatedAt(bodyOffset);
        applyExtension(header.typeflag, body, pending, offset);
        offset = nextOffset;
        continue;
      }
      const rawName = pending.path ?? header.name;
      const linkname = pending.linkpath ?? header.linkname;
      clearPending(pending);
      checkNameLength(rawName, limits, offset);
      checkNameLength(linkname, limits, offset);
      const type = memberTypeOf(header.typeflag);
      const name = normalizeMemberName(rawName, `tar entry at offset ${offset}`);
      if (name !== "") {
        const hasBody = type === "file" || type === "other";
        members.set(name, {
          name,
          type,
          offset: bodyOffset,
          size: hasBody ? size : 0,
          linkname: type === "symlink" || type === "hardlink" ? linkname : "",
        });
      }
      offset = nextOffset;
    }
    return new TarIndex(path, fileSize, members);
  } finally {
    file.close();
  }
}

/**
 * The whole body of `member` (a regular file of `index`), refusing one over `maxBytes` with an
 * ArchiveError that names `what` and the limit.
 */
export async function readMemberBytes(
  index: TarIndex,
  member: TarMember,
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  if (member.size > maxBytes) {
    throw new ArchiveError(
      `archive: ${what} is ${member.size} bytes, over the ${formatLimit(maxBytes)} limit`,
    );
  }
  const file = await Deno.open(index.path, { read: true });
  try {
    const bytes = await readAt(file, member.offset, member.size);
    if (bytes.length < member.size) {
      throw new ArchiveError(`archive: truncated: ${what} ends early`);
    }
    return bytes;
  } finally {
    file.close();
  }
}

/**
 * A stream of the body of `member`, read from the tar file in 1 MiB chunks. The file is opened
 * on the first read and closed at the end, on error and on cancel. Errors with an ArchiveError
 * naming `what` if the file turns out shorter than the index said.
 */
export function openMemberStream(
  index: TarIndex,
  member: TarMember,
  what: string,
): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let position = member.offset;
  let remaining = member.size;
  const closeFile = () => {
    try {
      file?.close();
    } catch {
      // Already closed.
    }
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (remaining === 0) {
          closeFile();
          controller.close();
          return;
        }
        if (file === undefined) {
          file = await Deno.open(index.path, { read: true });
          await file.seek(position, Deno.SeekMode.Start);
        }
        const buffer = new Uint8Array(Math.min(STREAM_CHUNK, remaining));
        const n = await file.read(buffer);
        if (n === null || n === 0) {
          throw new ArchiveError(`archive: truncated: ${what} ends early`);
        }
        position += n;
        remaining -= n;
        controller.enqueue(n === buffer.length ? buffer : buffer.subarray(0, n));
        if (remaining === 0) {
          closeFile();
          controller.close();
        }
      } catch (error) {
        closeFile();
        throw error;
      }
    },
    cancel() {
      closeFile();
    },
  }, { highWaterMark: 0 });
}

/**
 * `name` normalised as the index stores names: leading `/` and `./` dropped, `.` and empty
 * components removed, no trailing `/`. Throws an ArchiveError naming `what` when a component
 * is `..` or the name holds a NUL.
 */
export function normalizeMemberName(name: string, what: string): string {
  const normal = tryNormalizeMemberName(name);
  if (normal === undefined) {
    throw new ArchiveError(
      `archive: ${what}: name ${quoteForMessage(name)} has a ".." component or a NUL`,
    );
  }
  return normal;
}

function tryNormalizeMemberName(name: string): string | undefined {
  if (name.includes("\0")) return undefined;
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  return parts.join("/");
}

function resolveSymlinkTarget(member: TarMember, what: string): string {
  const target = member.linkname;
  const parts = target.startsWith("/") ? [] : member.name.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) {
        throw new ArchiveError(
          `archive: ${what}: symlink ${quoteForMessage(member.name)} points outside the archive`,
        );
      }
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join("/");
}

interface RawHeader {
  name: string;
  linkname: string;
  size: number;
  typeflag: string;
}

interface PendingExtensions {
  path?: string;
  linkpath?: string;
  size?: number;
}

function hasPending(pending: PendingExtensions): boolean {
  return pending.path !== undefined || pending.linkpath !== undefined ||
    pending.size !== undefined;
}

function clearPending(pending: PendingExtensions): void {
  delete pending.path;
  delete pending.linkpath;
  delete pending.size;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function parseHeader(block: Uint8Array, offset: number): RawHeader {
  if (!checksumMatches(block)) {
    throw new ArchiveError(
      offset === 0
        ? "archive: not a tar archive (no valid tar header at the start)"
        : `archive: corrupt tar header at offset ${offset} (checksum mismatch)`,
    );
  }
  const magic = decoder.decode(block.subarray(257, 263));
  let name = cString(block, 0, 100);
  // The POSIX ustar prefix field; GNU tar uses those bytes for other things.
  if (magic === "ustar\0") {
    const prefix = cString(block, 345, 155);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  const size = parseNumber(block, 124, 12);
  if (size === undefined) {
    throw new ArchiveError(`archive: corrupt tar header at offset ${offset} (bad size field)`);
  }
  return {
    name,
    linkname: cString(block, 157, 100),
    size,
    typeflag: String.fromCharCode(block[156]),
  };
}

function checksumMatches(block: Uint8Array): boolean {
  const recorded = parseOctal(block.subarray(148, 156));
  if (recorded === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return recorded === unsigned || recorded === signed;
}

function parseNumber(block: Uint8Array, start: number, length: number): number | undefined {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) return undefined; // negative
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  return parseOctal(field);
}

function parseOctal(field: Uint8Array): number | undefined {
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < field.length; i++) {
    const c = field[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < field.length; i++) {
    if (field[i] !== 0 && field[i] !== 0x20) return undefined;
  }
  return digits === 0 ? 0 : value;
}

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function isExtensionType(typeflag: string): boolean {
  return typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K";
}

function applyExtension(
  typeflag: string,
  body: Uint8Array,
  pending: PendingExtensions,
  offset: number,
): void {
  if (typeflag === "L" || typeflag === "K") {
    const end = body.indexOf(0);
    const value = decoder.decode(end === -1 ? body : body.subarray(0, end));
    if (typeflag === "L") pending.path = value;
    else pending.linkpath = value;
    return;
  }
  const records = parsePaxRecords(body, offset);
  if (typeflag === "g") return; // Global headers: nothing in them changes where members lie.
  for (const [key, value] of records) {
    if (key === "path") pending.path = value;
    else if (key === "linkpath") pending.linkpath = value;
    else if (key === "size") {
      if (!/^[0-9]{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
        throw new ArchiveError(`archive: corrupt PAX size record at offset ${offset}`);
      }
      pending.size = Number(value);
    }
  }
}

function parsePaxRecords(body: Uint8Array, offset: number): Array<[string, string]> {
  const records: Array<[string, string]> = [];
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // NUL padding after the last record
    const space = body.indexOf(0x20, pos);
    const lengthText = space === -1 ? "" : decoder.decode(body.subarray(pos, space));
    const length = /^[0-9]{1,8}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length > 0) || pos + length > body.length || body[pos + length - 1] !== 0x0a) {
      throw new ArchiveError(`archive: corrupt PAX header at offset ${offset}`);
    }
    const record = decoder.decode(body.subarray(space + 1, pos + length - 1));
    const equals = record.indexOf("=");
    if (equals <= 0) throw new ArchiveError(`archive: corrupt PAX header at offset ${offset}`);
    records.push([record.slice(0, equals), record.slice(equals + 1)]);
    pos += length;
  }
  return records;
}

function memberTypeOf(typeflag: string): TarMemberType {
  switch (typeflag) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "5":
      return "dir";
    default:
      return "other";
  }
}

function checkNameLength(name: string, limits: TarIndexLimits, offset: number): void {
  if (encoder.encode(name).length > limits.maxNameBytes) {
    throw new ArchiveError(
      `archive: tar entry at offset ${offset} has a name over ${limits.maxNameBytes} bytes`,
    );
  }
}

function roundUpToBlock(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function truncatedAt(offset: number): ArchiveError {
  return new ArchiveError(
    `archive: truncated: the tar file ends inside a header at offset ${offset}`,
  );
}

function formatLimit(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes / (1 << 20)} MiB` : `${bytes}-byte`;
}

/** Reads up to `length` bytes at `position`; shorter only at end of file. */
async function readAt(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array> {
  await file.seek(position, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null || n === 0) break;
    filled += n;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}
