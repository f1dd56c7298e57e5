/**
 * `save`: local images become a docker-archive or an OCI archive that `podman load` and
 * `docker load` accept. Each layer's original tar is rebuilt byte for byte from its tar-split
 * (so it hashes to the diff ID the config names; checked as it is rebuilt) into a temporary
 * file under `<root>/tmp`, then the archive is written around those files. Which images and
 * names go in follows podman: without `-m` further arguments are extra tags for the one image
 * (docker-archive only); with `-m` each argument is an image (docker-archive only, for more than
 * one). An image named by ID is saved without a name.
 *
 * @example
 * ```ts
 * const selection = selectImagesToSave(runtime, ["fixture:2"], { format: "docker-archive", multiImage: false });
 * await saveToPath("/tmp/out.tar", (sink) => writeImageArchive(runtime, selection, "docker-archive", sink));
 * ```
 * @module
 */
import { basename, dirname, join } from "../util/path.ts";
import type { RuntimeContext } from "../container/context.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import {
  type SaveImage,
  type SaveLayer,
  writeDockerArchive,
  writeOciArchive,
} from "../storage/archive/writer.ts";
import type { ImageRecord } from "../storage/images.ts";
import type { TarSink } from "../storage/tar/writer.ts";
import { IntentLog } from "../state/intents.ts";
import { crashPoint } from "../util/crash.ts";
import { nameReferenced, normaliseNewName } from "./tag.ts";

/** The archive formats `save` writes. */
export const SAVE_FORMATS = ["docker-archive", "oci-archive"] as const;
/** One of {@linkcode SAVE_FORMATS}. */
export type SaveFormat = typeof SAVE_FORMATS[number];

/** Writing the archive's file failed (the directory is missing, the disk is full...). */
export class SaveOutputError extends DenopodError {}

/** One image to save and the names it gets in the archive. */
export interface SaveSelection {
  image: ImageRecord;
  names: string[];
}

/** Options for {@linkcode selectImagesToSave}. */
export interface SelectOptions {
  format: SaveFormat;
  /** `-m`: every argument is an image (else the first is, and the rest are extra tags). */
  multiImage: boolean;
}

/** Checks a `--format` value. */
export function parseSaveFormat(value: string): SaveFormat {
  if (!(SAVE_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgError(`format value must be one of ${SAVE_FORMATS.join(" ")}`);
  }
  return value as SaveFormat;
}

/** Resolves `save`'s arguments to images and their names in the archive, as podman does. */
export function selectImagesToSave(
  ctx: RuntimeContext,
  references: string[],
  options: SelectOptions,
): SaveSelection[] {
  if (references.length === 0) throw new InvalidArgError("need at least 1 argument");
  if (options.multiImage) {
    if (references.length > 1 && options.format !== "docker-archive") {
      throw new InvalidArgError(
        `unsupported format "${options.format}" for saving multiple images (only docker-archive)`,
      );
    }
    return references.map((reference) => {
      const image = ctx.images.resolve(reference);
      const name = nameReferenced(image, reference);
      return { image, names: name === undefined ? [] : [name] };
    });
  }
  const [reference, ...extraTags] = references;
  const tags = extraTags.map(normaliseNewName);
  const image = ctx.images.resolve(reference);
  const name = nameReferenced(image, reference);
  const own = name === undefined ? [] : [name];
  // podman lists the extra tags first; an OCI archive carries one name, the image's own.
  const names = options.format === "docker-archive" ? [...tags, ...own] : own;
  return [{ image, names: [...new Set(names)] }];
}

/** Options for {@linkcode writeImageArchive}. */
export interface WriteImageArchiveOptions {
  /** Called with the bytes done so far: layers rebuilt, then archive written. */
  onProgress?: (bytes: number) => void;
  /**
   * Called with each layer's ID (diff ID hex) as its rebuild starts, and with none once every
   * layer is rebuilt (the archive is written then): a bar per layer.
   */
  onLayer?: (id?: string) => void;
}

/**
 * Writes the selected images as a `format` archive to `sink`. Layers are rebuilt from their
 * tar-splits into a scratch directory under `<root>/tmp` (removed afterwards); nothing reaches
 * `sink` before every layer has been rebuilt and checked. Throws `LayerTarError` for a layer
 * that cannot be reproduced.
 */
export async function writeImageArchive(
  ctx: RuntimeContext,
  selection: SaveSelection[],
  format: SaveFormat,
  sink: TarSink,
  options: WriteImageArchiveOptions = {},
): Promise<void> {
  // A claim's scratch directory: removed after a kill -9 by the next command.
  const claim = ctx.layers.claim();
  const work = claim.dir;
  // Progress: the bytes rebuilt, then the archive's bytes once they pass that figure.
  let rebuilt = 0;
  let written = 0;
  const progress = (n: number) => options.onProgress?.(rebuilt += n);
  try {
    const layers = new Map<string, SaveLayer>();
    for (const { image } of selection) {
      for (const id of image.layers) {
        if (layers.has(id)) continue;
        options.onLayer?.(id);
        layers.set(id, await rebuildLayer(ctx, id, join(work, `${id}.tar`), progress));
      }
    }
    options.onLayer?.();
    const encoder = new TextEncoder();
    const images: SaveImage[] = selection.map(({ image, names }) => ({
      names,
      configBytes: encoder.encode(image.configJson),
      layers: image.layers.map((id) => layers.get(id)!),
    }));
    const counting: TarSink = (chunk) => {
      sink(chunk);
      written += chunk.length;
      if (written > rebuilt) options.onProgress?.(written);
    };
    // The layer files were hashed as they were rebuilt; no need to read them twice.
    const write = format === "docker-archive" ? writeDockerArchive : writeOciArchive;
    write(images, counting, { verifyLayers: false });
  } finally {
    await ctx.layers.releaseClaim(claim, { dropCreated: false });
  }
}

/** Rebuilds layer `id`'s tar into `path` (checked against its diff ID) and describes it. */
async function rebuildLayer(
  ctx: RuntimeContext,
  id: string,
  path: string,
  progress: (n: number) => void,
): Promise<SaveLayer> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    const { diffId, size } = await ctx.layers.writeLayerTar(id, (chunk) => {
      writeAll(file, chunk);
      progress(chunk.length);
    });
    return { diffId, tarPath: path, size };
  } finally {
    file.close();
  }
}

