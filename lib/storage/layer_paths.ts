/**
 * Where a container's read-write layer lives: `<root>/layers/<ctrId>/{diff,work,merged}`. Paths
 * only, so that what shows a container (`inspect`) finds them without the overlay's mount code.
 *
 * @example
 * ```ts
 * containerLayerPaths(paths, ctr.id).merged; // "/var/lib/denopod/layers/<id>/merged"
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import type { Paths } from "../paths.ts";

/** The paths of a container's RW layer. */
export interface ContainerLayerPaths {
  upper: string;
  work: string;
  merged: string;
}

/** Returns where a container's RW layer lives. */
export function containerLayerPaths(paths: Paths, ctrId: string): ContainerLayerPaths {
  const dir = paths.layerDir(ctrId);
  return { upper: join(dir, "diff"), work: join(dir, "work"), merged: join(dir, "merged") };
}
