/**
 * Turns a possibly compressed tar stream into a plain one, telling gzip and zstd from plain tar by
 * their magic bytes, as `docker load` and `podman load` do. Decompression runs in the system's
 * libz / libzstd (`../../sys/compression.ts`) into one reused output buffer; where a library is
 * missing, `node:zlib` does it instead (fresh memory per chunk, so a higher peak RSS).
 *
 * @example
 * ```ts
 * const file = await Deno.open("layer.tar.gz");
 * const tar = decompressedChunks(fileChunks(file)); // plain tar bytes, one reused buffer
 * ```
 * @module
 */
import type { Transform } from "node:stream";
import { ArchiveError, DenopodError } from "../../errors.ts";
import { CorruptDataError, type Decompressor, openDecompressor } from "../../sys/compression.ts";
import { type ChunkSource, chunkSourceOf } from "./source.ts";

/** The compression a stream was found to use. */
export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** Output chunk size of the decompressors: big chunks mean fewer, larger writes downstream. */
const DECOMPRESSED_CHUNK_BYTES = 256 * 1024;

/** Names the compression whose magic bytes `head` starts with (`"none"` for anything else). */
export function sniffCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return "gzip";
  if (startsWith(head, ZSTD_MAGIC)) return "zstd";
  return "none";
}

/**
 * The decompressed bytes of `input` as a {@linkcode ChunkSource} (each chunk valid until the
 * next read): gzip (`1f 8b`, any number of members) and zstd (`28 b5 2f fd`, any number of
 * frames) are decompressed, anything else passes through untouched. Corrupt or truncated
 * compressed data makes `read()` throw an {@linkcode ArchiveError}. Cancelling cancels `input`.
 */
export function decompressedChunks(input: ReadableStream<Uint8Array> | ChunkSource): ChunkSource {
  const source = chunkSourceOf(input);
  let inner: ChunkSource | undefined;
  let compression: Compression = "none";
  let failed = false;
  return {
    async read() {
      try {
        if (inner === undefined) {
          const opened = await openDecompressed(source);
          inner = opened.source;
          compression = opened.compression;
        }
        return await inner.read();
      } catch (err) {
        const error = toArchiveError(err, compression);
        if (!failed) {
          failed = true;
          await (inner ?? source).cancel(error);
        }
        throw error;
      }
    },
    async cancel(reason) {
      if (failed) return;
      failed = true;
      await (inner ?? source).cancel(reason);
    },
  };
}

/**
 * The decompressed bytes of `source` as a stream of chunks in fresh memory (for consumers that
 * keep chunks; the tar readers take {@linkcode decompressedChunks}). Cancelling the returned
 * stream cancels `source`.
 */
export function decompressedStream(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = decompressedChunks(source);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await chunks.read();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk.slice());
    },
    async cancel(reason) {
      await chunks.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Reads the first bytes, decides the compression and returns a source of the plain bytes. */
async function openDecompressed(
  source: ChunkSource,
): Promise<{ source: ChunkSource; compression: Compression }> {
  const headChunks: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < ZSTD_MAGIC.length) {
    const chunk = await source.read();
    if (chunk === null) {
      ended = true;
      break;
    }
    headLength += chunk.length;
    // A chunk is valid only until the next read: keep a copy when another read follows.
    headChunks.push(headLength < ZSTD_MAGIC.length ? chunk.slice() : chunk);
  }
  const head = concat(headChunks, headLength);
  const compression = sniffCompression(head);
  const raw = prepend(head, ended ? null : source);
  if (compression === "none") return { source: raw, compression };
  const decompressor = openDecompressor(compression);
  if (decompressor === undefined) {
    return { source: await nodeDecompressed(raw, compression), compression };
  }
  return { source: nativeDecompressed(raw, decompressor, compression), compression };
}

/** `head` (the bytes already read), then the rest of `rest`. */
function prepend(head: Uint8Array, rest: ChunkSource | null): ChunkSource {
  let first: Uint8Array | null = head.length > 0 ? head : null;
  return {
    read() {
      if (first !== null) {
        const chunk = first;
        first = null;
        return Promise.resolve(chunk);
      }
      return rest === null ? Promise.resolve(null) : rest.read();
    },
    async cancel(reason) {
      first = null;
      await rest?.cancel(reason);
    },
  };
}

