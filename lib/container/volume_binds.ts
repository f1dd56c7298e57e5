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
import { join } from "node:path";
import type { Paths } from "../paths.ts";
import type { VolumeSpec } from "./config.ts";
import type { VolumeMount } from "./spec.ts";

/** Where a named volume keeps its data. */
export function volumeDataDir(paths: Paths, name: string): string {
  return join(paths.volumesDir, name, "_data");
}

/** The spec binds for the container's volumes (named volumes resolved to their data). */
export function volumeBinds(paths: Paths, volumes: readonly VolumeSpec[]): VolumeMount[] {
  return volumes.map((v) => ({
    source: v.volumeName !== undefined ? volumeDataDir(paths, v.volumeName) : v.source,
    destination: v.destination,
    readonly: v.readonly,
    ...(v.options ? { options: v.options } : {}),
  }));
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
