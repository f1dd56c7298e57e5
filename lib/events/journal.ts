/**
 * The event journal: one row in the `events` table per state change of a container or an image,
 * written in the same transaction as the change it records (so none is lost or invented), with
 * podman's statuses (`create`, `init`, `start`, `died`, `stop`, `cleanup`, `remove`, `mount`,
 * `unmount`, `pause`, `unpause`, `restart`, `exec`; images `import`, `load`, `save`, `tag`,
 * `untag`, `remove`; `system prune`, `system reset`) and the time in nanoseconds. History is
 * bounded: {@linkcode trimEvents} keeps 30 days and at most 100,000 rows.
 *
 * @example
 * ```ts
 * saveWithEvents(ctr, "pause");                   // ctr.save() and the event, one transaction
 * recordEvent(db, imageEvent("tag", id, "localhost/busybox:latest"));
 * ```
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import type { StateDb } from "../state/db.ts";
import { CLOCK_ENV, now } from "../util/clock.ts";

/** What an event is about. */
export type EventType = "container" | "image" | "system";

/** One event as written. */
export interface EventInput {
  type: EventType;
  status: string;
  /** Container or image ID ("" when none, e.g. `system prune`). */
  id?: string;
  /** Container name, or the image name the event concerns (a tag, a path for `save`). */
  name?: string;
  /** The container's image name. */
  image?: string;
  /** The exit code (`died`, `exec_died`). */
  exitCode?: number;
  /** A container's labels. */
  attributes?: Record<string, string>;
}

/** One event as stored. */
export interface EventRecord {
  seq: number;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  type: EventType;
  status: string;
  id: string;
  name: string;
  image: string;
  exitCode: number | null;
  attributes: Record<string, string> | null;
}

