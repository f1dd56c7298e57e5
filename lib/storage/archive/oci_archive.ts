/**
 * Reads OCI image layout archives (`podman save --format oci-archive`, `skopeo copy
 * oci-archive:`, Docker 25+ `save` read as OCI): `oci-layout`, `index.json` → (nested indexes,
 * the entry for this host's platform) → manifest → config and layer blobs under
 * `blobs/sha256/<hex>`.
 *
 * Every digest is checked for form before a blob path is built from it; index, manifest and
 * config blobs are checked against their digest and size at once, layer blobs as they stream.
 *
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { parseSha256Digest, sha256Hex, verifySha256Chunks, verifySha256Stage } from "./digest.ts";
import { parseImageConfig } from "./image_config.ts";
import { messageOf, quoteForMessage } from "./message.ts";
import { normalizeOciRefName } from "./names.ts";
import {
  openMemberChunks,
  openMemberStream,
  readMemberBytes,
  type TarIndex,
  type TarMember,
} from "./outer_tar.ts";
import type { ArchiveImage, ArchiveLayer } from "./types.ts";

/** Largest `index.json`, manifest or config accepted, in bytes. */
export const MAX_OCI_METADATA_BYTES = 8 << 20;

const MAX_INDEX_DEPTH = 4;

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);
const CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);
const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";

/** The platform an index entry is chosen for: this host's. */
export interface Platform {
  os: string;
  architecture: string;
}

