/**
 * Whether an interrupted command left layer work behind for the next command to clean up (see
 * `LayerStore.removeIncomplete` in `./layers.ts`): a layer row still marked incomplete, or a
 * layer claim's scratch directory (`<root>/tmp/layer-claim-<token>`). One query and one short
 * directory listing, so a command that only reads can skip loading the layer store's code.
 * @module
 */
import type { Paths } from "../paths.ts";
import type { StateDb } from "../state/db.ts";

/** The name of a layer claim's scratch directory under `<root>/tmp`, before its token. */
export const CLAIM_PREFIX = "layer-claim-";

/** True when there may be incomplete layers or abandoned claims to clean up. */
export function hasLayerLeftovers(paths: Paths, db: StateDb): boolean {
  if (db.get("SELECT 1 AS one FROM layers WHERE complete = 0 LIMIT 1") !== undefined) return true;
  try {
    for (const entry of Deno.readDirSync(paths.tmpDir)) {
      if (entry.name.startsWith(CLAIM_PREFIX)) return true;
    }
  } catch {
    return true; // cannot tell: let the layer store look
  }
  return false;
}
