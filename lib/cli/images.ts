/**
 * Image commands: `import`, `images`, `rmi` (and `image` aliases). Thin: parse flags, load and
 * call the library, print.
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import type { Command } from "@commander-js/extra-typings";
import { InvalidArgError } from "../errors.ts";
import { collect, println, withRuntime } from "./common.ts";
import { forEachTarget } from "./containers.ts";

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

/** Opens the import source: a file path, or `-` for stdin. */
async function openSource(path: string): Promise<ReadableStream<Uint8Array>> {
  if (path === "-") return Deno.stdin.readable;
  if (/^[a-z]+:\/\//i.test(path)) {
    throw new InvalidArgError(
      `cannot import from ${path}: denopod reads only local files and stdin`,
    );
  }
  try {
    const file = await Deno.open(path, { read: true });
    if (!(await file.stat()).isFile) {
      file.close();
      throw new InvalidArgError(`import source ${path} is not a regular file`);
    }
    return file.readable;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InvalidArgError(`cannot import ${path}: no such file`);
    }
    throw err;
  }
}

/** Registers the image commands on `program`. */
export function registerImageCommands(program: Command): void {
  program.command("import").description("import a rootfs tarball (plain, gzip or zstd) as an image")
    .argument("<file>", "path of the tarball, or - for stdin")
    .argument("[reference]", "NAME[:TAG] for the new image")
    .option(
      "-c, --change <instruction>",
      "apply a Containerfile instruction (CMD, ENV, ...)",
      collect,
      [] as string[],
    )
    .option("-m, --message <text>", "commit message for the imported image")
    .option("-q, --quiet", "print only the image ID")
    .action(async function (file, reference, flags) {
      const { importImage } = await import("../image/import.ts");
      await withRuntime(this, async (runtime) => {
        const source = await openSource(file);
        const image = await importImage(runtime, source, {
          reference,
          changes: flags.change,
          message: flags.message,
        });
        println(`sha256:${image.id}`);
      });
    });

  program.command("images").description("list images")
    .argument("[reference]", "show only images matching this name")
    .option("-a, --all", "show all images")
    .option("-q, --quiet", "print only the image IDs")
    .option("--no-trunc", "do not truncate IDs")
    .option("--format <format>", "json, or a Go template")
    .action(async function (reference, flags) {
      const { imageRows } = await import("../image/inspect.ts");
      const { printRows } = await import("./output.ts");
      await withRuntime(this, (runtime) => {
        let images = runtime.images.list();
        if (reference !== undefined) {
          const found = runtime.images.find(reference);
          images = found ? [found] : [];
        }
        if (flags.quiet) {
          const seen = new Set<string>();
          for (const image of images) {
            const id = flags.trunc === false ? `sha256:${image.id}` : image.id.slice(0, 12);
            if (!seen.has(id)) println(id);
            seen.add(id);
          }
          return;
        }
        const now = clockNow();
        if (flags.format === "json") {
          println(JSON.stringify(
            images.map((image) => {
              const row = imageRows(runtime, image, { noTrunc: true, now })[0];
              return {
                Id: image.id,
                ParentId: "",
                RepoTags: null,
                RepoDigests: [],
                Size: image.size,
                SharedSize: 0,
                VirtualSize: image.size,
                Labels: row.Labels,
                Containers: row.Containers,
                Names: image.names,
                Digest: row.Digest,
                History: image.names,
                Created: row.Created,
                CreatedAt: row.CreatedAt,
              };
            }),
            null,
            4,
          ));
          return;
        }
        const rows = images.flatMap((image) =>
          imageRows(runtime, image, { noTrunc: flags.trunc === false, now })
        );
        printRows(rows, flags.format, IMAGES_DEFAULT, IMAGE_HEADERS);
      });
    });

  program.command("rmi").description("remove images")
    .argument("[references...]")
    .option("-f, --force", "remove the containers using the image too")
    .option("-a, --all", "remove all images")
    .action(async function (references, flags) {
      const { removeImage } = await import("../image/remove.ts");
      const { removeContainer } = await import("../container/remove.ts");
      await withRuntime(this, async (runtime) => {
        const targets = flags.all ? runtime.images.list().map((i) => i.id) : references;
        if (targets.length === 0 && !flags.all) {
          throw new InvalidArgError("image name or ID must be specified");
        }
        await forEachTarget(targets, async (reference) => {
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
        });
      });
    });
}
