/**
 * Reads docker-archive files (`docker save`, `podman save --format docker-archive`):
 * `manifest.json` lists each image's config (`<hex>.json`) and layer tars (`<hex>.tar`,
 * `<legacy-id>/layer.tar` or a symlink to one), plus `RepoTags` names.
 *
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { sniffCompression } from "../tar/decompress.ts";
import { imageIdOf, parseImageConfig } from "./image_config.ts";
import { messageOf } from "./message.ts";
import { normalizeDockerArchiveTag } from "./names.ts";
import {
  openMemberChunks,
  openMemberStream,
  readMemberBytes,
  type TarIndex,
  type TarMember,
} from "./outer_tar.ts";
import type { ArchiveImage, ArchiveLayer } from "./types.ts";

/** Largest `manifest.json` or config accepted, in bytes. */
export const MAX_DOCKER_METADATA_BYTES = 8 << 20;

/** Enough leading bytes to recognise gzip and zstd. */
const SNIFF_BYTES = 4;

const DOCKER_LAYER_TYPES = {
  none: "application/vnd.docker.image.rootfs.diff.tar",
  gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  zstd: "application/vnd.docker.image.rootfs.diff.tar.zstd",
} as const;

interface ManifestItem {
  config: string;
  repoTags: string[];
  layers: string[];
}

/**
 * The images of an indexed docker-archive. Checks that each config's sha256 matches the digest
 * in its file name (`<hex>.json`, `blobs/sha256/<hex>`), that each image has as many layers as
 * diff IDs, and that every file named exists; throws an ArchiveError naming what is wrong.
 * Images listed twice (same config) become one, with the names of both.
 */
export async function readDockerArchive(index: TarIndex): Promise<ArchiveImage[]> {
  const manifestMember = index.resolveFile("manifest.json", "manifest.json");
  const manifestBytes = await readMemberBytes(
    index,
    manifestMember,
    MAX_DOCKER_METADATA_BYTES,
    "manifest.json",
  );
  const items = parseManifest(manifestBytes);
  const layersByMember = new Map<string, ArchiveLayer>();
  const images = new Map<string, ArchiveImage>();
  for (const [i, item] of items.entries()) {
    const what = `manifest.json: image ${i}`;
    const configMember = index.resolveFile(item.config, `${what}: config`);
    const configBytes = await readMemberBytes(
      index,
      configMember,
      MAX_DOCKER_METADATA_BYTES,
      `config ${item.config}`,
    );
    const id = imageIdOf(configBytes);
    const named = digestInName(item.config);
    if (named !== undefined && named !== id) {
      throw new ArchiveError(
        `archive: config ${item.config}: content has sha256:${id}, but its name says sha256:${named}`,
      );
    }
    const config = parseImageConfig(configBytes, `config ${item.config}`);
    const diffIds = config.rootfs.diff_ids;
    if (item.layers.length !== diffIds.length) {
      throw new ArchiveError(
        `archive: image ${id}: manifest.json lists ${item.layers.length} layers but the config has ${diffIds.length} diff IDs`,
      );
    }
    const layers: ArchiveLayer[] = [];
    for (const [j, layerName] of item.layers.entries()) {
      const member = index.resolveFile(layerName, `${what}: layer ${j}`);
      const known = layersByMember.get(member.name);
      if (known !== undefined && known.diffId === diffIds[j]) {
        layers.push(known);
        continue;
      }
      const layer = await dockerLayer(index, member, layerName, diffIds[j]);
      layersByMember.set(member.name, layer);
      layers.push(layer);
    }
    const names = item.repoTags.map((tag) => normalizeDockerArchiveTag(tag, `${what}: RepoTags`));
    const existing = images.get(id);
    if (existing !== undefined) {
      for (const name of names) if (!existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    images.set(id, { id, names: [...new Set(names)], configBytes, config, layers });
  }
  return [...images.values()];
}

async function dockerLayer(
  index: TarIndex,
  member: TarMember,
  layerName: string,
  diffId: string,
): Promise<ArchiveLayer> {
  const what = `layer ${layerName}`;
  const head = await readMemberBytes(
    index,
    { ...member, size: Math.min(member.size, SNIFF_BYTES) },
    SNIFF_BYTES,
    what,
  );
  return {
    diffId,
    mediaType: DOCKER_LAYER_TYPES[sniffCompression(head)],
    size: member.size,
    open: () => openMemberStream(index, member, what),
    chunks: () => openMemberChunks(index, member, what),
  };
}

function parseManifest(bytes: Uint8Array): ManifestItem[] {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ArchiveError(`archive: manifest.json: ${messageOf(error)}`, { cause: error });
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ArchiveError("archive: manifest.json: not a non-empty JSON array of images");
  }
  return raw.map((value, i) => {
    const what = `manifest.json: image ${i}`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ArchiveError(`archive: ${what} is not a JSON object`);
    }
    const item = value as Record<string, unknown>;
    if (typeof item.Config !== "string" || item.Config === "") {
      throw new ArchiveError(`archive: ${what}: Config is missing or not a string`);
    }
    const layers = item.Layers ?? [];
    if (!Array.isArray(layers) || !layers.every((layer) => typeof layer === "string")) {
      throw new ArchiveError(`archive: ${what}: Layers is not an array of strings`);
    }
    const repoTags = item.RepoTags ?? [];
    if (!Array.isArray(repoTags) || !repoTags.every((tag) => typeof tag === "string")) {
      throw new ArchiveError(`archive: ${what}: RepoTags is not an array of strings`);
    }
    return { config: item.Config, repoTags, layers };
  });
}

/** The hex digest a config's file name carries (`<hex>.json`, `sha256:<hex>`, `…/sha256/<hex>`). */
function digestInName(name: string): string | undefined {
  const base = name.split("/").pop() ?? "";
  const match = /^(?:sha256:)?([0-9a-f]{64})(?:\.json)?$/.exec(base);
  return match?.[1];
}
