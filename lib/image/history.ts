/**
 * `history`: an image's history entries, newest first, as podman's libimage lists them. The
 * newest entry carries the image's ID; walking down, an entry that made a layer carries that
 * layer's size, and the first entry met on a layer that is the top of another local image (same
 * layers below) carries that image's ID; everything else is `<missing>`.
 *
 * Sizes are denopod's layer sizes (the apparent size measured at commit, the figure `images`
 * adds up), where podman shows the layer tar's length.
 *
 * @example
 * ```ts
 * for (const entry of imageHistory(runtime, runtime.images.resolve("fixture:2"))) {
 *   console.log(entry.id.slice(0, 12), entry.createdBy);
 * }
 * ```
 * @module
 */
import type { RuntimeContext } from "../container/context.ts";
import type { ImageRecord } from "../storage/images.ts";

/** The ID shown for an entry with no image of its own. */
export const MISSING_ID = "<missing>";

/** One history entry. */
export interface HistoryEntry {
  /** An image ID (64 hex), or `<missing>`. */
  id: string;
  /** When the step ran, as the config says (RFC 3339), or the image's creation time. */
  created: string;
  /** The command of the step. */
  createdBy: string;
  /** Bytes of the layer the step made; 0 for a step that made none. */
  size: number;
  /** The step's comment. */
  comment: string;
}

/** The history of `image`, newest first (see the module doc). */
export function imageHistory(ctx: RuntimeContext, image: ImageRecord): HistoryEntry[] {
  const steps = image.config.history ?? [];
  const others = ctx.images.list();
  const used = new Set<string>();
  let layer = image.layers.length - 1; // -1: no layer left to attribute
  const entries: HistoryEntry[] = [];
  for (let x = steps.length - 1; x >= 0; x--) {
    const step = steps[x];
    const entry: HistoryEntry = {
      id: x === steps.length - 1 ? image.id : MISSING_ID,
      created: step.created ?? image.config.created ?? image.created,
      createdBy: step.created_by ?? "",
      size: 0,
      comment: step.comment ?? "",
    };
    if (layer >= 0) {
      if (!step.empty_layer) entry.size = ctx.layers.get(image.layers[layer])?.size ?? 0;
      const chain = image.layers.slice(0, layer + 1);
      const tops = others.filter((other) => sameLayers(other.layers, chain));
      const top = tops.find((other) => other.id === image.id) ?? tops[0];
      if (top !== undefined && !used.has(top.id)) {
        entry.id = top.id;
        used.add(top.id);
      }
      if (layer > 0 && !step.empty_layer) layer--;
    }
    entries.push(entry);
  }
  return entries;
}

function sameLayers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