/** This host's platform in OCI terms (`linux`, `amd64`/`arm64`/…). */
export function hostPlatform(): Platform {
  const architectures: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
  return { os: Deno.build.os, architecture: architectures[Deno.build.arch] ?? Deno.build.arch };
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  hex: string;
  size: number;
  annotations: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/**
 * The images of an indexed OCI archive: one per distinct manifest reached from `index.json`,
 * named from each entry's `io.containerd.image.name` or `org.opencontainers.image.ref.name`
 * annotation as podman names them (entries without either give an unnamed image). Throws an
 * ArchiveError naming what is wrong: missing `oci-layout`, bad JSON, a digest of the wrong
 * form, a missing blob, a blob whose sha256 or size does not match, an unsupported media type,
 * no manifest for this platform, or a layer count that differs from the diff IDs.
 */
export async function readOciArchive(
  index: TarIndex,
  platform: Platform = hostPlatform(),
): Promise<ArchiveImage[]> {
  await checkLayoutFile(index);
  const entries = await readIndexEntries(index);
  const reader = new BlobReader(index);
  const images = new Map<string, ArchiveImage>();
  for (const [i, entry] of entries.entries()) {
    const what = `index.json: manifests[${i}]`;
    const manifestDescriptor = await reader.selectManifest(entry, platform, what, 0);
    const image = images.get(manifestDescriptor.digest) ??
      await reader.readImage(manifestDescriptor);
    images.set(manifestDescriptor.digest, image);
    const name = entry.annotations[CONTAINERD_NAME] || entry.annotations[REF_NAME];
    if (name) {
      const normal = normalizeOciRefName(name, `${what}: annotation`);
      if (!image.names.includes(normal)) image.names.push(normal);
    }
  }
  // Two manifests may share a config (same image ID): keep the first, merge the names.
  const byId = new Map<string, ArchiveImage>();
  for (const image of images.values()) {
    const existing = byId.get(image.id);
    if (existing === undefined) {
      byId.set(image.id, image);
      continue;
    }
    for (const name of image.names) {
      if (!existing.names.includes(name)) existing.names.push(name);
    }
  }
  return [...byId.values()];
}

class BlobReader {
  readonly #index: TarIndex;
  readonly #layers = new Map<string, ArchiveLayer>();

  constructor(index: TarIndex) {
    this.#index = index;
  }

  /** Follows nested indexes from `descriptor` down to the manifest for `platform`. */
  async selectManifest(
    descriptor: Descriptor,
    platform: Platform,
    what: string,
    depth: number,
  ): Promise<Descriptor> {
    if (MANIFEST_TYPES.has(descriptor.mediaType ?? "")) return descriptor;
    if (descriptor.mediaType !== undefined && !INDEX_TYPES.has(descriptor.mediaType)) {
      throw new ArchiveError(
        `archive: ${what}: unsupported media type ${quoteForMessage(descriptor.mediaType)}`,
      );
    }
    const bytes = await this.readSmallBlob(descriptor, `${what}: ${descriptor.digest}`);
    const json = parseJsonObject(bytes, `blob ${descriptor.digest}`);
    if (descriptor.mediaType === undefined && !Array.isArray(json.manifests)) {
      return { ...descriptor, mediaType: "application/vnd.oci.image.manifest.v1+json" };
    }
    if (depth >= MAX_INDEX_DEPTH) {
      throw new ArchiveError(
        `archive: ${what}: image indexes nested deeper than ${MAX_INDEX_DEPTH}`,
      );
    }
    const children = parseDescriptorList(json.manifests, `index ${descriptor.digest}`);
    const matching = children.filter((child) =>
      child.platform?.os === platform.os && child.platform?.architecture === platform.architecture
    );
    const chosen = matching[0] ??
      (children.length === 1 && children[0].platform === undefined ? children[0] : undefined);
    if (chosen === undefined) {
      throw new ArchiveError(
        `archive: index ${descriptor.digest}: no image for ${platform.os}/${platform.architecture}`,
      );
    }
    return this.selectManifest(
      { ...chosen, annotations: { ...chosen.annotations } },
      platform,
      `index ${descriptor.digest}`,
      depth + 1,
    );
  }

  /** Reads the manifest `descriptor` names, its config and its layer descriptors. */
  async readImage(descriptor: Descriptor): Promise<ArchiveImage> {
    const what = `manifest ${descriptor.digest}`;
    const manifest = parseJsonObject(await this.readSmallBlob(descriptor, what), what);
    const configDescriptor = parseDescriptor(manifest.config, `${what}: config`);
    if (
      configDescriptor.mediaType !== undefined && !CONFIG_TYPES.has(configDescriptor.mediaType)
    ) {
      throw new ArchiveError(
        `archive: ${what}: not an image (config media type ${
          quoteForMessage(configDescriptor.mediaType)
        })`,
      );
    }
    const configBytes = await this.readSmallBlob(
      configDescriptor,
      `config ${configDescriptor.digest}`,
    );
    const config = parseImageConfig(configBytes, `config ${configDescriptor.digest}`);
    const layerDescriptors = parseDescriptorList(manifest.layers ?? [], `${what}: layers`);
    const diffIds = config.rootfs.diff_ids;
    if (layerDescriptors.length !== diffIds.length) {
      throw new ArchiveError(
        `archive: image ${configDescriptor.hex}: the manifest lists ${layerDescriptors.length} layers but the config has ${diffIds.length} diff IDs`,
      );
    }
    const layers = layerDescriptors.map((layer, i) =>
      this.#layer(layer, diffIds[i], `${what}: layer ${i}`)
    );
    return {
      id: configDescriptor.hex,
      names: [],
      configBytes,
      config,
      layers,
      manifestDigest: descriptor.digest,
    };
  }

  /** The bytes of a small blob (index, manifest, config), checked against digest and size. */
  async readSmallBlob(descriptor: Descriptor, what: string): Promise<Uint8Array> {
    const member = this.#blobMember(descriptor, what);
    const bytes = await readMemberBytes(
      this.#index,
      member,
      MAX_OCI_METADATA_BYTES,
      `blob ${descriptor.digest}`,
    );
    const actual = sha256Hex(bytes);
    if (actual !== descriptor.hex) {
      throw new ArchiveError(
        `archive: blob ${descriptor.digest}: content has sha256:${actual}, not its digest`,
      );
    }
    return bytes;
  }

  #layer(descriptor: Descriptor, diffId: string, what: string): ArchiveLayer {
    const known = this.#layers.get(descriptor.digest);
    if (known !== undefined && known.diffId === diffId) return known;
    const mediaType = descriptor.mediaType ?? "application/vnd.oci.image.layer.v1.tar";
    if (!LAYER_TYPES.has(mediaType)) {
      throw new ArchiveError(
        `archive: ${what}: unsupported layer media type ${quoteForMessage(mediaType)}`,
      );
    }
    const member = this.#blobMember(descriptor, what);
    const index = this.#index;
    const blobWhat = `blob ${descriptor.digest}`;
    const layer: ArchiveLayer = {
      diffId,
      blobDigest: descriptor.digest,
      mediaType,
      size: member.size,
      open: () =>
        openMemberStream(index, member, blobWhat).pipeThrough(
          verifySha256Stage(descriptor.hex, blobWhat),
        ),
      chunks: () =>
        verifySha256Chunks(openMemberChunks(index, member, blobWhat), descriptor.hex, blobWhat),
    };
    this.#layers.set(descriptor.digest, layer);
    return layer;
  }

  #blobMember(descriptor: Descriptor, what: string): TarMember {
    const name = `blobs/sha256/${descriptor.hex}`;
    if (!this.#index.has(name)) {
      throw new ArchiveError(`archive: blob ${descriptor.digest} missing (${what})`);
    }
    const member = this.#index.resolveFile(name, `blob ${descriptor.digest}`);
    if (member.size !== descriptor.size) {
      throw new ArchiveError(
        `archive: blob ${descriptor.digest} is ${member.size} bytes, the descriptor says ${descriptor.size} (${what})`,
      );
    }
    return member;
  }
}

