/**
 * Where a layer keeps its tar-split (see `split.ts`), in a module of its own so that asking
 * whether a layer has one does not load the recorder, zlib and crypto.
 * @module
 */
import { join } from "../../util/path.ts";

/** The file a layer's tar-split is kept in, inside the layer's directory. */
export const TAR_SPLIT_FILE = "tar-split.gz";
/** The directory bodies moved out of the tree are kept in, inside the layer's directory. */
export const TAR_SPLIT_BODIES_DIR = "tar-split-bodies";
/** The layer tree the recorded paths are relative to, inside the layer's directory. */
export const LAYER_TREE_DIR = "diff";

/** True when the layer directory holds a tar-split file. */
export function hasTarSplit(layerDir: string): boolean {
  try {
    return Deno.statSync(join(layerDir, TAR_SPLIT_FILE)).isFile;
  } catch {
    return false;
  }
}
