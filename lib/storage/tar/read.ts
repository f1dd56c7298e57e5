/**
 * Reading tar entries from a byte source with denopod's own header codec (`./header.ts`: GNU long
 * names, PAX, base-256 numbers, checksums), under limits, handing each entry's header and body to
 * the caller one at a time. Bodies are handed out as views of the source's chunks, never copied,
 * so a layer is read through one reused buffer (see `./source.ts`). PAX values stay raw bytes
 * (binary `SCHILY.xattr.security.capability` values survive), and PAX and long-name records are
 * capped before their data is read.
 *
 * @example
 * ```ts
 * for await (const { entry, body } of readTarEntries(fileChunks(file))) {
 *   console.log(entry.type, entry.name);
 *   for await (const chunk of body) consume(chunk); // valid until the next; or leave it: skipped
 * }
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
  TarExtensions,
  TarHeaderError,
} from "./header.ts";
import { type ChunkSource, chunkSourceOf } from "./source.ts";
import type { TarEntryType } from "./writer.ts";

/** Caps applied while reading an archive; going over one fails with an {@linkcode ArchiveError}. */
export interface ExtractLimits {
  /** Most entries (PAX and long-name records not counted). */
  maxEntries: number;
  /** Longest entry name or link target, in bytes. */
  maxPathLength: number;
  /** Largest PAX extended header, in bytes. */
  maxPaxHeaderBytes: number;
  /** Most bytes, both of the decompressed tar stream and of the entries' declared sizes. */
  maxTotalBytes: number;
}

/** Default limits: 1,000,000 entries, 4096-byte paths, 1 MiB PAX headers, 64 GiB in total. */
export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  maxEntries: 1_000_000,
  maxPathLength: 4096,
  maxPaxHeaderBytes: 1024 * 1024,
  maxTotalBytes: 64 * 1024 ** 3,
});

