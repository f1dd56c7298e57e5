/**
 * Turns a possibly compressed tar stream into a plain one, telling gzip and zstd from plain tar by
 * their magic bytes, as `docker load` and `podman load` do.
 *
 * @example
 * ```ts
 * const file = await Deno.open("layer.tar.gz");
 * const tar = decompressedStream(file.readable); // plain tar bytes
 * ```
 * @module
 */
import type { Transform } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { ArchiveError, DenopodError } from "../../errors.ts";

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
 * Returns the decompressed bytes of `source`: gzip (`1f 8b`) and zstd (`28 b5 2f fd`) are
 * decompressed, anything else passes through untouched. Corrupt or truncated compressed data makes
 * the returned stream fail with an {@linkcode ArchiveError}. Cancelling the returned stream cancels
 * `source`.
 */
export function decompressedStream(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const input = source.getReader();
  let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let compression: Compression = "none";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (output === undefined) {
          const opened = await openDecompressed(input);
          output = opened.reader;
          compression = opened.compression;
        }
        const { value, done } = await output.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        const error = toArchiveError(err, compression);
        controller.error(error);
        await (output ?? input).cancel(error).catch(() => {});
      }
    },
    async cancel(reason) {
      await (output ?? input).cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** Reads the first bytes, decides the compression and returns a reader of the plain bytes. */
async function openDecompressed(
  input: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; compression: Compression }> {
  const headChunks: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < ZSTD_MAGIC.length) {
    const { value, done } = await input.read();
    if (done) {
      ended = true;
      break;
    }
    headChunks.push(value);
    headLength += value.length;
  }
  const head = concat(headChunks, headLength);
  const compression = sniffCompression(head);
  const raw = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
      if (ended) controller.close();
    },
    async pull(controller) {
      const { value, done } = await input.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await input.cancel(reason);
    },
  }, { highWaterMark: 0 });
  if (compression === "none") return { reader: raw.getReader(), compression };
  const codec = compression === "gzip"
    ? createGunzip({ chunkSize: DECOMPRESSED_CHUNK_BYTES })
    : createZstdDecompress({ chunkSize: DECOMPRESSED_CHUNK_BYTES });
  const { readable, writable } = bridge(codec);
  // Errors surface on `readable`; a failed pipe (cancelled or corrupt) needs no handling here.
  raw.pipeTo(writable).catch(() => {});
  return { reader: readable.getReader(), compression };
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
function toArchiveError(err: unknown, compression: Compression): DenopodError {
  if (err instanceof DenopodError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const what = compression === "none" ? "cannot read the archive" : `corrupt ${compression} data`;
  return new ArchiveError(`${what}: ${detail}`, { cause: err });
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
