/**
 * `load`: the images of a docker-archive or OCI archive (as `podman save` / `docker save` write
 * them; plain, gzip or zstd, layers likewise) become local images.
 *
 * Every layer not present yet (found by diff ID) is extracted by the hardened extractor into a
 * new layer, its diff ID checked against the config's, and its tar-split kept for `save`. Only
 * when every layer is in are the images registered, in one transaction, with their configs
 * byte for byte as in the archive. A failure leaves nothing registered and drops the layers
 * this load created; a kill -9 leaves an incomplete layer and a claim (with the scratch files:
 * a spooled stdin, a decompressed archive) that the next command removes (see `LayerClaim`),
 * never an image pointing at a half layer.
 *
 * @example
 * ```ts
 * const { loaded } = await loadImageArchive(runtime, "fixture.tar");
 * // loaded: ["localhost/fixture:2"]
 * ```
 * @module
 */
import { imageEvent, recordEvent } from "../events/journal.ts";
import { crashPoint } from "../util/crash.ts";
import type { RuntimeContext } from "../container/context.ts";
import { ArchiveError } from "../errors.ts";
import { openImageArchive, spoolToFile } from "../storage/archive/reader.ts";
import type { ArchiveImage, ArchiveLayer } from "../storage/archive/reader.ts";
import { sha256Hex } from "../storage/archive/digest.ts";
import type { ImageRecord } from "../storage/images.ts";
import type { LayerClaim } from "../storage/layers.ts";
import { SpaceGuard } from "../storage/tar/disk_reserve.ts";
import type { ChunkSource } from "../storage/tar/source.ts";
import { logger } from "../log.ts";
import { releaseCleanCodePages } from "../sys/resident.ts";

const log = logger("load");

/** Options for {@linkcode loadImageArchive}. */
export interface LoadOptions {
  /** Told of each step, image by image, for podman's progress lines (`LoadEvent`). */
  onEvent?: (event: LoadEvent) => void;
}

/**
 * A load's steps, image by image in the archive's order (podman's progress lines): an image
 * starts; each of its layers, bottom first — `digest` as the archive stores it (the blob digest,
 * else the diff ID), `size` its bytes in the archive, `present` when nothing is read (the store
 * or this load has it already) — with the bytes read so far while it is extracted, then its
 * end; then the image's config (its ID).
 */
export type LoadEvent =
  | { kind: "image"; id: string }
  | { kind: "layer"; digest: string; size: number; present: boolean }
  | { kind: "bytes"; bytes: number }
  | { kind: "layer-done" }
  | { kind: "config"; id: string };

/** What a load registered. */
export interface LoadResult {
  /** What podman prints after `Loaded image: `: each image's names, or `sha256:<id>`. */
  loaded: string[];
  /** The images as stored, in the archive's order. */
  images: ImageRecord[];
}

/**
 * Loads every image of the archive file at `path` (see the module doc). Throws a one-line
 * DenopodError (mostly ArchiveError) on a bad archive, leaving nothing of it behind.
 */
export function loadImageArchive(
  ctx: RuntimeContext,
  path: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  return withClaim(ctx, (claim) => loadClaimed(ctx, path, claim, options));
}

/**
 * Loads an archive arriving on a stream (stdin): it is spooled (decompressed on the way) to a
 * file in the load's scratch directory under `<root>/tmp` first, and removed with it.
 */
export function loadImageStream(
  ctx: RuntimeContext,
  stream: ReadableStream<Uint8Array> | ChunkSource,
  options: LoadOptions = {},
): Promise<LoadResult> {
  return withClaim(ctx, async (claim) => {
    const guard = SpaceGuard.forRoot(ctx.paths.root, "the archive read from stdin");
    const spooled = await spoolToFile(stream, claim.dir, { guard });
    return await loadClaimed(ctx, spooled, claim, options);
  });
}

/** Runs `fn` under a new layer claim; a failure drops the layers it created. */
async function withClaim<T>(
  ctx: RuntimeContext,
  fn: (claim: LayerClaim) => Promise<T>,
): Promise<T> {
  const claim = ctx.layers.claim();
  let succeeded = false;
  try {
    const result = await fn(claim);
    succeeded = true;
    return result;
  } finally {
    await ctx.layers.releaseClaim(claim, { dropCreated: !succeeded });
  }
}