/** One entry's header, with PAX overrides (path, linkpath, size, uid, gid, mtime) applied. */
export interface TarEntryInfo {
  /** The name as stored (not cleaned). */
  name: string;
  /** The entry type; `"file"` also covers contiguous files. */
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  /** Numeric owner. */
  uid: number;
  /** Numeric group. */
  gid: number;
  /** Body size in bytes (0 for directories). */
  size: number;
  /** Modification time in seconds since the epoch, maybe fractional. */
  mtime: number;
  /** Symlink target or hard link target name; `""` when there is none. */
  linkname: string;
  /** Device major number (devices only). */
  devmajor: number;
  /** Device minor number (devices only). */
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.*` PAX records, values as raw bytes. */
  xattrs: Map<string, Uint8Array>;
}

/** One entry: its header and its body, which must be read before asking for the next entry. */
export interface TarEntry {
  /** The decoded header. */
  entry: TarEntryInfo;
  /**
   * The body bytes, each chunk valid until the next is asked for; left unread, the body is
   * skipped when the next entry is requested.
   */
  body: AsyncIterable<Uint8Array>;
  /**
   * Offset in the tar stream just past this entry's header (its PAX and long-name records
   * included): where its body starts, when it has one. Every byte before it that is not a body
   * is header, padding or record data (what a tar-split keeps).
   */
  bodyOffset: number;
}

/** Options of {@linkcode readTarEntries}. */
export interface ReadTarOptions {
  /** Limits to enforce; missing fields take {@linkcode DEFAULT_EXTRACT_LIMITS}. */
  limits?: Partial<ExtractLimits>;
  /**
   * Called with every chunk of the stream, in order, before it is parsed (e.g. to hash it). The
   * chunk's memory may be reused once `onChunkReleased` is called.
   */
  onChunk?: (chunk: Uint8Array) => void;
  /** Called before the next chunk is read into the memory of the last one given to `onChunk`. */
  onChunkReleased?: () => void;
  /** Aborting stops reading and makes the iteration throw the signal's reason. */
  signal?: AbortSignal;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

const MAX_ID = 0xfffffffe;
const encoder = new TextEncoder();

/**
 * Yields the entries of the plain (already decompressed) tar stream `source`, reading it to its
 * very end (trailing zero blocks and anything after them included, so `onChunk` sees every byte).
 * A stream that is not tar, is truncated, has a bad checksum or goes over a limit makes the
 * iteration throw an {@linkcode ArchiveError}. Stopping early (break, throw) cancels `source`.
 */
export async function* readTarEntries(
  source: ReadableStream<Uint8Array> | ChunkSource,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  const limits: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...options.limits };
  const { signal } = options;
  const input = new ChunkCursor(chunkSourceOf(source), limits.maxTotalBytes, options);
  let finished = false;
  try {
    signal?.throwIfAborted();
    const extensions = new TarExtensions(limits);
    let count = 0;
    let declaredBytes = 0;
    /** What is left of the body handed out last (and its padding), skipped before the next header. */
    const current = { left: 0, padding: 0 };
    let headers = 0;
    while (true) {
      await input.skip(current.left + current.padding);
      current.left = current.padding = 0;
      const offset = input.offset;
      const block = await input.take(BLOCK_SIZE);
      if (block === null) {
        if (headers === 0 && input.offset === 0) {
          throw new ArchiveError("the archive is empty (0 bytes)");
        }
        // End of stream on a block boundary without the zero blocks: tar accepts it.
        if (extensions.pending) throw new ArchiveError("the tar archive ended early");
        break;
      }
      if (isZeroBlock(block)) {
        if (extensions.pending) throw new ArchiveError("the tar archive ended early");
        await input.skipToEnd(); // end of archive: the rest is kept for the diff ID, not parsed
        break;
      }
      headers++;
      const header = decodeBlock(block, offset);
      if (isExtensionType(header.typeflag)) {
        extensions.checkSize(header.typeflag, header.size);
        const data = await input.copy(header.size);
        await input.skip(paddedSize(header.size) - header.size);
        extensions.apply(header.typeflag, data);
        continue;
      }
      const resolved = extensions.resolve(header);
      const entry = toEntry(resolved, limits);
      if (++count > limits.maxEntries) {
        throw new ArchiveError(
          `the archive has more than the limit of ${limits.maxEntries} entries`,
        );
      }
      declaredBytes += entry.size;
      if (declaredBytes > limits.maxTotalBytes) {
        throw new ArchiveError(
          `the archive holds more than the limit of ${limits.maxTotalBytes} bytes`,
        );
      }
      const size = bodyBytes(header.typeflag, entry.size);
      current.left = size;
      current.padding = paddedSize(size) - size;
      yield { entry, body: bodyOf(input, current), bodyOffset: input.offset };
    }
    finished = true;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    if (!finished) await input.cancel(signal?.reason);
  }
}

/** The body handed out for an entry: `current.left` bytes of `input`, counted down as read. */
async function* bodyOf(
  input: ChunkCursor,
  current: { left: number },
): AsyncGenerator<Uint8Array, void, undefined> {
  while (current.left > 0) {
    const piece = await input.piece(current.left);
    if (piece === null) throw truncated();
    current.left -= piece.length;
    yield piece;
  }
}

function decodeBlock(block: Uint8Array, offset: number) {
  try {
    return decodeHeaderBlock(block);
  } catch (err) {
    if (!(err instanceof TarHeaderError)) throw err;
    if (err.kind === "checksum") {
      throw new ArchiveError(
        `not a valid tar archive: bad header at offset ${offset} (checksum mismatch or unknown format)`,
      );
    }
    throw new ArchiveError(
      `not a valid tar archive: header at offset ${offset}: invalid ${err.field}`,
    );
  }
}

/** Validates a resolved header as an entry the extractor can write. */
function toEntry(raw: ReturnType<TarExtensions["resolve"]>, limits: ExtractLimits): TarEntryInfo {
  const name = raw.name;
  const shown = JSON.stringify(name.length > 200 ? name.slice(0, 200) + "..." : name);
  const bad = (why: string) => new ArchiveError(`archive entry ${shown}: ${why}`);
  if (byteLength(name) > limits.maxPathLength) {
    throw bad(`name is longer than the limit of ${limits.maxPathLength} bytes`);
  }
  if (byteLength(raw.linkname) > limits.maxPathLength) {
    throw bad(`link target is longer than the limit of ${limits.maxPathLength} bytes`);
  }
  const type = TYPES[raw.typeflag];
  if (type === undefined) throw bad("unsupported entry type (e.g. a GNU sparse or volume header)");
  for (const key of raw.pax.keys()) {
    if (key.startsWith("GNU.sparse.")) throw bad("sparse files are not supported");
  }
  const integer = (field: string, value: number, max: number) => {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) throw bad(`invalid ${field}`);
    return value;
  };
  if (!Number.isFinite(raw.mtime)) throw bad("invalid mtime");
  return {
    name,
    type,
    mode: integer("mode", raw.mode, 0o7777777) & 0o7777,
    uid: integer("uid", raw.uid, MAX_ID),
    gid: integer("gid", raw.gid, MAX_ID),
    size: type === "dir" ? 0 : integer("size", raw.size, Number.MAX_SAFE_INTEGER),
    mtime: raw.mtime,
    linkname: raw.linkname,
    devmajor: integer("devmajor", raw.devmajor, 0xffffffff),
    devminor: integer("devminor", raw.devminor, 0xffffffff),
    xattrs: raw.xattrs,
  };
}

/** UTF-8 length without encoding plain ASCII. */
function byteLength(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  }
  return text.length;
}

function truncated(): ArchiveError {
  return new ArchiveError("the tar archive is truncated (unexpected end of data)");
}

/** A read position in a {@linkcode ChunkSource}: small reads (headers) and body pieces. */
class ChunkCursor {
  readonly #source: ChunkSource;
  readonly #maxBytes: number;
  readonly #options: ReadTarOptions;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;
  /** Stream offset of `#chunk[0]`. */
  #chunkOffset = 0;
  #ended = false;
  #cancelled = false;
  /** Holds a header that straddles two chunks. */
  readonly #scratch = new Uint8Array(BLOCK_SIZE);

