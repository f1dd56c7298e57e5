/**
 * Tar-split: what it takes to give back a layer's tar stream byte for byte after it was
 * extracted, as containers/storage keeps for podman. `podman load` (and denopod's own `load`)
 * refuse a layer whose sha256 is not the diff ID the image config names, and a tar written anew
 * from the extracted tree never hashes the same (header bytes, entry order, PAX records differ).
 *
 * While {@linkcode extractLayer} reads a layer, a {@linkcode TarSplitRecorder} keeps every byte of
 * the decompressed stream that is not a regular file's body (headers, PAX and GNU long-name
 * records, padding, the end-of-archive blocks, anything after them, and the bodies of entries
 * that are not regular files) and, for each file body, where in the layer tree it was written
 * and its size. A body whose file a later entry of the same layer removes or replaces (a
 * duplicate name, a whiteout, a directory replaced by a file) is moved aside into
 * `tar-split-bodies/<n>` instead of being deleted, and so is a body that never becomes a file (a
 * whiteout with content): every body stays on disk. {@linkcode replayTarSplit} plays it back.
 *
 * On disk, `<layerDir>/tar-split.gz` is gzip (one or more members) of:
 * `denopod-tar-split 1\n`, then records: `R` u32 length + raw bytes; `F` f64 size + u32 length +
 * UTF-8 path below `diff/`; `S` f64 size (the body is `tar-split-bodies/<n>`); and last `E`
 * f64 total stream bytes + f64 body count. Bodies are numbered from 0 in order (`F` and `S`
 * alike); an `F` body moved aside later is found as `tar-split-bodies/<n>` too.
 *
 * @example
 * ```ts
 * const recorder = new TarSplitRecorder(layerDir);        // layerDir holds an empty `diff/`
 * try {
 *   await extractLayer(stream, `${layerDir}/diff`, { recorder });
 *   recorder.finish();
 * } catch (err) {
 *   recorder.abort();
 *   throw err;
 * }
 * const { diffId } = await replayTarSplit(layerDir, (chunk) => out.writeSync(chunk));
 * ```
 * @module
 */
import { join } from "../../util/path.ts";
import { DenopodError } from "../../errors.ts";
import type { ExtractRecorder } from "./extract.ts";
import type { TarSink } from "./writer.ts";
import { decompressedStream } from "./decompress.ts";
import { fileStream } from "./source.ts";
import { type GzipCompressor, openGzipCompressor } from "../../sys/compression.ts";
import { createSha256 } from "../../sys/sha256.ts";

import { LAYER_TREE_DIR, TAR_SPLIT_BODIES_DIR, TAR_SPLIT_FILE } from "./split_names.ts";
export {
  hasTarSplit,
  LAYER_TREE_DIR,
  TAR_SPLIT_BODIES_DIR,
  TAR_SPLIT_FILE,
} from "./split_names.ts";

/** A tar-split is missing, unreadable, or no longer matches the layer's files. */
export class TarSplitError extends DenopodError {}

