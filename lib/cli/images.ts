/**
 * Image commands: `import`, `images`, `rmi` (and `image` aliases). Thin: parse flags, load and
 * call the library, print.
 *
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { DenopodError, ImageInUseError, InvalidArgError, NoSuchImageError } from "../errors.ts";
import type { ChunkSource } from "../storage/tar/source.ts";
import { println, withRuntime } from "./common.ts";
import type { Invocation } from "./table/spec.ts";

const IMAGE_HEADERS: Record<string, string> = {
  Repository: "REPOSITORY",
  Tag: "TAG",
  ID: "IMAGE ID",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Digest: "DIGEST",
  Containers: "CONTAINERS",
};

const IMAGES_DEFAULT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_DIGESTS =
  "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

/** Opens the import source: a file path, or `-` for stdin; with its size when it is a file. */
async function openSource(path: string): Promise<{ source: ChunkSource; size?: number }> {
  const { fileChunks, readerChunks } = await import("../storage/tar/source.ts");
  if (path === "-") return { source: readerChunks(Deno.stdin) };
  if (/^[a-z]+:\/\//i.test(path)) {
    throw new InvalidArgError(
      `cannot import from ${path}: denopod reads only local files and stdin`,
    );
  }
  try {
    // synchronous: an asynchronous call would start Deno's thread pool (resident memory)
    const file = Deno.openSync(path, { read: true });
    const info = file.statSync();
    if (!info.isFile) {
      file.close();
      throw new InvalidArgError(`import source ${path} is not a regular file`);
    }
    return { source: fileChunks(file), size: info.size };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InvalidArgError(`cannot import ${path}: no such file`);
    }
    throw err;
  }
}

/**
 * `import FILE [REFERENCE]`: prints the new image's ID, after podman's steps on stderr (a bar
 * while the tarball is read, on a terminal) unless `-q`.
 */
export async function importTarball(
  this: Invocation,
  file: string,
  reference: string | undefined,
  flags: { change: string[]; message?: string; quiet?: boolean },
) {
  const { importImage } = await import("../image/import.ts");
  const { copyProgress } = await import("./progress.ts");
  await withRuntime(this, async (runtime) => {
    const { source, size } = await openSource(file);
    const progress = copyProgress({ quiet: flags.quiet });
    progress.line("Getting image source signatures");
    // podman names the blob before reading it; its digest is known here only at the end
    const blob = progress.copy("blob", undefined, size);
    let read = 0;
    const counted: ChunkSource = {
      async read() {
        const chunk = await source.read();
        if (chunk !== null) blob.update(read += chunk.length);
        return chunk;
      },
      cancel: (reason) => source.cancel(reason),
    };
    const image = await importImage(runtime, counted, {
      reference,
      changes: flags.change,
      message: flags.message,
      sourceName: file,
    });
    blob.done({ digest: `sha256:${image.layers[0]}` });
    progress.copy("config", `sha256:${image.id}`).done();
    progress.line("Writing manifest to image destination");
    progress.line("Storing signatures");
    progress.flush();
    println(`sha256:${image.id}`);
  });
}

/** `images` flags. */
export interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  trunc?: boolean;
  format?: string;
  digests?: boolean;
  filter: string[];
  noheading?: boolean;
  sort: string;
}

/** `images [REFERENCE]`: lists images. */
export async function images(this: Invocation, reference: string | undefined, flags: ImagesFlags) {
  const { printRows } = await import("./output.ts");
  const { IMAGES_TEMPLATE } = await import("./template_contexts.ts");
  await withRuntime(this, async (runtime) => {
    const all = runtime.images.list();
    const table = flags.digests ? IMAGES_DIGESTS : IMAGES_DEFAULT;
    const noHeading = flags.noheading === true;
    if (
      all.length === 0 && reference === undefined && flags.filter.length === 0 &&
      flags.sort === "created"
    ) {
      // no image and nothing to check: the listing's code is not needed
      if (flags.quiet) return;
      if (flags.format === "json") return println("[]");
      return await printRows([], flags.format, table, IMAGE_HEADERS, noHeading, IMAGES_TEMPLATE);
    }
    const { IMAGE_SORT_KEYS, imageFilter, imageJson, imageListRows, imageReport } = await import(
      "../image/list.ts"
    );
    const now = clockNow();
    if (!(IMAGE_SORT_KEYS as readonly string[]).includes(flags.sort)) {
      throw new InvalidArgError(
        `"${flags.sort}" is not a valid field for sorting. Choose from: size, tag, created, id, repository`,
      );
    }
    // `images REPO` is a reference filter, as in podman
    const specs = reference === undefined
      ? flags.filter
      : [...flags.filter, `reference=${reference}`];
    const keep = imageFilter(runtime, specs, now);
    const images = all.filter(keep);
    const rows = imageListRows(images, flags.sort);
    if (flags.quiet) {
      const seen = new Set<string>();
      for (const { image } of rows) {
        const id = flags.trunc === false ? `sha256:${image.id}` : image.id.slice(0, 12);
        if (!seen.has(id)) println(id);
        seen.add(id);
      }
      return;
    }
    if (flags.format === "json") {
      println(JSON.stringify(rows.map((row) => imageJson(runtime, row)), null, 4));
      return;
    }
    const reports = rows.map((row) =>
      imageReport(runtime, row, { noTrunc: flags.trunc === false, now })
    );
    await printRows(reports, flags.format, table, IMAGE_HEADERS, noHeading, IMAGES_TEMPLATE);
  }, { light: true });
}

/** podman-rmi(1) EXIT STATUS: 1 no such image, 2 the image is in use. */
function rmiExitCode(err: DenopodError): number | undefined {
  if (err instanceof NoSuchImageError) return 1;
  if (err instanceof ImageInUseError) return 2;
  return undefined;
}

/** `rmi IMAGE...`. */
export async function rmi(
  this: Invocation,
  references: string[],
  flags: { force?: boolean; all?: boolean; ignore?: boolean },
) {
  const { removeImage } = await import("../image/remove.ts");
  const { removeContainer } = await import("../container/remove.ts");
  const { forEachTarget } = await import("./containers.ts");
  await withRuntime(this, async (runtime) => {
    const targets = flags.all ? runtime.images.list().map((i) => i.id) : references;
    if (targets.length === 0 && !flags.all) {
      throw new InvalidArgError("image name or ID must be specified");
    }
    await forEachTarget(targets, async (reference) => {
      // --ignore: a missing image is no error (podman)
      if (flags.ignore && !runtime.images.find(reference)) return;
      const result = await removeImage(runtime, reference, {
        force: flags.force === true,
        removeContainers: async (ids) => {
          for (const id of ids) {
            await removeContainer(runtime.lookupContainer(id), { force: true });
          }
        },
      });
      for (const name of result.untagged) println(`Untagged: ${name}`);
      if (result.deleted) println(`Deleted: ${result.deleted}`);
    }, rmiExitCode);
  });
}
