/**
 * `export`: a tar stream of the container's merged root filesystem, written by our own streaming
 * writer. The rootfs is mounted for the duration when it is not mounted already, and unmounted
 * after. A file target is written beside itself and renamed into place, so a failure (a vanished
 * file, a full disk) leaves no partial file and the old file, if any, untouched.
 *
 * @example
 * ```ts
 * await exportContainer(ctr, { path: "/tmp/rootfs.tar" });
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import { isMountPoint } from "../sys/mount.ts";
import { containerLayerPaths, mountOverlay, unmountOverlay } from "../storage/overlay.ts";
import { TarWriter, writeTree } from "../storage/tar/writer.ts";
import { ContainerStateError } from "../errors.ts";
import type { Container } from "./container.ts";
import { logger } from "../log.ts";

const log = logger("container");

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
    if (mountedHere) mountOverlay(ctr.ctx.paths, ctr.id, image.layers);
    try {
      return writeTarOf(merged, target);
    } finally {
      if (mountedHere) unmountOverlay(ctr.ctx.paths, ctr.id);
      log.debug("exported container {id}", { id: ctr.id });
    }
  });
}

function writeTarOf(root: string, target: ExportTarget): number {
  if (target.writer || target.path === undefined) {
    const writer = target.writer ?? Deno.stdout;
    const tar = new TarWriter((chunk) => writeAllSync(writer, chunk));
    writeTree(root, tar, { onProgress: target.onProgress });
    tar.finish();
    return tar.bytesWritten;
  }
  const direct = !isRegularOrMissing(target.path);
  const tmpPath = direct ? target.path : join(
    dirname(target.path),
    `.${basename(target.path)}.denopod-${crypto.randomUUID().slice(0, 8)}`,
  );
  const file = Deno.openSync(tmpPath, { write: true, create: true, truncate: true, mode: 0o644 });
  try {
    const tar = new TarWriter((chunk) => writeAllSync(file, chunk));
    writeTree(root, tar, { onProgress: target.onProgress });
    tar.finish();
    file.close();
    if (!direct) Deno.renameSync(tmpPath, target.path);
    return tar.bytesWritten;
  } catch (err) {
    try {
      file.close();
    } catch {
      // already closed
    }
    if (!direct) Deno.removeSync(tmpPath);
    throw err;
  }
}
