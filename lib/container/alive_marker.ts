/**
 * The runroot's `alive` marker: written with this boot's ID after a refresh, so a command that
 * finds it naming this boot has nothing to refresh (one small read), and one that does not loads
 * the refresh (`./refresh.ts`).
 * @module
 */
import { bootId } from "../sys/identity.ts";

/** True when the marker at `path` exists and names this boot. */
export function aliveMarkerIsCurrent(path: string): boolean {
  try {
    return Deno.readTextFileSync(path).trim() === bootId();
  } catch {
    return false;
  }
}
