/**
 * Reading tar entries from a stream with `tar-stream` (GNU long names, PAX, base-256 numbers),
 * under limits, and handing each entry's header and body to the caller one at a time.
 *
 * Two things tar-stream does not do are added here: PAX values are kept as raw bytes (tar-stream
 * decodes them as UTF-8, which mangles binary `SCHILY.xattr.security.capability` values), and the
 * size of PAX and GNU long-name records is capped by {@linkcode ExtractLimits} (tar-stream's own
 * cap is 4 MiB, so larger limits than that have no effect).
 *
 * @example
 * ```ts
 * for await (const { entry, body } of readTarEntries(stream)) {
 *   console.log(entry.type, entry.name);
 *   for await (const chunk of body) consume(chunk); // or leave it: it is skipped for you
 * }
 * ```
 * @module
 */
import tarStream from "tar-stream";
import { ArchiveError, DenopodError } from "../../errors.ts";
import { parsePaxRecords, PAX_XATTR_PREFIX } from "./pax.ts";
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
  /** Body size in bytes (0 for everything but files). */
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
  /** The body bytes; left unread, it is skipped when the next entry is requested. */
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
  /** Called with every chunk of the stream, in order, before it is parsed (e.g. to hash it). */
  onChunk?: (chunk: Uint8Array) => void;
  /** Aborting stops reading and makes the iteration throw the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Yields the entries of the plain (already decompressed) tar stream `source`, reading it to its
 * very end (trailing zero blocks included, so `onChunk` sees every byte). A stream that is not
 * tar, is truncated, has a bad checksum or goes over a limit makes the iteration throw an
 * {@linkcode ArchiveError}. Stopping early (break, throw) cancels `source`.
 */
export async function* readTarEntries(
  source: ReadableStream<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  const limits: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...options.limits };
  const { signal, onChunk } = options;
  signal?.throwIfAborted();
  const extractor = tarStream.extract();
  capLongHeaders(extractor as unknown as ExtractorInternals, limits);
  const reader = source.getReader();
  let stopped = false;
  let cancelled: Promise<void> = Promise.resolve();
  const stop = (reason?: unknown) => {
    if (stopped) return;
    stopped = true;
    extractor.destroy(reason === undefined ? undefined : asError(reason));
    cancelled = reader.cancel(reason).catch(() => {});
  };
  const onAbort = () => stop(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  const pump = (async () => {
    let streamBytes = 0;
    try {
      while (!stopped) {
        const { value, done } = await reader.read();
        if (done || stopped) break;
        streamBytes += value.length;
        if (streamBytes > limits.maxTotalBytes) {
          throw new ArchiveError(
            `the archive holds more than the limit of ${limits.maxTotalBytes} bytes`,
          );
        }
        onChunk?.(value);
        if (!extractor.write(value)) await drained(extractor);
      }
      if (stopped) return;
      if (streamBytes === 0) throw new ArchiveError("the archive is empty (0 bytes)");
      extractor.end(undefined);
    } catch (err) {
      stop(err);
    }
  })();

  const entries = extractor[Symbol.asyncIterator]();
  const internals = extractor as unknown as ExtractorInternals;
  let count = 0;
  let declaredBytes = 0;
  let previous: { stream: AsyncIterable<unknown>; started: boolean } | undefined;
  let finished = false;
  try {
    while (true) {
      if (previous !== undefined && !previous.started) {
        for await (const _ of previous.stream) { /* skip the unread body */ }
      }
      const next = await entries.next();
      if (next.done) {
        // tar-stream also ends its iteration when an entry stream is destroyed half-read.
        if (!internals._finished) throw new ArchiveError("the tar archive ended early");
        break;
      }
      const stream = next.value;
      if (++count > limits.maxEntries) {
        throw new ArchiveError(
          `the archive has more than the limit of ${limits.maxEntries} entries`,
        );
      }
      const header = stream.header as unknown as RawHeader;
      const entry = decodeHeader(header, limits);
      declaredBytes += entry.size;
      if (declaredBytes > limits.maxTotalBytes) {
        throw new ArchiveError(
          `the archive holds more than the limit of ${limits.maxTotalBytes} bytes`,
        );
      }
      const current = { stream, started: false };
      previous = current;
      const body = (async function* () {
        current.started = true;
        try {
          for await (const chunk of stream) yield chunk as Uint8Array;
        } catch (err) {
          throw toArchiveError(err, signal);
        }
      })();
      yield { entry, body, bodyOffset: header.byteOffset };
    }
    finished = true;
  } catch (err) {
    throw toArchiveError(err, signal);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!finished) stop();
    await pump;
    await cancelled; // the source (e.g. an open file) is released before we return
  }
}