/**
 * How many entries the archive's `index.json` lists (each an image for podman). Throws an
 * ArchiveError when `index.json` is missing, too big or not a valid index.
 */
export async function countOciIndexEntries(index: TarIndex): Promise<number> {
  return (await readIndexEntries(index)).length;
}

async function readIndexEntries(index: TarIndex): Promise<Descriptor[]> {
  const member = index.resolveFile("index.json", "index.json");
  const bytes = await readMemberBytes(index, member, MAX_OCI_METADATA_BYTES, "index.json");
  return parseIndex(bytes, "index.json");
}

async function checkLayoutFile(index: TarIndex): Promise<void> {
  if (!index.has("oci-layout")) {
    throw new ArchiveError(
      "archive: oci-layout missing (index.json without it is not an OCI layout)",
    );
  }
  const member = index.resolveFile("oci-layout", "oci-layout");
  const layout = parseJsonObject(
    await readMemberBytes(index, member, 64 << 10, "oci-layout"),
    "oci-layout",
  );
  if (typeof layout.imageLayoutVersion !== "string") {
    throw new ArchiveError("archive: oci-layout: imageLayoutVersion is missing");
  }
}

function parseIndex(bytes: Uint8Array, what: string): Descriptor[] {
  const json = parseJsonObject(bytes, what);
  if (json.schemaVersion !== undefined && json.schemaVersion !== 2) {
    throw new ArchiveError(
      `archive: ${what}: schemaVersion ${quoteForMessage(json.schemaVersion)} is not 2`,
    );
  }
  const entries = parseDescriptorList(json.manifests, `${what}: manifests`);
  if (entries.length === 0) throw new ArchiveError(`archive: ${what}: no manifests`);
  return entries;
}

function parseDescriptorList(value: unknown, what: string): Descriptor[] {
  if (!Array.isArray(value)) throw new ArchiveError(`archive: ${what} is not an array`);
  return value.map((item, i) => parseDescriptor(item, `${what}[${i}]`));
}

function parseDescriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ArchiveError(`archive: ${what} is not a JSON object`);
  }
  const raw = value as Record<string, unknown>;
  const hex = parseSha256Digest(raw.digest, what);
  if (typeof raw.size !== "number" || !Number.isSafeInteger(raw.size) || raw.size < 0) {
    throw new ArchiveError(`archive: ${what}: size is missing or not a byte count`);
  }
  if (raw.mediaType !== undefined && typeof raw.mediaType !== "string") {
    throw new ArchiveError(`archive: ${what}: mediaType is not a string`);
  }
  const annotations: Record<string, string> = {};
  if (typeof raw.annotations === "object" && raw.annotations !== null) {
    for (const [key, item] of Object.entries(raw.annotations)) {
      if (typeof item === "string") annotations[key] = item;
    }
  }
  let platform: Descriptor["platform"];
  if (typeof raw.platform === "object" && raw.platform !== null) {
    const p = raw.platform as Record<string, unknown>;
    platform = {
      os: typeof p.os === "string" ? p.os : undefined,
      architecture: typeof p.architecture === "string" ? p.architecture : undefined,
    };
  }
  return {
    mediaType: raw.mediaType,
    digest: `sha256:${hex}`,
    hex,
    size: raw.size,
    annotations,
    platform,
  };
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ArchiveError(`archive: ${what}: ${messageOf(error)}`, { cause: error });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ArchiveError(`archive: ${what} is not a JSON object`);
  }
  return raw as Record<string, unknown>;
}
