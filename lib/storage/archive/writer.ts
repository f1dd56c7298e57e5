/**
 * Writes image archives for `denopod save`, in the layouts `podman save` writes and `podman
 * load` / `docker load` read:
 *
 * - docker-archive: `<diffIdHex>.tar` layer tars, `<configHex>.json`, the legacy
 *   `<v1-id>/{layer.tar -> ../<diffIdHex>.tar, VERSION, json}` directories, `manifest.json`
 *   and `repositories` — the same names and bytes containers/image (podman 4.x) writes.
 * - oci-archive: `oci-layout`, `blobs/sha256/<hex>` for layers (uncompressed,
 *   `application/vnd.oci.image.layer.v1.tar`), configs and manifests, and `index.json` with one
 *   entry per image (`org.opencontainers.image.ref.name` = its first full name, as podman
 *   writes it).
 *
 * Layers shared by several images are written once. Every layer file is checked before any
 * byte is written: its size must be the given size and (unless `verifyLayers: false`) its
 * sha256 the diff ID, since an archive whose layers do not hash to the config's diff IDs is
 * refused by `podman load`.
 *
 * @example
 * ```ts
 * const out = Deno.openSync("out.tar", { write: true, create: true, truncate: true });
 * writeDockerArchive([{ names: ["localhost/app:1"], configBytes, layers }], (chunk) => {
 *   for (let n = 0; n < chunk.length;) n += out.writeSync(chunk.subarray(n));
 * });
 * out.close();
 * ```
 * @module
 */

import { createSha256 } from "../../sys/sha256.ts";
import { ArchiveError } from "../../errors.ts";
import { type TarEntryHeader, type TarSink, TarWriter } from "../tar/writer.ts";
import { parseSha256Digest, sha256Hex } from "./digest.ts";
import { goMarshalObject, goString, topLevelMembers } from "./go_json.ts";
import { parseImageConfig } from "./image_config.ts";
import { quoteForMessage } from "./message.ts";

/** One layer to save: an uncompressed layer tar the caller has written to a file. */
export interface SaveLayer {
  /** `sha256:<hex>`: the sha256 of the file at `tarPath`, as the image config lists it. */
  diffId: string;
  /** Path of the uncompressed layer tar. */
  tarPath: string;
  /** Size of that file in bytes. */
  size: number;
}

/** One image to save. */
export interface SaveImage {
  /** Full names, e.g. `localhost/app:1`; may be empty. */
  names: string[];
  /** The config exactly as stored (its sha256 is the image ID). */
  configBytes: Uint8Array;
  /** Layers bottom first, matching the config's `rootfs.diff_ids`. */
  layers: SaveLayer[];
}