/** The parts of tar-stream's Extract object that {@linkcode capLongHeaders} reaches into. */
interface ExtractorInternals {
  _header: { type: string | null } | null;
  _pax: PaxObject | null;
  _paxGlobal: PaxObject | null;
  _gnuLongPath: string | null;
  _gnuLongLinkPath: string | null;
  _finished: boolean;
  _decodeLongHeader(buf: Uint8Array): void;
}

/** tar-stream reads `path`, `linkpath` and `size` from this; the raw records ride along. */
type PaxObject = Record<string, string> & { [RAW_RECORDS]?: Map<string, Uint8Array> };

const RAW_RECORDS: unique symbol = Symbol("raw PAX records");
const decoder = new TextDecoder();

/**
 * Replaces tar-stream's decoding of PAX and GNU long-name records (pinned tar-stream 3.2.2,
 * `Extract#_decodeLongHeader`) on this one instance: enforces the size limits and keeps the raw
 * PAX bytes. An exception thrown here fails the stream, as tar-stream's own decoding errors do.
 */
function capLongHeaders(extractor: ExtractorInternals, limits: ExtractLimits): void {
  if (typeof extractor._decodeLongHeader !== "function" || !("_paxGlobal" in extractor)) {
    // Only reachable if the pinned tar-stream version changes: fail loudly, never silently.
    throw new Error("tar-stream internals changed: PAX header limits cannot be enforced");
  }
  extractor._decodeLongHeader = function (this: ExtractorInternals, buf: Uint8Array) {
    const type = this._header?.type;
    if (type === "pax-header" || type === "pax-global-header") {
      if (buf.length > limits.maxPaxHeaderBytes) {
        throw new ArchiveError(
          `a PAX header of ${buf.length} bytes is over the limit of ${limits.maxPaxHeaderBytes}`,
        );
      }
      const records = parsePaxRecords(buf);
      if (type === "pax-global-header") {
        // A global header may not rename or resize every later entry.
        for (const key of ["path", "linkpath", "size"]) records.delete(key);
        this._paxGlobal = toPaxObject(records);
      } else {
        const merged = new Map([...(this._paxGlobal?.[RAW_RECORDS] ?? []), ...records]);
        this._pax = toPaxObject(merged);
      }
      return;
    }
    if (type === "gnu-long-path" || type === "gnu-long-link-path") {
      const end = buf.indexOf(0);
      const bytes = end === -1 ? buf : buf.subarray(0, end);
      if (bytes.length > limits.maxPathLength) {
        throw new ArchiveError(
          `a GNU long name of ${bytes.length} bytes is over the limit of ${limits.maxPathLength}`,
        );
      }
      if (type === "gnu-long-path") this._gnuLongPath = decoder.decode(bytes);
      else this._gnuLongLinkPath = decoder.decode(bytes);
    }
  };
}

function toPaxObject(records: Map<string, Uint8Array>): PaxObject {
  const pax: PaxObject = {};
  for (const [key, value] of records) {
    if (!key.startsWith(PAX_XATTR_PREFIX)) pax[key] = decoder.decode(value);
  }
  pax[RAW_RECORDS] = records;
  return pax;
}

/** A header as tar-stream hands it over. */
interface RawHeader {
  name: string;
  type: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  devmajor: number;
  devminor: number;
  pax: PaxObject | null;
  /** Stream offset just past the header block (set by tar-stream's `_consumeHeader`). */
  byteOffset: number;
}

