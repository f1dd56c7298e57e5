/**
 * Pruning, for cron: `container prune` removes containers that are not running (created,
 * stopped, exited); `image prune` removes dangling images (no name), or with `all` every image no
 * container uses; `system prune` does both, then the layer directories a killed `rmi` set aside
 * (`layers/tmp-del-*`), then trims the event journal. Filters: `until=` (a duration or a time:
 * only what was created before it), `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`.
 *
 * A container whose lock another process holds is skipped (listed in `skipped`), never waited
 * for: a prune run from cron never hangs behind a long `stop`, and the next run gets it.
 *
 * @example
 * ```ts
 * const filter = parsePruneFilters(["until=24h"], now());
 * const { removed } = await pruneContainers(runtime, filter);
 * ```
 * @module
 */
import { ContainerRemovedError, ImageInUseError, InvalidArgError } from "../errors.ts";
import type { RuntimeContext } from "../container/context.ts";
import { Container } from "../container/container.ts";
import { removeContainer } from "../container/remove.ts";
import { removeImage } from "../image/remove.ts";
import { removeTree } from "../storage/layers.ts";
import { treeSize } from "../storage/size.ts";
import { parseTimeInput } from "../util/humanize.ts";
import { recordEvent, trimEvents } from "../events/journal.ts";
import type { ContainerStatus } from "../container/status.ts";
import { logger } from "../log.ts";

const log = logger("prune");

/** A label condition: the key, and the value when one was given. */
interface LabelTest {
  key: string;
  value?: string;
}

/** Parsed `--filter` values of the prune commands. */
export interface PruneFilter {
  /** Only what was created before this time. */
  until?: Date;
  /** Labels that must all be present (with the value, when given). */
  labels: LabelTest[];
  /** Labels that must not be present (with the value, when given). */
  notLabels: LabelTest[];
}

function parseLabel(value: string): LabelTest {
  const eq = value.indexOf("=");
  return eq < 0 ? { key: value } : { key: value.slice(0, eq), value: value.slice(eq + 1) };
}

/** Parses `until=`, `label=`, `label!=` filters; throws InvalidArgError naming a bad one. */
export function parsePruneFilters(specs: string[], now: Date): PruneFilter {
  const filter: PruneFilter = { labels: [], notLabels: [] };
  for (const spec of specs) {
    const neq = spec.indexOf("!=");
    const eq = spec.indexOf("=");
    if (neq >= 0 && neq < eq && spec.slice(0, neq) === "label") {
      filter.notLabels.push(parseLabel(spec.slice(neq + 2)));
      continue;
    }
    if (eq < 0) throw new InvalidArgError(`invalid filter "${spec}": must be KEY=VALUE`);
    const key = spec.slice(0, eq);
    const value = spec.slice(eq + 1);
    if (key === "until") {
      filter.until = parseTimeInput(value, now);
    } else if (key === "label") {
      filter.labels.push(parseLabel(value));
    } else {
      throw new InvalidArgError(
        `invalid filter "${key}": supported filters are until, label, label!`,
      );
    }
  }
  return filter;
}

function hasLabel(labels: Readonly<Record<string, string>>, test: LabelTest): boolean {
  return test.key in labels && (test.value === undefined || labels[test.key] === test.value);
}

/** True when something created at `created` with `labels` passes the filter. */
export function filterMatches(
  filter: PruneFilter,
  created: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (filter.until && !(Date.parse(created) < filter.until.getTime())) return false;
  if (!filter.labels.every((t) => hasLabel(labels, t))) return false;
  return !filter.notLabels.some((t) => hasLabel(labels, t));
}

/** One removed container or image and the bytes its removal freed. */
export interface PrunedItem {
  id: string;
  size: number;
}

/** What a container prune did. */
export interface ContainerPruneResult {
  removed: PrunedItem[];
  /** IDs of containers skipped because another process held their lock. */
  skipped: string[];
}

const PRUNABLE: ReadonlySet<ContainerStatus> = new Set([
  "configured",
  "created",
  "stopped",
  "exited",
]);

