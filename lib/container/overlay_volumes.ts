/**
 * Overlay volumes (`-v /HOST:/DST:O`), as podman's: the host directory is the lower layer of an
 * overlay mounted for the container at start, under `containers/<id>/userdata/overlay-volumes/<n>/`
 * (`upper`, `work`, `merged`); the container sees and writes `merged`, the host directory never
 * changes, and what the container wrote is dropped when its storage is cleaned up (it stops,
 * exits or is removed), "similar to a tmpfs mount point being unmounted".
 *
 * @example
 * ```ts
 * mountOverlayVolumes(ctx.paths, ctr.id, config.volumes);  // at start
 * overlayVolumeSource(ctx.paths, ctr.id, 0);                // what the spec binds
 * dropOverlayVolumes(ctx.paths, ctr.id, config.volumes);    // at cleanup
 * ```
 * @module
 */
import type { Paths } from "../paths.ts";
import type { VolumeSpec } from "./config.ts";
import { join } from "../util/path.ts";
import { isMountPoint, mountFs, unmount } from "../sys/mount.ts";
import { overlayOptions } from "../storage/overlay.ts";

/** The directory of the container's `n`th volume's overlay. */
function overlayDir(paths: Paths, ctrId: string, index: number): string {
  return join(paths.containerDir(ctrId), "overlay-volumes", String(index));
}

/** What the spec binds for the overlay volume at `index` of the container's volumes. */
export function overlayVolumeSource(paths: Paths, ctrId: string, index: number): string {
  return join(overlayDir(paths, ctrId, index), "merged");
}

/** Mounts each `:O` volume's overlay (fresh upper and work directories) unless mounted. */
export function mountOverlayVolumes(
  paths: Paths,
  ctrId: string,
  volumes: readonly VolumeSpec[],
): void {
  volumes.forEach((volume, index) => {
    if (!volume.overlay) return;
    const dir = overlayDir(paths, ctrId, index);
    const merged = join(dir, "merged");
    if (isMountPoint(merged)) return;
    removeIfPresent(dir);
    for (const sub of ["upper", "work", "merged"]) {
      Deno.mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
    }
    mountFs({
      type: "overlay",
      source: "overlay",
      target: merged,
      flags: 0,
      data: overlayOptions([volume.source], join(dir, "upper"), join(dir, "work")),
    });
  });
}

/** Unmounts every `:O` volume's overlay and deletes what the container wrote to it. */
export function dropOverlayVolumes(
  paths: Paths,
  ctrId: string,
  volumes: readonly VolumeSpec[],
): void {
  if (!volumes.some((v) => v.overlay)) return;
  const root = join(paths.containerDir(ctrId), "overlay-volumes");
  volumes.forEach((volume, index) => {
    if (!volume.overlay) return;
    unmount(join(overlayDir(paths, ctrId, index), "merged"), {
      detach: true,
      ignoreNotMounted: true,
    });
  });
  removeIfPresent(root);
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