const TYPES: Record<string, TarEntryType> = {
  "file": "file",
  "contiguous-file": "file",
  "link": "hardlink",
  "symlink": "symlink",
  "character-device": "char",
  "block-device": "block",
  "directory": "dir",
  "fifo": "fifo",
};

const MAX_ID = 0xfffffffe;
const encoder = new TextEncoder();

/** Validates a tar-stream header and applies the PAX records tar-stream leaves alone. */
function decodeHeader(raw: RawHeader, limits: ExtractLimits): TarEntryInfo {
  const name = raw.name;
  const shown = JSON.stringify(name.length > 200 ? name.slice(0, 200) + "..." : name);
  const bad = (why: string) => new ArchiveError(`archive entry ${shown}: ${why}`);
  if (encoder.encode(name).length > limits.maxPathLength) {
    throw bad(`name is longer than the limit of ${limits.maxPathLength} bytes`);
  }
  const linkname = raw.linkname ?? "";
  if (encoder.encode(linkname).length > limits.maxPathLength) {
    throw bad(`link target is longer than the limit of ${limits.maxPathLength} bytes`);
  }
  const type = raw.type === null ? undefined : TYPES[raw.type];
  if (type === undefined) throw bad("unsupported entry type (e.g. a GNU sparse or volume header)");
  const pax = raw.pax ?? {};
  const records = pax[RAW_RECORDS] ?? new Map<string, Uint8Array>();
  if ([...records.keys()].some((k) => k.startsWith("GNU.sparse."))) {
    throw bad("sparse files are not supported");
  }
  const integer = (field: string, fromPax: string | undefined, value: number, max: number) => {
    const n = fromPax === undefined ? value : (/^\d+$/.test(fromPax) ? Number(fromPax) : NaN);
    if (!Number.isSafeInteger(n) || n < 0 || n > max) throw bad(`invalid ${field}`);
    return n;
  };
  let mtime = raw.mtime.getTime() / 1000;
  if (pax.mtime !== undefined) {
    mtime = /^-?\d+(\.\d+)?$/.test(pax.mtime) ? Number(pax.mtime) : NaN;
  }
  if (!Number.isFinite(mtime)) throw bad("invalid mtime");
  const xattrs = new Map<string, Uint8Array>();
  for (const [key, value] of records) {
    if (key.startsWith(PAX_XATTR_PREFIX)) xattrs.set(key.slice(PAX_XATTR_PREFIX.length), value);
  }
  return {
    name,
    type,
    mode: integer("mode", undefined, raw.mode, 0o7777777) & 0o7777,
    uid: integer("uid", pax.uid, raw.uid, MAX_ID),
    gid: integer("gid", pax.gid, raw.gid, MAX_ID),
    size: integer("size", undefined, raw.size, Number.MAX_SAFE_INTEGER),
    mtime,
    linkname,
    devmajor: integer("devmajor", undefined, raw.devmajor, 0xffffffff),
    devminor: integer("devminor", undefined, raw.devminor, 0xffffffff),
    xattrs,
  };
}

/** Resolves when the extractor wants more data, or is gone. */
function drained(extractor: tarStream.Extract): Promise<void> {
  if (extractor.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      extractor.off("drain", done);
      extractor.off("close", done);
      resolve();
    };
    extractor.on("drain", done);
    extractor.on("close", done);
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** Maps tar-stream's plain errors to one-line ArchiveErrors; ours and aborts pass through. */
function toArchiveError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof DenopodError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/Unexpected end of data/.test(message)) {
    return new ArchiveError("the tar archive is truncated (unexpected end of data)", {
      cause: err,
    });
  }
  if (/Invalid tar header|unknown format|Invalid header/.test(message)) {
    return new ArchiveError(
      "not a valid tar archive: bad header (checksum mismatch or unknown format)",
      { cause: err },
    );
  }
  if (/Header exceeds max size/.test(message)) {
    return new ArchiveError("a tar header record is over tar-stream's 4 MiB cap", { cause: err });
  }
  return new ArchiveError(`cannot read the tar archive: ${message}`, { cause: err });
}