  constructor(source: ChunkSource, maxBytes: number, options: ReadTarOptions) {
    this.#source = source;
    this.#maxBytes = maxBytes;
    this.#options = options;
  }

  /** Stream offset of the next byte. */
  get offset(): number {
    return this.#chunkOffset + this.#at;
  }

  /** Reads the next chunk; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    this.#options.signal?.throwIfAborted();
    if (this.#chunk.length > 0) this.#options.onChunkReleased?.();
    const next = await this.#source.read();
    this.#options.signal?.throwIfAborted();
    this.#chunkOffset += this.#chunk.length;
    this.#at = 0;
    if (next === null) {
      this.#ended = true;
      this.#chunk = new Uint8Array(0);
      return false;
    }
    if (this.#chunkOffset + next.length > this.#maxBytes) {
      throw new ArchiveError(`the archive holds more than the limit of ${this.#maxBytes} bytes`);
    }
    this.#chunk = next;
    this.#options.onChunk?.(next);
    return true;
  }

  /**
   * The next `n` (≤ 512) bytes, valid until the next call; null when the stream ends before the
   * first of them; a truncated-archive error when it ends inside them.
   */
  async take(n: number): Promise<Uint8Array | null> {
    if (this.#chunk.length - this.#at >= n) {
      const view = this.#chunk.subarray(this.#at, this.#at + n);
      this.#at += n;
      return view;
    }
    let filled = 0;
    while (filled < n) {
      if (this.#at === this.#chunk.length && !(await this.#fill())) {
        if (filled === 0) return null;
        throw truncated();
      }
      const count = Math.min(n - filled, this.#chunk.length - this.#at);
      this.#scratch.set(this.#chunk.subarray(this.#at, this.#at + count), filled);
      this.#at += count;
      filled += count;
    }
    return this.#scratch.subarray(0, n);
  }

  /** The next `n` bytes in fresh memory (record data the caller keeps). */
  async copy(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = await this.piece(n - filled);
      if (piece === null) throw truncated();
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** Up to `max` bytes (at least one) as a view of the current chunk; null at the end. */
  async piece(max: number): Promise<Uint8Array | null> {
    if (this.#at === this.#chunk.length && !(await this.#fill())) return null;
    const count = Math.min(max, this.#chunk.length - this.#at);
    const view = this.#chunk.subarray(this.#at, this.#at + count);
    this.#at += count;
    return view;
  }

  /** Skips `n` bytes; a truncated-archive error when the stream ends first. */
  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.#at === this.#chunk.length && !(await this.#fill())) throw truncated();
      const count = Math.min(n, this.#chunk.length - this.#at);
      this.#at += count;
      n -= count;
    }
  }

  /** Reads (and passes to `onChunk`) everything left. */
  async skipToEnd(): Promise<void> {
    this.#at = this.#chunk.length;
    while (await this.#fill()) this.#at = this.#chunk.length;
  }

  /** Cancels the source (once). */
  async cancel(reason: unknown): Promise<void> {
    if (this.#cancelled || this.#ended) return;
    this.#cancelled = true;
    await this.#source.cancel(reason).catch(() => {});
  }
}