/** How many containers a prune removes at once (their removal waits mostly on the disk). */
const PRUNE_CONCURRENCY = 4;

/** Removes every container that is not running and passes `filter`; see the module doc. */
export async function pruneContainers(
  ctx: RuntimeContext,
  filter: PruneFilter,
): Promise<ContainerPruneResult> {
  const result: ContainerPruneResult = { removed: [], skipped: [] };
  const candidates = ctx.containers.list().filter((record) =>
    PRUNABLE.has(record.state.status) &&
    filterMatches(filter, record.config.created, record.config.labels)
  );
  const worker = async () => {
    for (let record = candidates.shift(); record; record = candidates.shift()) {
      await pruneOne(new Container(ctx, record), result);
    }
  };
  await Promise.all(Array.from({ length: PRUNE_CONCURRENCY }, worker));
  return result;
}

/** Removes one candidate unless another process holds it or it is running now. */
async function pruneOne(ctr: Container, result: ContainerPruneResult): Promise<void> {
  try {
    if (!ctr.tryLock()) {
      result.skipped.push(ctr.id);
      log.debug("skipped container {id}: locked by another process", { id: ctr.id });
      return;
    }
    // started or changed meanwhile (the lock reloaded the state)
    if (!PRUNABLE.has(ctr.state.status)) return;
    const size = ctr.rwSize();
    await removeContainer(ctr, { force: false });
    result.removed.push({ id: ctr.id, size });
  } catch (err) {
    if (!(err instanceof ContainerRemovedError)) throw err;
  } finally {
    ctr.unlock();
  }
}

/** Options for {@linkcode pruneImages}. */
export interface ImagePruneOptions {
  /** Every image no container uses, not only the dangling ones. */
  all: boolean;
  filter: PruneFilter;
}

/** Removes dangling (or, with `all`, unused) images that pass the filter; see the module doc. */
export async function pruneImages(
  ctx: RuntimeContext,
  options: ImagePruneOptions,
): Promise<PrunedItem[]> {
  const removed: PrunedItem[] = [];
  const used = new Set(ctx.containers.list().map((c) => c.config.imageId));
  for (const image of ctx.images.list()) {
    if (used.has(image.id)) continue;
    if (!options.all && image.names.length > 0) continue;
    const labels = image.config.config?.Labels ?? {};
    if (!filterMatches(options.filter, image.created, labels)) continue;
    const size = uniqueSize(ctx, image.id, image.layers);
    try {
      const { deleted } = await removeImage(ctx, image.id, { force: true });
      if (deleted) removed.push({ id: deleted, size });
    } catch (err) {
      // a container was created from it meanwhile: it is in use now
      if (!(err instanceof ImageInUseError)) throw err;
    }
  }
  return removed;
}

/** Bytes of the image's layers that no other image uses. */
function uniqueSize(ctx: RuntimeContext, imageId: string, layers: string[]): number {
  let total = 0;
  for (const id of new Set(layers)) {
    const shared = ctx.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM images, json_each(images.layers) WHERE images.id != ? AND json_each.value = ?",
      imageId,
      id,
    )?.n ?? 0;
    if (shared === 0) total += ctx.layers.get(id)?.size ?? 0;
  }
  return total;
}

/** Deletes the layer directories a killed `rmi` set aside (`layers/tmp-del-*`); returns bytes. */
export async function pruneLeftovers(ctx: RuntimeContext): Promise<number> {
  let freed = 0;
  for await (const entry of Deno.readDir(ctx.paths.layersDir)) {
    if (!entry.name.startsWith("tmp-del-")) continue;
    const dir = ctx.paths.layerDir(entry.name);
    freed += treeSize(dir);
    await removeTree(dir);
  }
  return freed;
}

/**
 * Records that a prune ran (`system prune` event: `denopod_last_prune_timestamp_seconds`) and
 * trims the journal to its bounds.
 */
export function recordPrune(ctx: RuntimeContext, kind: "container" | "image" | "system"): void {
  ctx.db.transaction(() => {
    recordEvent(ctx.db, { type: "system", status: "prune", name: kind });
    trimEvents(ctx.db);
  });
}