/** Options for the archive writers. */
export interface WriteArchiveOptions {
  /** Hash every layer file and compare with its diff ID before writing (default true). */
  verifyLayers?: boolean;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
const REF_NAME = "org.opencontainers.image.ref.name";
const LEGACY_TOP_LAYER_FIELDS = [
  "architecture",
  "config",
  "container",
  "container_config",
  "created",
  "docker_version",
  "os",
];
const HASH_CHUNK = 1 << 20;
const encoder = new TextEncoder();

/**
 * Writes `images` as a docker-archive tar to `sink` (podman's layout and bytes, see the module
 * doc). Names without a tag (digest-only) cannot be `RepoTags` and are left out. Throws an
 * ArchiveError, before writing anything, when a config is not valid, a layer's diff ID differs
 * from the config's, or a layer file has the wrong size or sha256.
 */
export function writeDockerArchive(
  images: SaveImage[],
  sink: TarSink,
  options: WriteArchiveOptions = {},
): void {
  checkImages(images, options.verifyLayers ?? true);
  const tar = new TarWriter(sink);
  const written = new Set<string>();
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  const manifestByConfig = new Map<string, number>();
  const repositories = new Map<string, Map<string, string>>();
  const once = (name: string, write: () => void) => {
    if (written.has(name)) return;
    written.add(name);
    write();
  };

  for (const image of images) {
    const layerPaths: string[] = [];
    for (const layer of image.layers) {
      const path = `${parseSha256Digest(layer.diffId, "layer")}.tar`;
      layerPaths.push(path);
      once(path, () => tar.addFileFromPath(fileHeader(path, layer.size, 0o444), layer.tarPath));
    }
    const configHex = sha256Hex(image.configBytes);
    const configPath = `${configHex}.json`;
    once(configPath, () => addBytes(tar, configPath, image.configBytes, 0o444));
    const topLayerId = writeLegacyLayers(tar, image, once);

    const repoTags = image.names.filter((name) => splitTag(name) !== undefined);
    let item = manifest[manifestByConfig.get(configHex) ?? -1];
    if (item === undefined) {
      item = { Config: configPath, RepoTags: [], Layers: layerPaths };
      manifestByConfig.set(configHex, manifest.length);
      manifest.push(item);
    }
    for (const tag of repoTags) if (!item.RepoTags.includes(tag)) item.RepoTags.push(tag);
    if (topLayerId !== undefined) {
      for (const tag of repoTags) {
        const [repository, tagName] = splitTag(tag)!;
        const tags = repositories.get(repository) ?? new Map<string, string>();
        tags.set(tagName, topLayerId);
        repositories.set(repository, tags);
      }
    }
  }

  addBytes(tar, "manifest.json", encoder.encode(JSON.stringify(manifest)), 0o444);
  const repositoriesJson = goMarshalObject(Object.fromEntries(
    [...repositories].map(([repository, tags]) => [
      repository,
      goMarshalObject(Object.fromEntries([...tags].map(([tag, id]) => [tag, goString(id)]))),
    ]),
  ));
  addBytes(tar, "repositories", encoder.encode(repositoriesJson), 0o444);
  tar.finish();
}

/**
 * Writes `images` as an OCI archive tar to `sink` (see the module doc): one `index.json` entry
 * per image, named by its first name (none for an image without names), as `podman save
 * --format oci-archive NAME` writes. podman 4 loads only archives with a single `index.json`
 * entry ("more than one image in oci"), so pass one image for podman; denopod reads any number.
 * Throws an ArchiveError, before writing anything, on the same problems as
 * {@linkcode writeDockerArchive}.
 */
export function writeOciArchive(
  images: SaveImage[],
  sink: TarSink,
  options: WriteArchiveOptions = {},
): void {
  checkImages(images, options.verifyLayers ?? true);
  const tar = new TarWriter(sink);
  tar.addEntry(dirHeader("blobs"));
  tar.addEntry(dirHeader("blobs/sha256"));
  const written = new Set<string>();
  const addBlob = (hex: string, write: (path: string) => void) => {
    if (written.has(hex)) return;
    written.add(hex);
    write(`blobs/sha256/${hex}`);
  };
  const entries: Array<Record<string, unknown>> = [];
  for (const image of images) {
    for (const layer of image.layers) {
      addBlob(
        parseSha256Digest(layer.diffId, "layer"),
        (path) => tar.addFileFromPath(fileHeader(path, layer.size, 0o644), layer.tarPath),
      );
    }
    const configHex = sha256Hex(image.configBytes);
    addBlob(configHex, (path) => addBytes(tar, path, image.configBytes, 0o644));
    const manifestBytes = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: OCI_CONFIG,
        digest: `sha256:${configHex}`,
        size: image.configBytes.length,
      },
      layers: image.layers.map((layer) => ({
        mediaType: OCI_LAYER,
        digest: layer.diffId,
        size: layer.size,
      })),
    }));
    const manifestHex = sha256Hex(manifestBytes);
    addBlob(manifestHex, (path) => addBytes(tar, path, manifestBytes, 0o644));
    const descriptor = {
      mediaType: OCI_MANIFEST,
      digest: `sha256:${manifestHex}`,
      size: manifestBytes.length,
    };
    const name = image.names[0];
    entries.push(
      name === undefined ? descriptor : { ...descriptor, annotations: { [REF_NAME]: name } },
    );
  }
  addBytes(
    tar,
    "index.json",
    encoder.encode(JSON.stringify({ schemaVersion: 2, manifests: entries })),
    0o644,
  );
  addBytes(tar, "oci-layout", encoder.encode('{"imageLayoutVersion": "1.0.0"}'), 0o644);
  tar.finish();
}

/**
 * Writes the legacy per-layer directories for one image and returns the top layer's legacy ID
 * (undefined for an image without layers). The IDs are computed as containers/image computes
 * them: the sha256 of the Go-marshalled layer config with the chain ID added as `layer_id`.
 */
