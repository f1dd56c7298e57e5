/**
 * A container's read-write layer and its overlay mount: `<root>/layers/<ctrId>/{diff,work,merged}`,
 * with the image's layers as lower directories (top first). Mounting checks the kernel's mount
 * table, so a second mount of a mounted rootfs is a no-op and an unmount of an absent one too.
 *
 * @example
 * ```ts
 * const merged = mountOverlay(paths, ctr.id, image.layers);
 * unmountOverlay(paths, ctr.id);
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import type { Paths } from "../paths.ts";
import { isMountPoint, mountFsFrom, unmount } from "../sys/mount.ts";
import { removeTree } from "./layers.ts";
import { layerLink, LINK_DIR } from "./layer_links.ts";
import { logger } from "../log.ts";
import { containerLayerPaths } from "./layer_paths.ts";

const log = logger("storage");

/** mount(2) copies at most one page of option data (the kernel's limit, PAGE_SIZE here). */
const MOUNT_DATA_MAX = 4096;

export { type ContainerLayerPaths, containerLayerPaths } from "./layer_paths.ts";

/** Makes the (empty) RW layer directories for a new container. */
export async function createContainerLayer(paths: Paths, ctrId: string): Promise<void> {
  const layer = containerLayerPaths(paths, ctrId);
  await Deno.mkdir(layer.upper, { recursive: true, mode: 0o755 });
  await Deno.mkdir(layer.work, { recursive: true, mode: 0o700 });
  await Deno.mkdir(layer.merged, { recursive: true, mode: 0o700 });
}

/** Builds the overlay option string; refuses paths that would break its syntax. */
export function overlayOptions(lowers: string[], upper: string, work: string): string {
  for (const path of [...lowers, upper, work]) {
    if (/[:,\n]/.test(path)) {
      throw new InvalidArgError(
        `storage path ${JSON.stringify(path)} holds ':' or ',', which overlay cannot take`,
      );
    }
  }
  return `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`;
}

/** How a container's rootfs is mounted. */
export interface OverlayMountOptions {
  /**
   * overlay's `volatile` (podman's choice for `--rm` containers): no sync of the upper layer, so
   * the unmount does not wait for the disk (a sync of the whole file system under `--root`,
   * other programs' writes included). A crash may lose the layer's writes: only for a layer
   * that is deleted with its container anyway.
   */
  volatile?: boolean;
}

/**
 * Where overlay marks a work directory last mounted `volatile`; the kernel refuses to mount it
 * again while the mark is there (the upper layer may be incomplete after a crash).
 */
function volatileMark(work: string): string {
  return `${work}/work/incompat/volatile`;
}

/**
 * Mounts the container's merged rootfs over the image layers (given bottom first) and returns the
 * mount point; when it is already mounted, returns it unchanged. The lower, upper and work
 * directories are named relative to the layers directory, the lowers by their short links
 * (`l/NAME`, see `layer_links.ts`), so that the options fit mount(2)'s one page for images of
 * up to ~130 layers (overlay itself takes at most 500). A `volatile` mount first removes the mark
 * its last one left, so a `--rm` container's rootfs can be mounted again (`denopod mount`).
 */
export function mountOverlay(
  paths: Paths,
  ctrId: string,
  imageLayers: string[],
  options: OverlayMountOptions = {},
): string {
  const layer = containerLayerPaths(paths, ctrId);
  if (isMountPoint(layer.merged)) return layer.merged;
  const lowers = imageLayers.map((id) => `${LINK_DIR}/${layerLink(paths, id)}`).reverse();
  let data = overlayOptions(lowers, `${ctrId}/diff`, `${ctrId}/work`);
  if (options.volatile) {
    data += ",volatile";
    try {
      Deno.removeSync(volatileMark(layer.work), { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  if (new TextEncoder().encode(data).length >= MOUNT_DATA_MAX) {
    throw new InvalidArgError(
      `the image has too many layers (${imageLayers.length}) for one overlay mount`,
    );
  }
  mountFsFrom(paths.layersDir, {
    type: "overlay",
    source: "overlay",
    target: layer.merged,
    flags: 0,
    data,
  });
  log.debug("mounted overlay at {merged} ({n} layers)", {
    merged: layer.merged,
    n: imageLayers.length,
  });
  return layer.merged;
}

/** Unmounts the container's merged rootfs; returns false when it was not mounted. */
export function unmountOverlay(paths: Paths, ctrId: string): boolean {
  const { merged } = containerLayerPaths(paths, ctrId);
  return unmount(merged, { detach: true, ignoreNotMounted: true });
}

/** Deletes the RW layer (unmounting first if needed). */
export async function deleteContainerLayer(paths: Paths, ctrId: string): Promise<void> {
  unmountOverlay(paths, ctrId);
  await removeTree(paths.layerDir(ctrId));
}
