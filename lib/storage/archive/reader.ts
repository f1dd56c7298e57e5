/**
 * Opens an image archive for `denopod load`: a docker-archive or an OCI archive, as a plain tar
 * file or compressed as a whole (gzip, zstd). The outer tar is indexed once (headers only), then
 * `manifest.json` / `index.json`, manifests and configs are read and checked (each capped at
 * 8 MiB), and every layer is offered as a stream read by offset from the file.
 *
 * The format is chosen as `podman load` chooses it (see `readImages`); unlike podman 4, an OCI
 * archive may hold several images.
 *
 * @example
 * ```ts
 * const archive = await openImageArchive("/tmp/fixture.tar");
 * try {
 *   for (const image of archive.images) {
 *     for (const layer of image.layers) {
 *       // extractLayer (../tar/extract.ts) decompresses and reads the stream to its end, so an
 *       // OCI blob digest mismatch rejects it; compare its diffId with layer.diffId.
 *       const { diffId } = await extractLayer(layer.open(), diffDir);
 *     }
 *   }
 * } finally {
 *   archive.close();
 * }
 * ```
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { decompressedChunks, sniffCompression } from "../tar/decompress.ts";
import type { SpaceGuard } from "../tar/disk_reserve.ts";
import { type ChunkSource, fileChunks } from "../tar/source.ts";
import { readDockerArchive } from "./docker_archive.ts";
import { countOciIndexEntries, readOciArchive } from "./oci_archive.ts";
import { indexTarFile, type TarIndex } from "./outer_tar.ts";
import type { ArchiveImage, ImageArchive } from "./types.ts";

export type { ArchiveImage, ArchiveLayer, ImageArchive } from "./types.ts";
export type { ImageConfig } from "./image_config.ts";

/** Options for {@linkcode openImageArchive}. */
export interface OpenImageArchiveOptions {
  /** Directory for the decompressed copy of a compressed archive (default: the system's). */
  tempDir?: string;
  /** Stops writing the decompressed copy before the disk's free-space reserve is used. */
  guard?: SpaceGuard;
}

/**
 * Opens the image archive at `path` and reads its images. A compressed archive is first
 * decompressed to a temporary file (removed by `close()`, or at once if opening fails).
 * Throws an ArchiveError with a one-line message naming what is wrong: not a tar, truncated,
 * neither format, bad JSON, a digest of the wrong form, a missing blob, a config whose sha256
 * does not match its name, a layer count that differs from the config's diff IDs, and so on.
 */
export async function openImageArchive(
  path: string,
  options: OpenImageArchiveOptions = {},
): Promise<ImageArchive> {
  const compressed = sniffCompression(readHead(path)) !== "none";
  let tarPath = path;
  let tempPath: string | undefined;
  if (compressed) {
    tempPath = await Deno.makeTempFile({
      dir: options.tempDir,
      prefix: "denopod-archive-",
      suffix: ".tar",
    });
    tarPath = tempPath;
  }
  const removeTemp = () => {
    if (tempPath === undefined) return;
    try {
      Deno.removeSync(tempPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    tempPath = undefined;
  };
  try {
    if (compressed) {
      await writeChunksToFile(decompressedChunks(fileChunks(await Deno.open(path))), tarPath, {
        guard: options.guard,
      });
    }
    const index = await indexTarFile(tarPath);
    const { format, images } = await readImages(index);
    return { format, images, close: removeTemp };
  } catch (error) {
    removeTemp();
    throw error;
  }
}

/**
 * Reads the images in whichever format the archive is, choosing as `podman load` does: an OCI
 * layout (`index.json` + `oci-layout`) with a single `index.json` entry is read as OCI first
 * (Docker 25+ writes both layouts; its `io.containerd.image.name` annotation then names the
 * image), falling back to `manifest.json` if that fails; otherwise `manifest.json` makes it a
 * docker-archive and `index.json` an OCI archive of any number of images.
 */
async function readImages(
  index: TarIndex,
): Promise<{ format: ImageArchive["format"]; images: ArchiveImage[] }> {
  const hasDockerManifest = index.has("manifest.json");
  const hasOciLayout = index.has("index.json") && index.has("oci-layout");
  if (hasOciLayout && hasDockerManifest) {
    let ociError: unknown;
    try {
      if (await countOciIndexEntries(index) === 1) {
        return { format: "oci-archive", images: await readOciArchive(index) };
      }
    } catch (error) {
      if (!(error instanceof ArchiveError)) throw error;
      ociError = error;
    }
    try {
      return { format: "docker-archive", images: await readDockerArchive(index) };
    } catch (error) {
      if (ociError === undefined || !(error instanceof ArchiveError)) throw error;
      throw new ArchiveError(
        `${(ociError as ArchiveError).message}; as docker-archive: ${error.message}`,
      );
    }
  }
  if (hasDockerManifest) {
    return { format: "docker-archive", images: await readDockerArchive(index) };
  }
  if (index.has("index.json")) {
    return { format: "oci-archive", images: await readOciArchive(index) };
  }
  throw new ArchiveError(
    "archive: manifest.json missing (and no index.json): neither a docker-archive nor an OCI archive",
  );
}

/**
 * Writes `stream` (e.g. `Deno.stdin.readable`) to a new temporary file in `dir` and returns its
 * path, so that a piped archive can be read by offset. A gzip- or zstd-compressed stream is
 * decompressed on the way (the file is a plain tar). On any error the file is removed and the
 * error rethrown (corrupt compressed data as an ArchiveError). The caller removes the file.
 */
export async function spoolToFile(
  stream: ReadableStream<Uint8Array> | ChunkSource,
  dir: string,
  options: { guard?: SpaceGuard } = {},
): Promise<string> {
  const path = await Deno.makeTempFile({ dir, prefix: "denopod-load-", suffix: ".tar" });
  try {
    await writeChunksToFile(decompressedChunks(stream), path, options);
    return path;
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw error;
  }
}

/** The first bytes of the file at `path` (enough to recognise a compression format). */
function readHead(path: string): Uint8Array {
  const file = Deno.openSync(path, { read: true }); // synchronous: see outer_tar.ts readAt
  try {
    const head = new Uint8Array(8);
    let filled = 0;
    while (filled < head.length) {
      const n = file.readSync(head.subarray(filled));
      if (n === null || n === 0) break;
      filled += n;
    }
    return head.subarray(0, filled);
  } finally {
    file.close();
  }
}

/**
 * Writes every chunk of `source` to the (existing) file at `path`, replacing its content, telling
 * `guard` each write. A failure cancels `source`.
 */
async function writeChunksToFile(
  source: ChunkSource,
  path: string,
  options: { guard?: SpaceGuard },
): Promise<void> {
  const file = Deno.openSync(path, { write: true, truncate: true });
  try {
    while (true) {
      const chunk = await source.read();
      if (chunk === null) break;
      options.guard?.wrote(chunk.length);
      for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
    }
  } catch (error) {
    await source.cancel(error);
    throw error;
  } finally {
    file.close();
  }
}