function writeLegacyLayers(
  tar: TarWriter,
  image: SaveImage,
  once: (name: string, write: () => void) => void,
): string | undefined {
  const configMembers = topLevelMembers(new TextDecoder().decode(image.configBytes));
  let chainId = "";
  let lastLayerId: string | undefined;
  image.layers.forEach((layer, i) => {
    const members: Record<string, string> = {};
    if (lastLayerId !== undefined) members.parent = goString(lastLayerId);
    if (i === image.layers.length - 1) {
      for (const field of LEGACY_TOP_LAYER_FIELDS) {
        members[field] = configMembers.get(field) ?? "null";
      }
    }
    chainId = chainId === ""
      ? layer.diffId
      : `sha256:${sha256Hex(encoder.encode(`${chainId} ${layer.diffId}`))}`;
    const layerId = sha256Hex(
      encoder.encode(goMarshalObject({ ...members, layer_id: goString(chainId) })),
    );
    const json = encoder.encode(goMarshalObject({ ...members, id: goString(layerId) }));
    const diffHex = parseSha256Digest(layer.diffId, "layer");
    once(layerId, () => {
      tar.addEntry(symlinkHeader(`${layerId}/layer.tar`, `../${diffHex}.tar`));
      addBytes(tar, `${layerId}/VERSION`, encoder.encode("1.0"), 0o444);
      addBytes(tar, `${layerId}/json`, json, 0o444);
    });
    lastLayerId = layerId;
  });
  return lastLayerId;
}

/** `[repository, tag]` of a `repository:tag` name; undefined for digest or untagged names. */
function splitTag(name: string): [string, string] | undefined {
  if (name.includes("@")) return undefined;
  const colon = name.lastIndexOf(":");
  if (colon <= name.lastIndexOf("/")) return undefined;
  return [name.slice(0, colon), name.slice(colon + 1)];
}

function checkImages(images: SaveImage[], verifyLayers: boolean): void {
  const verified = new Set<string>();
  for (const image of images) {
    const id = sha256Hex(image.configBytes);
    const config = parseImageConfig(image.configBytes, `save: config of image ${id}`);
    const diffIds = config.rootfs.diff_ids;
    if (image.layers.length !== diffIds.length) {
      throw new ArchiveError(
        `save: image ${id}: ${image.layers.length} layers given but the config has ${diffIds.length} diff IDs`,
      );
    }
    image.layers.forEach((layer, i) => {
      parseSha256Digest(layer.diffId, `save: image ${id}: layer ${i}`);
      if (layer.diffId !== diffIds[i]) {
        throw new ArchiveError(
          `save: image ${id}: layer ${i} is ${layer.diffId} but the config says ${diffIds[i]}`,
        );
      }
      const key = `${layer.tarPath}\0${layer.diffId}`;
      if (verified.has(key)) return;
      checkLayerFile(layer, verifyLayers);
      verified.add(key);
    });
  }
}

function checkLayerFile(layer: SaveLayer, verify: boolean): void {
  const file = Deno.openSync(layer.tarPath, { read: true });
  try {
    const size = file.statSync().size;
    if (size !== layer.size) {
      throw new ArchiveError(
        `save: layer ${layer.diffId}: ${
          quoteForMessage(layer.tarPath)
        } is ${size} bytes, expected ${layer.size}`,
      );
    }
    if (!verify) return;
    const hash = createSha256();
    const buffer = new Uint8Array(HASH_CHUNK);
    while (true) {
      const n = file.readSync(buffer);
      if (n === null || n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    const actual = `sha256:${hash.hex()}`;
    if (actual !== layer.diffId) {
      throw new ArchiveError(
        `save: layer ${
          quoteForMessage(layer.tarPath)
        } has ${actual}, but the image config says ${layer.diffId}`,
      );
    }
  } finally {
    file.close();
  }
}

function fileHeader(name: string, size: number, mode: number): TarEntryHeader {
  return { name, type: "file", mode, uid: 0, gid: 0, size, mtime: 0 };
}

function symlinkHeader(name: string, linkname: string): TarEntryHeader {
  return { name, type: "symlink", mode: 0, uid: 0, gid: 0, mtime: 0, linkname };
}

function dirHeader(name: string): TarEntryHeader {
  return { name, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: 0 };
}

function addBytes(tar: TarWriter, name: string, bytes: Uint8Array, mode: number): void {
  tar.addEntry(fileHeader(name, bytes.length, mode), bytes);
}
