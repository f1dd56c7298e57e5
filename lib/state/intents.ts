/**
 * Intent records: the trail a destructive or multi-step action leaves before it acts. A command
 * writes one in the same transaction that claims the resource ("creating container X", "deleting
 * layer Y into tmp-del-Y", "writing export to PATH.tmp"), clears it when done, and a later
 * command finds the ones whose writer died (`lib/housekeeping/replay.ts` replays or undoes them).
 * Each row carries the writer's PID, its start time and the boot ID, so an intent whose writer is
 * alive is never taken for stale. Listing them is one query on a table that is empty when nothing
 * was interrupted.
 *
 * @example
 * ```ts
 * const intents = new IntentLog(db);
 * db.transaction(() => { repo.insert(record); id = intents.record("create", record.config.id); });
 * // ... the work ...
 * intents.clear(id);
 * ```
 * @module
 */
import type { StateDb } from "./db.ts";
import { bootId, isSameProcessAlive, processStartTime } from "../sys/identity.ts";

/** What an intent says was under way. */
export type IntentKind =
  /** A container being created (`target`: its ID): undone by removing it. */
  | "create"
  /** A container being started (`target`: its ID; `detail.status`: the status before). */
  | "start"
  /** A container being removed (`target`: its ID): finished by removing the rest. */
  | "remove"
  /** An image layer being deleted (`target`: the layer ID; `detail.aside`: its `tmp-del-` dir). */
  | "delete-layer"
  /** A container's rootfs being exported (`target`: its ID; `detail.tmp`, `detail.unmount`). */
  | "export"
  /** An output file being written beside its target (`target`: the temporary file). */
  | "write-output";

/** One intent as stored. */
export interface Intent {
  id: number;
  kind: IntentKind;
  target: string;
  detail: Record<string, unknown>;
  pid: number;
  pidStart: string;
  bootId: string;
  created: string;
}

interface IntentRow {
  id: number;
  kind: string;
  target: string;
  detail: string;
  pid: number;
  pid_start: string;
  boot_id: string;
  created: string;
}

let self: { pid: number; start: string; boot: string } | undefined;

function writer(): { pid: number; start: string; boot: string } {
  self ??= { pid: Deno.pid, start: processStartTime(Deno.pid), boot: bootId() };
  return self;
}

/** Reads and writes the `intents` table; see the module doc. */
export class IntentLog {
  constructor(private readonly db: StateDb) {}

  /** Records an intent of this process; returns its ID. Call inside the claiming transaction. */
  record(kind: IntentKind, target: string, detail: Record<string, unknown> = {}): number {
    const me = writer();
    this.db.run(
      "INSERT INTO intents (kind, target, detail, pid, pid_start, boot_id, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
      kind,
      target,
      JSON.stringify(detail),
      me.pid,
      me.start,
      me.boot,
      new Date().toISOString(),
    );
    return Number(this.db.get<{ id: number }>("SELECT last_insert_rowid() AS id")?.id ?? 0);
  }

  /** Clears an intent (the action is done, or undone). Unknown IDs are ignored. */
  clear(id: number | undefined): void {
    if (id === undefined) return;
    this.db.run("DELETE FROM intents WHERE id = ?", id);
  }

  /** Every intent, oldest first: one query, cheap when there are none. */
  list(): Intent[] {
    return this.db.all<IntentRow>(`SELECT ${COLUMNS} FROM intents ORDER BY id`).map(fromRow);
  }

  /** The intents on one target (a container ID, a layer ID, a path), oldest first. */
  forTarget(target: string): Intent[] {
    return this.db.all<IntentRow>(
      `SELECT ${COLUMNS} FROM intents WHERE target = ? ORDER BY id`,
      target,
    ).map(fromRow);
  }
}

const COLUMNS = "id, kind, target, detail, pid, pid_start, boot_id, created";

function fromRow(row: IntentRow): Intent {
  let detail: Record<string, unknown> = {};
  try {
    detail = JSON.parse(row.detail);
  } catch {
    // a damaged detail: the kind and target still say what to undo
  }
  return {
    id: row.id,
    kind: row.kind as IntentKind,
    target: row.target,
    detail,
    pid: row.pid,
    pidStart: row.pid_start,
    bootId: row.boot_id,
    created: row.created,
  };
}

/** True when the process that wrote `intent` is gone (another boot, or its PID is dead or reused). */
export function isStale(intent: Intent): boolean {
  if (intent.bootId !== writer().boot) return true;
  if (intent.pid === Deno.pid && intent.pidStart === writer().start) return false;
  return !isSameProcessAlive(intent.pid, intent.pidStart);
}
