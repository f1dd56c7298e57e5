/**
 * `import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image. The layer
 * is extracted with the hardened extractor and measured once; the config records the changes,
 * the diff ID and a history entry like podman's. Nothing stays behind when the tarball is bad.
 *
 * @example
 * ```ts
 * const image = await importImage(runtime, file.readable, { reference: "busybox", changes: [] });
 * ```
 * @module
 */
import { imageEvent, withEvents } from "../events/journal.ts";
import type { RuntimeContext } from "../container/context.ts";
import type { ImageRecord } from "../storage/images.ts";
import { normaliseImageName } from "../storage/images.ts";
import type { ImageConfig } from "../storage/archive/image_config.ts";
import { applyChanges } from "./changes.ts";
import { sha256Hex } from "../sys/sha256.ts";
import { SpaceGuard } from "../storage/tar/disk_reserve.ts";
import type { ChunkSource } from "../storage/tar/source.ts";

/** Options for {@linkcode importImage}. */
export interface ImportOptions {
  /** `NAME[:TAG]` to give the image; none leaves it untagged. */
  reference?: string;
  /** `--change` instructions. */
  changes: string[];
  /** `--message`: the history comment. */
  message?: string;
  /** Where the tarball comes from (a path, or `-` for stdin), for messages. */
  sourceName?: string;
}

/** Imports a rootfs tarball stream as a new image and returns it. */
export async function importImage(
  ctx: RuntimeContext,
  source: ReadableStream<Uint8Array> | ChunkSource,
  options: ImportOptions,
): Promise<ImageRecord> {
  const name = options.reference === undefined ? undefined : normaliseImageName(options.reference);
  const runtimeConfig = applyChanges({}, options.changes);
  const from = options.sourceName === undefined || options.sourceName === "-"
    ? "stdin"
    : options.sourceName;
  const guard = SpaceGuard.forRoot(ctx.paths.root, `layer of ${from}`);
  const layer = await ctx.layers.commit(source, { guard });
  const created = new Date().toISOString();
  const config: ImageConfig = {
    created,
    architecture: "amd64",
    os: "linux",
    config: runtimeConfig,
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{
      created,
      created_by: `/bin/sh -c #(nop) ADD file:${layer.id} in / `,
      // podman's comment when none is given
      comment: options.message ?? "imported from tarball",
    }],
  };
  const configJson = JSON.stringify(config);
  const id = sha256Hex(new TextEncoder().encode(configJson));
  return withEvents(
    ctx.db,
    () => ctx.images.put(id, configJson, [layer.id], created, name ? [name] : []),
    (image) => [imageEvent("import", image.id, name ?? "")],
  );
}