/** The container fields an event needs (a Container, or a record from the repo). */
export interface ContainerEventSource {
  readonly config: {
    readonly id: string;
    readonly name: string;
    readonly imageName: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly state?: { readonly exitCode: number };
}

/** Events older than this many nanoseconds are trimmed (30 days). */
export const EVENTS_MAX_AGE_NS = 30n * 24n * 3600n * 1_000_000_000n;
/** At most this many events are kept. */
export const EVENTS_MAX_ROWS = 100_000;

/**
 * The current time in nanoseconds: the system clock with microsecond resolution, or exactly the
 * time `DENOPOD_NOW` names (tests).
 */
export function nowNs(): bigint {
  const fixed = Deno.env.get(CLOCK_ENV);
  if (fixed !== undefined && fixed !== "") return BigInt(now().getTime()) * 1_000_000n;
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** The event `status` of container `source` (`died` carries its recorded exit code). */
export function containerEvent(source: ContainerEventSource, status: string): EventInput {
  const { config } = source;
  return {
    type: "container",
    status,
    id: config.id,
    name: config.name,
    image: config.imageName,
    attributes: { ...config.labels },
    exitCode: status === "died" ? source.state?.exitCode : undefined,
  };
}

/** The event `status` of image `id`, naming `name` (a tag, or a path for `save`). */
export function imageEvent(status: string, id: string, name = ""): EventInput {
  return { type: "image", status, id, name };
}

/** Writes one event (inside the caller's transaction when there is one). */
export function recordEvent(db: StateDb, event: EventInput): void {
  db.run(
    "INSERT INTO events (time_ns, type, status, object_id, name, image, exit_code, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    nowNs(),
    event.type,
    event.status,
    event.id ?? "",
    event.name ?? "",
    event.image ?? "",
    event.exitCode ?? null,
    event.attributes === undefined ? null : JSON.stringify(event.attributes),
  );
}

/** Writes several events (inside the caller's transaction when there is one). */
export function recordEvents(db: StateDb, events: EventInput[]): void {
  for (const event of events) recordEvent(db, event);
}

/**
 * Runs `change` and writes the events `eventsOf` makes from its result, in one transaction;
 * returns what `change` returned.
 */
export function withEvents<T>(
  db: StateDb,
  change: () => T,
  eventsOf: (result: T) => EventInput[],
): T {
  return db.transaction(() => {
    const result = change();
    recordEvents(db, eventsOf(result));
    return result;
  });
}

/** Runs `change` and writes the container's events in one transaction; returns what it returned. */
export function journaled<T>(
  db: StateDb,
  source: ContainerEventSource,
  statuses: string[],
  change: () => T,
): T {
  return db.transaction(() => {
    const result = change();
    for (const status of statuses) recordEvent(db, containerEvent(source, status));
    return result;
  });
}

/** `ctr.save()` and the container's events `statuses`, in one transaction. */
export function saveWithEvents(
  ctr: ContainerEventSource & { readonly ctx: { readonly db: StateDb }; save(): void },
  ...statuses: string[]
): void {
  journaled(ctr.ctx.db, ctr, statuses, () => ctr.save());
}

/** Which events {@linkcode listEvents} returns. */
export interface EventQuery {
  /** Only events at or after this time (ns). */
  sinceNs?: bigint;
  /** Only events at or before this time (ns). */
  untilNs?: bigint;
  /** Only events written after this sequence number (following a stream). */
  afterSeq?: number;
}

interface EventRow {
  seq: number;
  time_ns: string;
  type: EventType;
  status: string;
  object_id: string;
  name: string;
  image: string;
  exit_code: number | null;
  attributes: string | null;
}

/** Events in the order they were written. */
export function listEvents(db: StateDb, query: EventQuery = {}): EventRecord[] {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (query.sinceNs !== undefined) {
    where.push("time_ns >= ?");
    params.push(query.sinceNs);
  }
  if (query.untilNs !== undefined) {
    where.push("time_ns <= ?");
    params.push(query.untilNs);
  }
  if (query.afterSeq !== undefined) {
    where.push("seq > ?");
    params.push(query.afterSeq);
  }
  const rows = db.all<EventRow>(
    `SELECT seq, CAST(time_ns AS TEXT) AS time_ns, type, status, object_id, name, image, exit_code,
       attributes FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq`,
    ...params,
  );
  return rows.map((row) => ({
    seq: row.seq,
    timeNs: BigInt(row.time_ns),
    type: row.type,
    status: row.status,
    id: row.object_id,
    name: row.name,
    image: row.image,
    exitCode: row.exit_code,
    attributes: row.attributes === null ? null : JSON.parse(row.attributes),
  }));
}

/** Exit codes of `died` events and how often each was seen (for the exits counter). */
export function exitCounts(db: StateDb): Map<number, number> {
  const rows = db.all<{ code: number; n: number }>(
    "SELECT exit_code AS code, COUNT(*) AS n FROM events WHERE status = 'died' AND type = 'container' GROUP BY exit_code ORDER BY exit_code",
  );
  return new Map(rows.map((r) => [r.code ?? -1, r.n]));
}

/** The time of the newest event of `status` and `type` in nanoseconds, or undefined. */
export function lastEventTime(db: StateDb, type: EventType, status: string): bigint | undefined {
  const row = db.get<{ t: string | null }>(
    "SELECT CAST(MAX(time_ns) AS TEXT) AS t FROM events WHERE type = ? AND status = ?",
    type,
    status,
  );
  return row?.t ? BigInt(row.t) : undefined;
}

/**
 * Deletes events older than 30 days before `atNs`, then all but the newest 100,000; returns how
 * many went.
 */
export function trimEvents(db: StateDb, atNs: bigint = nowNs()): number {
  return db.transaction(() =>
    db.run("DELETE FROM events WHERE time_ns < ?", atNs - EVENTS_MAX_AGE_NS) +
    db.run(
      "DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      EVENTS_MAX_ROWS,
    )
  );
}

/** The sequence number of the newest event, 0 when there is none. */
export function lastEventSeq(db: StateDb): number {
  return db.get<{ s: number | null }>("SELECT MAX(seq) AS s FROM events")?.s ?? 0;
}
