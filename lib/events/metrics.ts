/**
 * `system metrics`: the store's figures in the Prometheus text exposition format 0.0.4, with
 * `# HELP` and `# TYPE` lines and the `denopod_` prefix, in base units (bytes, seconds):
 *
 * - `denopod_containers{state=...}` (gauge, every state listed, 0 included)
 * - `denopod_images`, `denopod_image_bytes`, `denopod_container_rw_bytes` (gauges)
 * - `denopod_reclaimable_bytes{type="images"|"containers"|"volumes"}` (gauge)
 * - `denopod_container_exits_total{code=...}` (counter: `died` events in the journal; it counts
 *   the journal's bounded history, 30 days or 100,000 events)
 * - `denopod_last_prune_timestamp_seconds` (gauge; 0 when no prune is in the journal)
 * - `denopod_check_problems` (gauge) when a `system check` result is supplied
 *
 * The figures come from `system df`'s kept sizes: no image layer is walked.
 *
 * @example
 * ```ts
 * const text = renderMetrics(collectMetrics(runtime));
 * await writeTextfile("/var/lib/node_exporter/denopod.prom", text);
 * ```
 * @module
 */
import { basename, dirname, join } from "../util/path.ts";
import type { RuntimeContext } from "../container/context.ts";
import { CONTAINER_STATUSES, statusName } from "../container/status.ts";
import { diskUsage, summaryRows } from "../housekeeping/df.ts";
import { exitCounts, lastEventTime } from "./journal.ts";
import { DenopodError } from "../errors.ts";

/** `--textfile` could not be written (named in the message, with the reason). */
export class TextfileError extends DenopodError {}

/** The states `denopod_containers` lists (podman's names, as `ps` shows them). */
export const METRIC_STATES: readonly string[] = [...new Set(CONTAINER_STATUSES.map(statusName))];

/** The figures one exposition shows. */
export interface MetricsSnapshot {
  containersByState: Map<string, number>;
  images: number;
  imageBytes: number;
  containerRwBytes: number;
  reclaimable: { images: number; containers: number; volumes: number };
  exitsByCode: Map<number, number>;
  /** Seconds since the epoch of the last prune, 0 when none is recorded. */
  lastPruneSeconds: number;
  /** Problems the last `system check` found, when one recorded its result. */
  checkProblems?: number;
}

/** Gathers the figures from the database, the kept sizes and the journal. */
export function collectMetrics(ctx: RuntimeContext): MetricsSnapshot {
  const usage = diskUsage(ctx);
  const [images, containers, volumes] = summaryRows(usage);
  const containersByState = new Map<string, number>(METRIC_STATES.map((s) => [s, 0]));
  for (const record of ctx.containers.list()) {
    const state = statusName(record.state.status);
    containersByState.set(state, (containersByState.get(state) ?? 0) + 1);
  }
  const lastPrune = lastEventTime(ctx.db, "system", "prune");
  return {
    containersByState,
    images: usage.images.length,
    imageBytes: usage.imagesSize,
    containerRwBytes: containers.RawSize,
    reclaimable: {
      images: images.RawReclaimable,
      containers: containers.RawReclaimable,
      volumes: volumes.RawReclaimable,
    },
    exitsByCode: exitCounts(ctx.db),
    lastPruneSeconds: lastPrune === undefined ? 0 : Number(lastPrune / 1_000_000n) / 1000,
  };
}

/** Escapes a label value as the exposition format asks (backslash, quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function family(
  name: string,
  type: "gauge" | "counter",
  help: string,
  samples: Array<[labels: Record<string, string>, value: number]>,
): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
    lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`);
  }
  return lines.join("\n") + "\n";
}

/** The snapshot as exposition text (each family once, `# HELP`, `# TYPE`, then its samples). */
export function renderMetrics(m: MetricsSnapshot): string {
  const parts = [
    family(
      "denopod_containers",
      "gauge",
      "Containers in the store, by state.",
      [...m.containersByState].map(([state, n]) => [{ state }, n]),
    ),
    family("denopod_images", "gauge", "Images in the store.", [[{}, m.images]]),
    family(
      "denopod_image_bytes",
      "gauge",
      "Bytes of image layers, each layer counted once.",
      [[{}, m.imageBytes]],
    ),
    family(
      "denopod_container_rw_bytes",
      "gauge",
      "Bytes of the containers' writable layers.",
      [[{}, m.containerRwBytes]],
    ),
    family(
      "denopod_reclaimable_bytes",
      "gauge",
      "Bytes a prune could free, by type.",
      [
        [{ type: "images" }, m.reclaimable.images],
        [{ type: "containers" }, m.reclaimable.containers],
        [{ type: "volumes" }, m.reclaimable.volumes],
      ],
    ),
    family(
      "denopod_container_exits_total",
      "counter",
      "Container exits in the event journal, by exit code.",
      [...m.exitsByCode].map(([code, n]) => [{ code: String(code) }, n]),
    ),
    family(
      "denopod_last_prune_timestamp_seconds",
      "gauge",
      "When a prune last ran, in seconds since the epoch (0: never).",
      [[{}, m.lastPruneSeconds]],
    ),
  ];
  if (m.checkProblems !== undefined) {
    parts.push(
      family(
        "denopod_check_problems",
        "gauge",
        "Problems the last system check found.",
        [[{}, m.checkProblems]],
      ),
    );
  }
  return parts.join("");
}

/**
 * Writes `text` to `path` atomically: a temporary file in the same directory (a dot-name that
 * does not end in `.prom`, so node_exporter's textfile collector never reads it half-written),
 * then a rename over `path`. On failure the temporary file is removed.
 */
export async function writeTextfile(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let renamed = false;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: 0o644 });
    await Deno.rename(temp, path);
    renamed = true;
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such directory"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new TextfileError(`cannot write metrics to ${path}: ${why}`, { cause: err });
  } finally {
    if (!renamed) await Deno.remove(temp).catch(() => {});
  }
}
