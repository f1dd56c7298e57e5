/**
 * The binds a container's volumes become at start: a named volume's source is its `_data`
 * directory under `--root/volumes`; a volume marked `U` is chowned (recursively, never through a
 * symlink) to the user the container runs as, as podman's `:U`.
 *
 * @example
 * ```ts
 * const binds = volumeBinds(ctr.ctx.paths, ctr.config.volumes);
 * await chownVolumes(ctr.config.volumes, binds, 1000, 1000);
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import type { Paths } from "../paths.ts";
import { VolumeStore } from "../volume/store.ts";
import { copyUp } from "../volume/copy_up.ts";
import { overlayVolumeSource } from "./overlay_volumes.ts";
import type { VolumeSpec } from "./config.ts";
import type { VolumeMount } from "./spec.ts";

/** Where a named volume keeps its data. */
export function volumeDataDir(paths: Paths, name: string): string {
  return join(paths.volumesDir, name, "_data");
}

/**
 * The spec binds for the container's volumes (named volumes resolved to their data; `:O` ones to
 * the container `ctrId`'s overlay of them).
 */
export function volumeBinds(
  paths: Paths,
  volumes: readonly VolumeSpec[],
  ctrId = "",
): VolumeMount[] {
  return volumes.map((v, index) => ({
    source: v.overlay
      ? overlayVolumeSource(paths, ctrId, index)
      : v.volumeName !== undefined
      ? volumeDataDir(paths, v.volumeName)
      : v.source,
    destination: v.destination,
    readonly: v.readonly,
    ...(v.options ? { options: v.options } : {}),
  }));
}

/** The named volumes' store under `--root/volumes`. */
export function volumeStore(paths: Paths): VolumeStore {
  return new VolumeStore(paths.volumesDir);
}

/**
 * Creates every named (or anonymous, already named) volume that does not exist yet; returns
 * the names it created (for the caller to remove again if the create fails later).
 */
export function ensureVolumes(paths: Paths, volumes: readonly VolumeSpec[]): string[] {
  const store = volumeStore(paths);
  const created: string[] = [];
  try {
    for (const v of volumes) {
      if (v.volumeName === undefined || store.get(v.volumeName)) continue;
      store.create(v.volumeName, { anonymous: v.anonymous === true });
      created.push(v.volumeName);
    }
  } catch (err) {
    for (const name of created) Deno.removeSync(store.volumeDir(name), { recursive: true });
    throw err;
  }
  return created;
}

/**
 * Copies the image's content into each named volume used for the first time (podman's
 * copy-up), then marks it copied. `rootfs` is the container's mounted root.
 */
export async function copyUpVolumes(
  paths: Paths,
  volumes: readonly VolumeSpec[],
  rootfs: string,
): Promise<void> {
  const store = volumeStore(paths);
  for (const v of volumes) {
    if (v.volumeName === undefined) continue;
    const record = store.get(v.volumeName);
    if (!record?.needsCopyUp) continue;
    await copyUp(rootfs, v.destination, store.dataDir(v.volumeName));
    store.save({ ...record, needsCopyUp: false });
  }
}

/** IDs of the containers (of `records`) using the volume `name`. */
export function containersUsingVolume(
  records: readonly { config: { id: string; volumes: readonly VolumeSpec[] } }[],
  name: string,
): string[] {
  return records.filter((r) => r.config.volumes.some((v) => v.volumeName === name)).map((r) =>
    r.config.id
  );
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink) return;
  await Deno.chown(path, uid, gid);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) {
    await chownTree(join(path, entry.name), uid, gid);
  }
}

/** Chowns the source of every `U` volume to `uid:gid` (the container's user). */
export async function chownVolumes(
  volumes: readonly VolumeSpec[],
  binds: readonly VolumeMount[],
  uid: number,
  gid: number,
): Promise<void> {
  for (let i = 0; i < volumes.length; i++) {
    if (volumes[i].chown) await chownTree(binds[i].source, uid, gid);
  }
}