async function loadClaimed(
  ctx: RuntimeContext,
  path: string,
  claim: LayerClaim,
  options: LoadOptions,
): Promise<LoadResult> {
  releaseCleanCodePages(); // the start-up's code (command table, runtime) is not run again
  const archive = await openImageArchive(path, {
    tempDir: claim.dir,
    guard: SpaceGuard.forRoot(ctx.paths.root, `the decompressed copy of ${path}`),
  });
  try {
    if (archive.images.length === 0) throw new ArchiveError("archive: it holds no image");
    const configs = archive.images.map(configText);
    const layerIds = await commitLayers(ctx, archive.images, claim, options);
    crashPoint("load:layers");
    const images = ctx.db.transaction(() =>
      archive.images.map((image, i) => {
        const ids = image.layers.map((layer) => layerIds.get(layer.diffId)!);
        for (const id of ids) {
          if (ctx.layers.get(id) === undefined) {
            throw new ArchiveError(`layer sha256:${id} was removed while the load ran; try again`);
          }
        }
        const created = image.config.created ?? new Date().toISOString();
        recordEvent(ctx.db, imageEvent("load", image.id, image.names[0] ?? ""));
        return ctx.images.put(image.id, configs[i], ids, created, [...image.names]);
      })
    );
    const loaded = archive.images.flatMap((image) =>
      image.names.length > 0 ? image.names : [`sha256:${image.id}`]
    );
    log.debug("loaded {n} images from {path}", { n: images.length, path });
    return { loaded, images };
  } finally {
    archive.close();
  }
}

/** The config bytes as text, refusing bytes that would not come back the same (so not the ID). */
function configText(image: ArchiveImage): string {
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(image.configBytes);
  } catch {
    text = undefined;
  }
  if (text === undefined || sha256Hex(new TextEncoder().encode(text)) !== image.id) {
    throw new ArchiveError(`archive: config of image sha256:${image.id} is not UTF-8 text`);
  }
  return text;
}

/**
 * Commits the layers not present yet, each once, noting them in `claim` first; returns diff ID →
 * layer ID for every layer of every image.
 */
async function commitLayers(
  ctx: RuntimeContext,
  images: readonly ArchiveImage[],
  claim: LayerClaim,
  options: LoadOptions,
): Promise<Map<string, string>> {
  const layerIds = new Map<string, string>();
  const pending = new Set<string>(); // diff IDs this load extracts
  for (const image of images) {
    for (const layer of image.layers) {
      if (layerIds.has(layer.diffId)) continue;
      const id = layer.diffId.slice("sha256:".length);
      layerIds.set(layer.diffId, id);
      claim.uses(id); // noted before the look-up, so no abandoned claim's cleanup drops it
      if (ctx.layers.byDiffId(layer.diffId) === undefined) pending.add(layer.diffId);
    }
  }
  const emit = options.onEvent ?? (() => {});
  for (const image of images) {
    emit({ kind: "image", id: image.id });
    for (const layer of image.layers) {
      const present = !pending.delete(layer.diffId);
      const digest = layer.blobDigest ?? layer.diffId;
      emit({ kind: "layer", digest, size: layer.size, present });
      if (!present) await commitLayer(ctx, layer, claim, emit);
      emit({ kind: "layer-done" });
    }
    emit({ kind: "config", id: image.id });
  }
  return layerIds;
}

/** Extracts one layer of the archive into the store, noting it in `claim` first. */
async function commitLayer(
  ctx: RuntimeContext,
  layer: ArchiveLayer,
  claim: LayerClaim,
  emit: (event: LoadEvent) => void,
): Promise<void> {
  claim.creates(layer.diffId.slice("sha256:".length));
  let done = 0;
  const source = counted(layer.chunks(), (n) => emit({ kind: "bytes", bytes: done += n }));
  const guard = SpaceGuard.forRoot(ctx.paths.root, `layer ${layer.diffId}`);
  try {
    await ctx.layers.commit(source, { expectedDiffId: layer.diffId, guard });
  } catch (err) {
    // A tampered blob often breaks the tar before its digest is checked at its end: the
    // digest mismatch is the error to report then.
    if (err instanceof ArchiveError && layer.blobDigest !== undefined) {
      await readAll(layer.chunks());
    }
    throw err;
  }
}

/** Reads `source` to its end (so that a digest check at its end runs). */
async function readAll(source: ChunkSource): Promise<void> {
  while ((await source.read()) !== null) { /* discard */ }
}

/** Passes `source` through, telling `onBytes` the size of every chunk. */
function counted(source: ChunkSource, onBytes: (n: number) => void): ChunkSource {
  return {
    async read() {
      const chunk = await source.read();
      if (chunk !== null) onBytes(chunk.length);
      return chunk;
    },
    cancel: (reason) => source.cancel(reason),
  };
}