const MAGIC = new TextEncoder().encode("denopod-tar-split 1\n");
const RAW = 0x52; // R
const FILE = 0x46; // F
const SET_ASIDE = 0x53; // S
const END = 0x45; // E
/** Largest raw record; longer runs of raw bytes become several records. */
const MAX_RAW_RECORD = 1 << 20;
/** Records are gzipped and written out whenever this many bytes are waiting. */
const STAGE_BYTES = 256 * 1024;
const BODY_READ_BYTES = 1 << 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Records a layer's tar-split while {@linkcode extractLayer} extracts it into `<layerDir>/diff`
 * (pass it as the `recorder` option); {@linkcode finish} then writes `<layerDir>/tar-split.gz`.
 * Memory stays small: records are compressed and written out as they come, and only the bytes
 * the tar parser has not placed yet are held (copied when the reader reuses a chunk's memory).
 * Make one with {@linkcode openTarSplitRecorder} (which falls back to `node:zlib` without libz).
 */
export class TarSplitRecorder implements ExtractRecorder {
  readonly #layerDir: string;
  readonly #treeDir: string;
  readonly #partialPath: string;
  #file: Deno.FsFile | undefined;
  /** Chunks not yet classified as raw or body; the first starts `#head` bytes in. */
  readonly #pending: Uint8Array[] = [];
  #head = 0;
  /** Stream offset of the first unclassified byte. */
  #cursor = 0;
  #received = 0;
  /** Bytes before this offset are raw (a kept body, if announced, starts here). */
  #rawLimit = 0;
  /** The announced kept body runs from `#rawLimit` to here (equal to it when there is none). */
  #bodyEnd = 0;
  /** Size of the announced body until its location is reported. */
  #unplacedBody: number | undefined;
  #bodies = 0;
  /** Path below the tree → number of the body written there (and still there). */
  readonly #bodyAt = new Map<string, number>();
  #bodiesDirMade = false;
  /** Encoded records waiting to be compressed and written (one reused buffer). */
  readonly #stage = new Uint8Array(STAGE_BYTES);
  readonly #stageView = new DataView(this.#stage.buffer);
  #staged = 0;
  /** libz's streaming gzip (one member for the whole split), or one gzip member per flush. */
  readonly #gzip: GzipCompressor | GzipMember;
  #done = false;

  /**
   * Starts a recording for the layer whose tree is `<layerDir>/diff`, compressed with `gzip`
   * (default: libz's, which must be here; see {@linkcode openTarSplitRecorder}).
   */
  constructor(
    layerDir: string,
    gzip: GzipCompressor | GzipMember | undefined = openGzipCompressor(1),
  ) {
    if (gzip === undefined) throw new TarSplitError("tar-split: libz (libz.so.1) is missing");
    this.#gzip = gzip;
    this.#layerDir = layerDir;
    this.#treeDir = join(layerDir, LAYER_TREE_DIR);
    this.#partialPath = join(layerDir, `${TAR_SPLIT_FILE}.partial`);
    this.#bytes(MAGIC);
  }

  /** See {@linkcode ExtractRecorder.chunk}. */
  chunk(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#received += bytes.length;
    this.#classify();
  }

  /** See {@linkcode ExtractRecorder.release}. */
  release(): void {
    for (let i = 0; i < this.#pending.length; i++) {
      this.#pending[i] = this.#pending[i].slice(i === 0 ? this.#head : 0);
    }
    this.#head = 0;
  }

  /** See {@linkcode ExtractRecorder.entry}. */
  entry(bodyOffset: number, bodySize: number, kept: boolean): void {
    if (this.#unplacedBody !== undefined) {
      throw new TarSplitError("tar-split: an entry began before the last body was placed");
    }
    if (bodyOffset < this.#cursor || bodyOffset < this.#bodyEnd || bodyOffset > this.#received) {
      throw new TarSplitError(`tar-split: entry at offset ${bodyOffset} is out of order`);
    }
    if (kept && bodySize > 0) {
      this.#rawLimit = bodyOffset;
      this.#bodyEnd = bodyOffset + bodySize;
      this.#unplacedBody = bodySize;
    } else {
      // A body not kept (a symlink's, say) is raw too: classify it now, never hold it.
      this.#rawLimit = bodyOffset + bodySize;
      this.#bodyEnd = this.#rawLimit;
    }
    this.#classify();
  }

  /** See {@linkcode ExtractRecorder.bodyWritten}. */
  bodyWritten(relative: string): void {
    const size = this.#takeUnplacedBody();
    const path = encoder.encode(relative);
    this.#room(13);
    this.#stage[this.#staged] = FILE;
    this.#stageView.setFloat64(this.#staged + 1, size);
    this.#stageView.setUint32(this.#staged + 9, path.length);
    this.#staged += 13;
    this.#bytes(path);
    this.#bodyAt.set(relative, this.#bodies++);
  }

  /** See {@linkcode ExtractRecorder.keepBody}. */
  async keepBody(body: AsyncIterable<Uint8Array>): Promise<void> {
    const size = this.#takeUnplacedBody();
    const file = Deno.openSync(this.#bodyPath(this.#bodies), {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    try {
      for await (const chunk of body) writeAll(file, chunk);
    } finally {
      file.close();
    }
    this.#room(9);
    this.#stage[this.#staged] = SET_ASIDE;
    this.#stageView.setFloat64(this.#staged + 1, size);
    this.#staged += 9;
    this.#bodies++;
  }

  /** See {@linkcode ExtractRecorder.removing}. */
  removing(relative: string, isDirectory: boolean): boolean {
    if (!isDirectory) {
      const body = this.#bodyAt.get(relative);
      if (body === undefined) return false;
      this.#setAside(relative, body);
      return true;
    }
    const prefix = relative === "" ? "" : `${relative}/`;
    for (const [path, body] of [...this.#bodyAt]) {
      if (path.startsWith(prefix)) this.#setAside(path, body);
    }
    return false;
  }

  /**
   * Ends the recording after a successful extraction and writes `<layerDir>/tar-split.gz`.
   * Throws a {@linkcode TarSplitError} if the extraction did not account for the whole stream.
   */
  finish(): void {
    if (this.#unplacedBody !== undefined) {
      throw new TarSplitError("tar-split: the last body was never placed");
    }
    this.#rawLimit = Infinity;
    this.#classify();
    if (this.#cursor !== this.#received || this.#bodyEnd > this.#received) {
      throw new TarSplitError("tar-split: the stream ended inside a file body");
    }
    this.#room(17);
    this.#stage[this.#staged] = END;
    this.#stageView.setFloat64(this.#staged + 1, this.#received);
    this.#stageView.setFloat64(this.#staged + 9, this.#bodies);
    this.#staged += 17;
    this.#flush();
    if (typeof this.#gzip !== "function") {
      this.#gzip.finish((bytes) => writeAll(this.#openFile(), bytes));
    }
    this.#file?.close();
    this.#file = undefined;
    this.#done = true;
    Deno.renameSync(this.#partialPath, join(this.#layerDir, TAR_SPLIT_FILE));
  }

  /** Gives up the recording (the extraction failed): closes and removes the partial file. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    if (typeof this.#gzip !== "function") this.#gzip.close();
    this.#file?.close();
    this.#file = undefined;
    try {
      Deno.removeSync(this.#partialPath);
    } catch {
      // never written, or already gone with the layer directory
    }
  }

  #takeUnplacedBody(): number {
    const size = this.#unplacedBody;
    if (size === undefined) throw new TarSplitError("tar-split: no body was announced");
    this.#unplacedBody = undefined;
    return size;
  }

  /** Moves the file at `relative` (holding body `body`) out of the tree, keeping its bytes. */
  #setAside(relative: string, body: number): void {
    Deno.renameSync(join(this.#treeDir, relative), this.#bodyPath(body));
    this.#bodyAt.delete(relative);
  }

  #bodyPath(body: number): string {
    const dir = join(this.#layerDir, TAR_SPLIT_BODIES_DIR);
    if (!this.#bodiesDirMade) {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.#bodiesDirMade = true;
    }
    return join(dir, String(body));
  }

  /** Moves pending bytes to raw records or drops them as body bytes, as far as is known. */
  #classify(): void {
    while (this.#pending.length > 0) {
      let limit: number;
      let raw: boolean;
      if (this.#cursor < this.#rawLimit) {
        limit = this.#rawLimit;
        raw = true;
      } else if (this.#cursor < this.#bodyEnd) {
        limit = this.#bodyEnd;
        raw = false;
      } else {
        return; // not known yet: wait for the next entry (or the end)
      }
      const chunk = this.#pending[0];
      const n = Math.min(chunk.length - this.#head, limit - this.#cursor);
      if (raw) this.#addRaw(chunk.subarray(this.#head, this.#head + n));
      this.#cursor += n;
      this.#head += n;
      if (this.#head === chunk.length) {
        this.#pending.shift();
        this.#head = 0;
      }
    }
  }

  #addRaw(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += MAX_RAW_RECORD) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + MAX_RAW_RECORD));
      this.#room(5);
      this.#stage[this.#staged] = RAW;
      this.#stageView.setUint32(this.#staged + 1, part.length);
      this.#staged += 5;
      this.#bytes(part);
    }
  }

  /** Makes room for `n` (small) bytes in the stage. */
  #room(n: number): void {
    if (this.#staged + n > this.#stage.length) this.#flush();
  }

  /** Appends `bytes` to the records, flushing the stage whenever it fills. */
  #bytes(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#staged === this.#stage.length) this.#flush();
      const n = Math.min(bytes.length - at, this.#stage.length - this.#staged);
      this.#stage.set(bytes.subarray(at, at + n), this.#staged);
      this.#staged += n;
      at += n;
    }
  }

  #openFile(): Deno.FsFile {
    this.#file ??= Deno.openSync(this.#partialPath, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    return this.#file;
  }

  /** Compresses the staged records and appends them to the partial file. */
  #flush(): void {
    if (this.#staged === 0) return;
    const staged = this.#stage.subarray(0, this.#staged);
    this.#staged = 0;
    const file = this.#openFile();
    if (typeof this.#gzip === "function") writeAll(file, this.#gzip(staged));
    else this.#gzip.write(staged, (bytes) => writeAll(file, bytes));
  }
}

/** Compresses bytes into one complete gzip member (the fallback without libz). */
export type GzipMember = (bytes: Uint8Array) => Uint8Array;

/**
 * A {@linkcode TarSplitRecorder} for `<layerDir>`, gzipping through libz, or, where libz is
 * missing, through `node:zlib` (one member per flush; loaded only then: it costs memory).
 */
export async function openTarSplitRecorder(layerDir: string): Promise<TarSplitRecorder> {
  const gzip = openGzipCompressor(1);
  if (gzip !== undefined) return new TarSplitRecorder(layerDir, gzip);
  const { gzipSync } = await import("node:zlib");
  return new TarSplitRecorder(layerDir, (bytes) => gzipSync(bytes, { level: 1 }));
}

/** What {@linkcode replayTarSplit} wrote. */
export interface ReplayResult {
  /** `sha256:<hex>` of the bytes written: the layer's diff ID when all is well. */
  diffId: string;
  /** How many bytes were written. */
  size: number;
}

/**
 * Writes the layer's original tar stream, byte for byte, to `sink` (synchronously, chunk by
 * chunk; a chunk's memory is reused after the call) from `<layerDir>/tar-split.gz` and the
 * files it names, and returns its diff ID and size. Throws a {@linkcode TarSplitError} when the
 * split is missing or damaged, or a file it names is gone or has another size.
 */
export async function replayTarSplit(layerDir: string, sink: TarSink): Promise<ReplayResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(layerDir, TAR_SPLIT_FILE), { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new TarSplitError(`layer ${layerDir} has no ${TAR_SPLIT_FILE}`);
    }
    throw err;
  }
  const treeDir = join(layerDir, LAYER_TREE_DIR);
  const bodiesDir = join(layerDir, TAR_SPLIT_BODIES_DIR);
  let hasBodiesDir = false;
  try {
    hasBodiesDir = Deno.lstatSync(bodiesDir).isDirectory;
  } catch {
    hasBodiesDir = false;
  }
  const hash = createSha256();
  let size = 0;
  const emit = (bytes: Uint8Array) => {
    hash.update(bytes);
    size += bytes.length;
    sink(bytes);
  };
  const buffer = new Uint8Array(BODY_READ_BYTES);
  const records = new RecordReader(decompressedStream(fileStream(file)));
  let bodies = 0;
  try {
    const magic = await records.take(MAGIC.length);
    if (!magic || !MAGIC.every((b, i) => magic[i] === b)) throw damaged(layerDir, "bad header");
    while (true) {
      const type = await records.take(1);
      if (type === undefined) throw damaged(layerDir, "it ends without its end record");
      if (type[0] === RAW) {
        const length = await records.uint32(layerDir);
        const bytes = await records.take(length);
        if (bytes === undefined) throw damaged(layerDir, "truncated raw record");
        emit(bytes);
      } else if (type[0] === FILE || type[0] === SET_ASIDE) {
        const bodySize = await records.float64(layerDir);
        let path: string;
        if (type[0] === FILE) {
          const length = await records.uint32(layerDir);
          const bytes = await records.take(length);
          if (bytes === undefined) throw damaged(layerDir, "truncated file record");
          const relative = decoder.decode(bytes);
          const setAside = hasBodiesDir ? join(bodiesDir, String(bodies)) : undefined;
          path = setAside !== undefined && exists(setAside)
            ? setAside
            : treePath(treeDir, relative);
        } else {
          path = join(bodiesDir, String(bodies));
        }
        copyBody(path, bodySize, buffer, emit);
        bodies++;
      } else if (type[0] === END) {
        const total = await records.float64(layerDir);
        const count = await records.float64(layerDir);
        if (total !== size || count !== bodies) {
          throw damaged(layerDir, `it describes ${total} bytes and ${count} bodies, not ${size}`);
        }
        break;
      } else {
        throw damaged(layerDir, `unknown record type ${type[0]}`);
      }
    }
  } finally {
    await records.close();
  }
  return { diffId: `sha256:${hash.hex()}`, size };
}