/** Decompresses through libz/libzstd into one reused buffer. */
function nativeDecompressed(
  raw: ChunkSource,
  decompressor: Decompressor,
  compression: Compression,
): ChunkSource {
  const output = new Uint8Array(DECOMPRESSED_CHUNK_BYTES);
  let pending: Uint8Array = new Uint8Array(0);
  let inputEnded = false;
  let memberEnded = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    decompressor.close();
  };
  return {
    async read() {
      try {
        while (!closed) {
          if (pending.length === 0) {
            if (inputEnded) {
              close();
              if (!memberEnded) throw new CorruptDataError("unexpected end of file");
              return null;
            }
            const next = await raw.read();
            if (next === null) inputEnded = true;
            else pending = next;
            continue;
          }
          if (memberEnded && compression === "gzip") {
            // Another gzip member follows, or trailing bytes that are not one (ignored, as gzip -d).
            if (pending[0] !== GZIP_MAGIC[0]) {
              while ((await raw.read()) !== null) { /* drain */ }
              pending = new Uint8Array(0);
              inputEnded = true;
              continue;
            }
            decompressor.reset();
          }
          const { read, written, ended } = decompressor.step(pending, output);
          pending = pending.subarray(read);
          if (read > 0 || written > 0 || ended) memberEnded = ended;
          if (written > 0) return output.subarray(0, written);
          if (read === 0 && !ended) throw new CorruptDataError("no progress");
        }
        return null;
      } catch (err) {
        close();
        throw err;
      }
    },
    async cancel(reason) {
      close();
      await raw.cancel(reason);
    },
  };
}

/** Decompresses with `node:zlib` (loaded only here), when the native library is missing. */
async function nodeDecompressed(raw: ChunkSource, compression: Compression): Promise<ChunkSource> {
  const { createGunzip, createZstdDecompress } = await import("node:zlib");
  const codec = compression === "gzip"
    ? createGunzip({ chunkSize: DECOMPRESSED_CHUNK_BYTES })
    : createZstdDecompress({ chunkSize: DECOMPRESSED_CHUNK_BYTES });
  const { readable, writable } = bridge(codec);
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await raw.read();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk.slice()); // zlib keeps the chunk after this returns
    },
    async cancel(reason) {
      await raw.cancel(reason);
    },
  }, { highWaterMark: 0 });
  // Errors surface on `readable`; a failed pipe (cancelled or corrupt) needs no handling here.
  input.pipeTo(writable).catch(() => {});
  return chunkSourceOf(readable);
}

/**
 * Web streams over a zlib transform. Not `Duplex.toWeb`: its adapter enqueues data the codec
 * emits after the reader was cancelled (a full disk stops the extraction mid-layer), which throws
 * "The stream controller cannot close or enqueue" as an uncaught error and kills the process.
 * Here a cancelled or finished side ignores late data and destroys the codec.
 */
function bridge(codec: Transform): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
} {
  let done = false;
  let fail: (reason: unknown) => void = () => {};
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      fail = (reason) => {
        if (done) return;
        done = true;
        controller.error(reason);
      };
      codec.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) codec.pause();
      });
      codec.on("end", () => {
        if (done) return;
        done = true;
        controller.close();
      });
      codec.on("error", (err: unknown) => fail(err));
    },
    pull() {
      codec.resume();
    },
    cancel() {
      done = true;
      codec.destroy();
    },
  }, { highWaterMark: 1 });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (done) throw new ArchiveError("the decompressed stream was closed");
      if (codec.write(chunk)) return;
      // the codec's input buffer is full: wait until it drains (or the codec ends)
      return new Promise<void>((resolve) => {
        const settle = () => {
          codec.off("drain", settle);
          codec.off("close", settle);
          resolve();
        };
        codec.on("drain", settle);
        codec.on("close", settle);
      });
    },
    close() {
      codec.end();
    },
    abort(reason) {
      // the compressed input failed (unreadable, or its digest is wrong): that is the error
      fail(reason);
      codec.destroy();
    },
  });
  return { readable, writable };
}

/** Wraps a decompressor failure as a one-line ArchiveError (DenopodErrors pass through). */
function toArchiveError(err: unknown, compression: Compression): unknown {
  if (err instanceof DenopodError && !(err instanceof CorruptDataError)) return err;
  if (err instanceof DOMException && err.name === "AbortError") return err;
  const detail = err instanceof Error ? err.message : String(err);
  const what = compression === "none" ? "cannot read the archive" : `corrupt ${compression} data`;
  return new ArchiveError(`${what}: ${detail}`, { cause: err });
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 0) return new Uint8Array(0);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
