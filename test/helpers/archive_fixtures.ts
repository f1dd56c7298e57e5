/**
 * Shared facts and tools for the image archive tests: where the podman-written fixtures are,
 * what they hold (from their README), and helpers to hash streams, rebuild archives with GNU
 * tar, pass an archive's layers through temp files for the writers, and run podman in
 * throw-away roots.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ImageArchive } from "../../lib/storage/archive/reader.ts";
import type { SaveImage, SaveLayer } from "../../lib/storage/archive/writer.ts";
import { decompressedStream } from "../../lib/storage/tar/decompress.ts";
import { PodmanSandbox } from "./podman.ts";

export { PODMAN } from "./podman.ts";

/** Directory of the podman-written fixtures, in the repository (`test/fixtures/images/README.md`). */
export const FIXTURES = new URL("../fixtures/images/", import.meta.url).pathname;
/** `podman save --format docker-archive localhost/fixture:2`. */
export const DOCKER_FIXTURE = `${FIXTURES}fixture-docker-archive.tar`;
/** `podman save --format oci-archive localhost/fixture:2`. */
export const OCI_FIXTURE = `${FIXTURES}fixture-oci-archive.tar`;
/** `podman save -m localhost/fixture:2 localhost/fixture-base:1`. */
export const MULTI_FIXTURE = `${FIXTURES}fixture-multi-docker-archive.tar`;

/** Image ID of `localhost/fixture:2`. */
export const FIXTURE_ID = "dc217c97961a03619bf5820b4fb535c5c62977d56ea033d6976903e6b5ec39f5";
/** Image ID of `localhost/fixture-base:1`. */
export const BASE_ID = "4a73ba4a6f659839ac588f8f4d263f1cfa89b63a8faa76de08698b8bf4ed71fa";
/** Diff IDs of `localhost/fixture:2`, bottom first. */
export const FIXTURE_DIFF_IDS = [
  "sha256:acc06ff2674346697e639fb08562619815a28584b947e91ebe9e9220ffef9b17",
  "sha256:7b47c2970140ba155aaf0b3b4c659beaa489f8b71ce75cc4f6321f743579fbbe",
];
/** Layer blob digests (gzip) in the OCI fixture, bottom first. */
export const OCI_BLOB_DIGESTS = [
  "sha256:ad98ad30a4e6de2d51b4a9cc9a2b20200b8e999a4b3fcfb334ea3dee06bf318b",
  "sha256:af2649f2ccf9de4d1474465215eac9cbfc773956ff8806ace1fa77159e5c2c73",
];

/** `sha256:<hex>` of everything `stream` yields. */
export async function sha256OfStream(stream: ReadableStream<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk);
  return `sha256:${hash.digest("hex")}`;
}

/** `sha256:<hex>` of a file's bytes. */
export async function sha256OfFile(path: string): Promise<string> {
  return sha256OfStream((await Deno.open(path)).readable);
}

/** Runs a command; throws with its stderr when it fails; returns stdout as text. */
export async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Extracts `archive` into `dir` with GNU tar. */
export async function untar(archive: string, dir: string): Promise<void> {
  await run("tar", ["-xf", archive, "-C", dir]);
}

/** Tars the top-level entries of `dir` (names without `./`) into `archive` with GNU tar. */
export async function retar(dir: string, archive: string, extraArgs: string[] = []): Promise<void> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  names.sort();
  await run("tar", [...extraArgs, "-cf", archive, "-C", dir, ...names]);
}

/**
 * Extracts `fixture` to a fresh directory under `tmp`, lets `edit` change it, and tars it again
 * to `<tmp>/<label>.tar`, returning that path.
 */
export async function editedFixture(
  tmp: string,
  fixture: string,
  label: string,
  edit: (dir: string) => Promise<void> | void,
): Promise<string> {
  const dir = `${tmp}/${label}`;
  await Deno.mkdir(dir);
  await untar(fixture, dir);
  await edit(dir);
  const out = `${tmp}/${label}.tar`;
  await retar(dir, out);
  return out;
}

/** Reads, edits and rewrites a JSON file in place. */
export async function editJson(path: string, edit: (json: unknown) => unknown): Promise<void> {
  const json = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify(edit(json) ?? json));
}

/**
 * The images of an opened archive as the writers take them: each distinct layer decompressed
 * (as the lead's store would have it) into a file under `dir`.
 */
export async function saveImagesFrom(archive: ImageArchive, dir: string): Promise<SaveImage[]> {
  const files = new Map<string, SaveLayer>();
  const images: SaveImage[] = [];
  for (const image of archive.images) {
    const layers: SaveLayer[] = [];
    for (const layer of image.layers) {
      let saved = files.get(layer.diffId);
      if (saved === undefined) {
        const tarPath = `${dir}/${layer.diffId.slice("sha256:".length)}.layer.tar`;
        const file = await Deno.open(tarPath, { write: true, create: true, truncate: true });
        await decompressedStream(layer.open()).pipeTo(file.writable);
        saved = { diffId: layer.diffId, tarPath, size: (await Deno.stat(tarPath)).size };
        files.set(layer.diffId, saved);
      }
      layers.push(saved);
    }
    images.push({ names: [...image.names], configBytes: image.configBytes, layers });
  }
  return images;
}

/** Runs `write` with a sink that appends to the file at `path`. */
export function writeArchiveFile(path: string, write: (sink: (chunk: Uint8Array) => void) => void) {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    write((chunk) => {
      for (let n = 0; n < chunk.length;) n += file.writeSync(chunk.subarray(n));
    });
  } finally {
    file.close();
  }
}

/** `podman load -i archive` in a podman sandbox, then each loaded image's ID, names and diff IDs. */
export async function podmanLoad(
  archive: string,
): Promise<Array<{ id: string; names: string[]; diffIds: string[] }>> {
  const podman = await PodmanSandbox.create();
  try {
    await podman.output("load", "-i", archive);
    const ids = (await podman.output("images", "-q", "--no-trunc"))
      .split("\n").filter((line) => line !== "");
    const result = [];
    for (const id of ids) {
      const [inspect] = JSON.parse(await podman.output("image", "inspect", id));
      result.push({
        id: inspect.Id as string,
        names: (inspect.RepoTags ?? []) as string[],
        diffIds: inspect.RootFS.Layers as string[],
      });
    }
    return result;
  } finally {
    await podman.remove();
  }
}