/** The host path of a recorded tree path; a path that would leave the tree means damage. */
function treePath(treeDir: string, relative: string): string {
  const parts = relative.split("/");
  if (relative === "" || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new TarSplitError(`tar-split of ${treeDir}: bad path ${JSON.stringify(relative)}`);
  }
  return join(treeDir, relative);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the `size` bytes of the regular file at `path` to `emit`. */
function copyBody(
  path: string,
  size: number,
  buffer: Uint8Array,
  emit: (bytes: Uint8Array) => void,
): void {
  const info = (() => {
    try {
      return Deno.lstatSync(path);
    } catch {
      return undefined;
    }
  })();
  if (info === undefined || !info.isFile || info.size !== size) {
    throw new TarSplitError(
      `layer file ${path} is ${
        info === undefined ? "missing" : info.isFile ? `${info.size} bytes` : "not a regular file"
      }, the layer's tar had ${size} bytes for it`,
    );
  }
  const file = Deno.openSync(path, { read: true });
  try {
    let left = size;
    while (left > 0) {
      const n = file.readSync(buffer.subarray(0, Math.min(buffer.length, left)));
      if (n === null || n === 0) throw new TarSplitError(`layer file ${path} shrank while read`);
      emit(buffer.subarray(0, n));
      left -= n;
    }
  } finally {
    file.close();
  }
}

function damaged(layerDir: string, why: string): TarSplitError {
  return new TarSplitError(`the tar-split of layer ${layerDir} is damaged: ${why}`);
}

/** Reads fixed-size pieces from a byte stream. */
class RecordReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);
  #at = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next `n` bytes (valid until the next call), or undefined at the end of the stream. */
  async take(n: number): Promise<Uint8Array | undefined> {
    while (this.#buffer.length - this.#at < n) {
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      const rest = this.#buffer.subarray(this.#at);
      if (rest.length === 0) {
        this.#buffer = value;
      } else {
        const joined = new Uint8Array(rest.length + value.length);
        joined.set(rest);
        joined.set(value, rest.length);
        this.#buffer = joined;
      }
      this.#at = 0;
    }
    const piece = this.#buffer.subarray(this.#at, this.#at + n);
    this.#at += n;
    return piece;
  }

  async uint32(layerDir: string): Promise<number> {
    const bytes = await this.take(4);
    if (bytes === undefined) throw damaged(layerDir, "truncated record");
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  }

  async float64(layerDir: string): Promise<number> {
    const bytes = await this.take(8);
    if (bytes === undefined) throw damaged(layerDir, "truncated record");
    const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
    if (!Number.isSafeInteger(value) || value < 0) throw damaged(layerDir, "bad number");
    return value;
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
}
