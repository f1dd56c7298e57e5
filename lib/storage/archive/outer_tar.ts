/**
 * An index of the members of an image archive's outer tar file: one pass over the headers
 * (bodies are skipped by seeking, never read), giving each member's name, type, offset and size,
 * so that `manifest.json`, configs and layer blobs can then be read by offset.
 *
 * Headers are decoded by the codec the layer reader shares (`../tar/header.ts`: checksums, octal
 * and base-256 numbers, PAX records and GNU long names `L`/`K`); the index caps what a hostile
 * file can make it hold (entries, PAX and long-name sizes, name length), and fails with a
 * one-line ArchiveError on a non-tar or truncated file instead of guessing.
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
import {
  BLOCK_SIZE,
  bodyBytes,
  decodeHeaderBlock,
  isExtensionType,
  isZeroBlock,
  paddedSize,
  type ResolvedHeader,
  TarExtensions,
  type TarHeaderBlock,
  TarHeaderError,
} from "../tar/header.ts";
import type { ChunkSource } from "../tar/source.ts";
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

const MAX_LINK_HOPS = 16;
const STREAM_CHUNK = 1 << 20;
const MEMBER_CHUNK = 256 * 1024;

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
  const file = Deno.openSync(path, { read: true }); // synchronous: see readAt
  try {
    const fileSize = file.statSync().size;
    if (fileSize === 0) {
      throw new ArchiveError("archive: input is empty, not a tar archive");
    }
    const members = new Map<string, TarMember>();
    const extensions = new TarExtensions({
      maxPaxHeaderBytes: limits.maxExtendedHeaderBytes,
      maxPathLength: limits.maxNameBytes,
    });
    let offset = 0;
    let entries = 0;
    while (true) {
      const block = await readAt(file, offset, BLOCK_SIZE);
      if (block.length === 0) {
        // End of file on a block boundary without the two zero blocks: GNU tar accepts it.
        if (extensions.pending) throw truncatedAt(offset);
        break;
      }
      if (block.length < BLOCK_SIZE) throw truncatedAt(offset);
      if (isZeroBlock(block)) {
        if (extensions.pending) throw truncatedAt(offset);
        break;
      }
      const header = parseHeader(block, offset);
      if (++entries > limits.maxEntries) {
        throw new ArchiveError(`archive: more than ${limits.maxEntries} tar entries`);
      }
      const bodyOffset = offset + BLOCK_SIZE;
      if (isExtensionType(header.typeflag)) {
        if (header.size > limits.maxExtendedHeaderBytes) {
          throw new ArchiveError(
            `archive: tar extended header at offset ${offset} is ${header.size} bytes, over the ${limits.maxExtendedHeaderBytes}-byte limit`,
          );
        }
        checkFits(header.name, header.size, bodyOffset, fileSize);
        const body = await readAt(file, bodyOffset, header.size);
        if (body.length < header.size) throw truncatedAt(bodyOffset);
        try {
          extensions.apply(header.typeflag, body);
        } catch (err) {
          throw atOffset(err, offset);
        }
        offset = bodyOffset + paddedSize(header.size);
        continue;
      }
      let resolved: ResolvedHeader;
      try {
        resolved = extensions.resolve(header);
      } catch (err) {
        throw atOffset(err, offset);
      }
      const size = bodyBytes(resolved.typeflag, resolved.size);
      checkFits(resolved.name, size, bodyOffset, fileSize);
      checkNameLength(resolved.name, limits, offset);
      checkNameLength(resolved.linkname, limits, offset);
      const type = memberTypeOf(resolved.typeflag);
      const name = normalizeMemberName(resolved.name, `tar entry at offset ${offset}`);
      if (name !== "") {
        const hasBody = type === "file" || type === "other";
        members.set(name, {
          name,
          type,
          offset: bodyOffset,
          size: hasBody ? size : 0,
          linkname: type === "symlink" || type === "hardlink" ? resolved.linkname : "",
        });
      }
      offset = bodyOffset + paddedSize(size);
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
  const file = Deno.openSync(index.path, { read: true }); // synchronous: see readAt
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
 * The body of `member` as a {@linkcode ChunkSource}: read synchronously 256 KiB at a time into one
 * reused buffer (each chunk valid until the next read). The file is opened on the first read and
 * closed at the end, on error and on cancel. Fails with an ArchiveError naming `what` if the file
 * turns out shorter than the index said.
 */