/**
 * Runs `write` with a sink into the file at `path`. A regular file (or a new one) is written as a
 * temporary file beside it and renamed over it only when `write` succeeded, so a failure leaves
 * no partial file; anything else that exists there (`/dev/null`, a FIFO) is written directly.
 */
export async function saveToPath(
  path: string,
  write: (sink: TarSink) => Promise<void>,
  ctx?: RuntimeContext,
): Promise<void> {
  let existing: Deno.FileInfo | undefined;
  try {
    existing = await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw outputError(path, err);
  }
  if (existing !== undefined && !existing.isFile) {
    if (existing.isDirectory) throw new SaveOutputError(`opening file "${path}": is a directory`);
    const file = await openOutput(path, { write: true });
    try {
      await write((chunk) => writeAll(file, chunk));
    } finally {
      file.close();
    }
    return;
  }
  const temp = join(
    dirname(path),
    `.${basename(path)}.denopod-${crypto.randomUUID().slice(0, 8)}`,
  );
  // "writing PATH.tmp": a kill -9 leaves it, and the next command deletes the partial file
  const intents = ctx && new IntentLog(ctx.db);
  const intent = intents?.record("write-output", temp, { path });
  let file: Deno.FsFile;
  try {
    file = await openOutput(temp, { write: true, createNew: true, mode: 0o644 }, path);
  } catch (err) {
    intents?.clear(intent);
    throw err;
  }
  let done = false;
  try {
    try {
      await write((chunk) => writeAll(file, chunk));
    } catch (err) {
      if (err instanceof DenopodError) throw err;
      throw new SaveOutputError(`writing "${path}": ${messageOf(err)}`, { cause: err });
    } finally {
      file.close();
    }
    if (existing !== undefined) await Deno.chmod(temp, existing.mode! & 0o7777).catch(() => {});
    crashPoint("save:written");
    await Deno.rename(temp, path);
    done = true;
  } finally {
    if (!done) await Deno.remove(temp).catch(() => {});
    intents?.clear(intent);
  }
}

async function openOutput(
  path: string,
  options: Deno.OpenOptions,
  shown = path,
): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, options);
  } catch (err) {
    throw outputError(shown, err);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function outputError(path: string, err: unknown): SaveOutputError {
  const why = err instanceof Deno.errors.NotFound
    ? "no such file or directory"
    : err instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : messageOf(err);
  return new SaveOutputError(`opening file "${path}": ${why}`, { cause: err });
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
}
