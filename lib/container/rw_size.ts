/**
 * The size of a container's own RW layer (a walk of its upper dir only), the seed's rwSize: what
 * `ps --size`, `inspect --size` and `container prune` report. Its own module, so that showing a
 * container without sizes loads no tree-walking code.
 *
 * @example
 * ```ts
 * humanSize(rwSize(ctr)); // "12B"
 * ```
 * @module
 */
import { treeSize } from "../storage/size.ts";
import { containerLayerPaths } from "../storage/layer_paths.ts";
import { logger } from "../log.ts";
import type { ContainerView } from "./view.ts";

const log = logger("container");

/**
 * Size of the container's RW layer. When it cannot be measured, logs a warning and returns 0 (as
 * podman shows 0B), so one container never fails a whole listing.
 */
export function rwSize(ctr: ContainerView): number {
  try {
    return treeSize(containerLayerPaths(ctr.ctx.paths, ctr.id).upper);
  } catch (err) {
    log.warn("getting rw size for container {id}: {err}", {
      id: ctr.id,
      err: err instanceof Error ? err.message : String(err),
    });
    return 0;
  }
}