export function openMemberChunks(index: TarIndex, member: TarMember, what: string): ChunkSource {
  let file: Deno.FsFile | undefined;
  let buffer: Uint8Array | undefined;
  let remaining = member.size;
  let done = false;
  const close = () => {
    done = true;
    try {
      file?.close();
    } catch {
      // Already closed.
    }
    file = undefined;
  };
  return {
    read() {
      try {
        if (done || remaining === 0) {
          close();
          return Promise.resolve(null);
        }
        if (file === undefined) {
          file = Deno.openSync(index.path, { read: true });
          file.seekSync(member.offset, Deno.SeekMode.Start);
          buffer = new Uint8Array(Math.min(MEMBER_CHUNK, remaining));
        }
        const n = file.readSync(buffer!.subarray(0, Math.min(buffer!.length, remaining)));
        if (n === null || n === 0) {
          throw new ArchiveError(`archive: truncated: ${what} ends early`);
        }
        remaining -= n;
        return Promise.resolve(buffer!.subarray(0, n));
      } catch (error) {
        close();
        return Promise.reject(error);
      }
    },
    cancel() {
      close();
      return Promise.resolve();
    },
  };
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

/** Decodes a header block, wording a failure as the index reports it. */
function parseHeader(block: Uint8Array, offset: number): TarHeaderBlock {
  try {
    return decodeHeaderBlock(block);
  } catch (err) {
    if (!(err instanceof TarHeaderError)) throw err;
    if (err.kind === "field") {
      throw new ArchiveError(
        `archive: corrupt tar header at offset ${offset} (bad ${err.field} field)`,
      );
    }
    throw new ArchiveError(
      offset === 0
        ? "archive: not a tar archive (no valid tar header at the start)"
        : `archive: corrupt tar header at offset ${offset} (checksum mismatch)`,
    );
  }
}

/** Throws when a member's body of `size` bytes at `bodyOffset` runs past the end of the file. */
function checkFits(name: string, size: number, bodyOffset: number, fileSize: number): void {
  if (bodyOffset + paddedSize(size) <= fileSize) return;
  throw new ArchiveError(
    `archive: truncated: member ${
      quoteForMessage(name)
    } needs ${size} bytes at offset ${bodyOffset}, the file ends at ${fileSize}`,
  );
}

/** An extension record's ArchiveError, prefixed as the index words its messages. */
function atOffset(err: unknown, offset: number): unknown {
  if (!(err instanceof ArchiveError)) return err;
  return new ArchiveError(`archive: tar entry at offset ${offset}: ${err.message}`, { cause: err });
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

const encoder = new TextEncoder();

function checkNameLength(name: string, limits: TarIndexLimits, offset: number): void {
  if (encoder.encode(name).length > limits.maxNameBytes) {
    throw new ArchiveError(
      `archive: tar entry at offset ${offset} has a name over ${limits.maxNameBytes} bytes`,
    );
  }
}

function truncatedAt(offset: number): ArchiveError {
  return new ArchiveError(
    `archive: truncated: the tar file ends inside a header at offset ${offset}`,
  );
}

function formatLimit(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes / (1 << 20)} MiB` : `${bytes}-byte`;
}

/**
 * Reads up to `length` bytes at `position`; shorter only at end of file. Synchronous (the archive
 * is a regular file): an asynchronous read starts Deno's blocking thread pool, resident memory
 * `load` keeps below podman's (scripts/bench_transport.ts).
 */
function readAt(file: Deno.FsFile, position: number, length: number): Uint8Array {
  file.seekSync(position, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null || n === 0) break;
    filled += n;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}
