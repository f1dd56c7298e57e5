/**
 * `export`: a tar stream of the container's merged root filesystem, written by our own streaming
 * writer. The rootfs is mounted for the duration when it is not mounted already, and unmounted
 * after. A file target is written beside itself and renamed into place, so a failure (a vanished
 * file, a full disk) leaves no partial file and the old file, if any, untouched. The file is
 * opened before anything is mounted, so a bad path fails at once with nothing touched.
 *
 * @example
 * ```ts
 * await exportContainer(ctr, { path: "/tmp/rootfs.tar" });
 * ```
 * @module
 */
import { basename, dirname, join } from "../util/path.ts";
import { isMountPoint } from "../sys/mount.ts";
import { containerLayerPaths, mountOverlay, unmountOverlay } from "../storage/overlay.ts";
import { TarWriter } from "../storage/tar/writer.ts";
import { writeTree } from "../storage/tar/tree.ts";
import { ContainerStateError, DenopodError } from "../errors.ts";
import type { Container } from "./container.ts";
import { logger } from "../log.ts";
import { IntentLog } from "../state/intents.ts";
import { crashPoint } from "../util/crash.ts";

const log = logger("container");

/** The export's output file could not be opened or written (a missing directory, a full disk). */
export class ExportWriteError extends DenopodError {}

/** The OS's reason in a Deno I/O error, lower-cased as Go prints it: "no such file or directory". */
function osReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const reason = message.replace(/ \(os error \d+\).*$/s, "");
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

/** Where `export` writes: a file path, or a synchronous writer (stdout). */
export interface ExportTarget {
  path?: string;
  writer?: { writeSync(p: Uint8Array): number };
  /** Called with the number of bytes written so far. */
  onProgress?: (bytes: number) => void;
}

function writeAllSync(writer: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writer.writeSync(bytes.subarray(offset));
}

function isRegularOrMissing(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return true;
  }
}

/** Writes the merged rootfs of `ctr` as a tar stream; see the module doc. Returns bytes written. */
export async function exportContainer(ctr: Container, target: ExportTarget): Promise<number> {
  return await ctr.withLock(() => {
    const image = ctr.ctx.images.get(ctr.config.imageId);
    if (!image) throw new ContainerStateError(`container ${ctr.id} has no image to export from`);
    const merged = containerLayerPaths(ctr.ctx.paths, ctr.id).merged;
    const mountedHere = !isMountPoint(merged);
    const tmpPath = tempPathFor(target);
    // "exporting to TMP, mounting": a kill -9 leaves it, and the next command deletes the partial
    // file and unmounts (state never recorded this mount)
    const intents = new IntentLog(ctr.ctx.db);
    const intent = tmpPath === "" && !mountedHere
      ? undefined
      : intents.record("export", ctr.id, { tmp: tmpPath, unmount: mountedHere });
    // The output is opened before anything is mounted: a bad path fails with nothing touched.
    let sink: Sink;
    try {
      sink = openSink(target, tmpPath);
    } catch (err) {
      intents.clear(intent);
      throw err;
    }
    try {
      if (mountedHere) {
        mountOverlay(ctr.ctx.paths, ctr.id, image.layers, { volatile: ctr.config.autoRemove });
      }
      crashPoint("export:mounted");
      let bytes: number;
      try {
        const tar = new TarWriter(sink.write);
        writeTree(merged, tar, { onProgress: target.onProgress });
        tar.finish();
        bytes = tar.bytesWritten;
        crashPoint("export:written");
      } finally {
        if (mountedHere) unmountOverlay(ctr.ctx.paths, ctr.id);
      }
      sink.commit();
      intents.clear(intent);
      log.debug("exported container {id}", { id: ctr.id });
      return bytes;
    } catch (err) {
      sink.discard();
      intents.clear(intent);
      throw err;
    }
  });
}

/** Where the tar bytes go: written, then committed (renamed into place) or discarded. */
interface Sink {
  write(chunk: Uint8Array): void;
  commit(): void;
  discard(): void;
}

/** The temporary file a file target is written to ("" for stdout, a writer, or a device). */
function tempPathFor(target: ExportTarget): string {
  if (target.writer || target.path === undefined || !isRegularOrMissing(target.path)) return "";
  const path = target.path;
  return join(dirname(path), `.${basename(path)}.denopod-${crypto.randomUUID().slice(0, 8)}`);
}

/**
 * Opens the export's output: stdout or the given writer as is, a device or FIFO directly, or a
 * file written as `tmp` beside itself.
 */
function openSink(target: ExportTarget, tmp: string): Sink {
  if (target.writer || target.path === undefined) {
    const writer = target.writer ?? Deno.stdout;
    return { write: (chunk) => writeAllSync(writer, chunk), commit() {}, discard() {} };
  }
  const path = target.path;
  const direct = tmp === "";
  const tmpPath = direct ? path : tmp;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(tmpPath, { write: true, create: true, truncate: true, mode: 0o644 });
  } catch (err) {
    throw new ExportWriteError(`open ${path}: ${osReason(err)}`, { cause: err });
  }
  let open = true;
  const close = () => {
    if (open) file.close();
    open = false;
  };
  return {
    write(chunk) {
      try {
        writeAllSync(file, chunk);
      } catch (err) {
        throw new ExportWriteError(`write ${path}: ${osReason(err)}`, { cause: err });
      }
    },
    commit() {
      close();
      if (direct) return;
      // Unlink the old file first: renaming over an existing file makes ext4 (auto_da_alloc)
      // flush the whole new file to disk before rename returns, which doubled export's time.
      try {
        Deno.removeSync(path);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      Deno.renameSync(tmpPath, path);
    },
    discard() {
      try {
        close();
      } catch {
        // closing a file that failed to write: nothing more to do
      }
      if (direct) return;
      try {
        Deno.removeSync(tmpPath);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    },
  };
}
