/**
 * The SQLite state database (`<root>/state.db`, `node:sqlite`): WAL journal, a busy timeout so
 * concurrent invocations wait instead of failing, a schema version with forward migrations, and
 * explicit `BEGIN IMMEDIATE` transactions (node:sqlite has no helper).
 *
 * @example
 * ```ts
 * const db = openStateDb("/var/lib/denopod/state.db");
 * db.transaction(() => db.run("DELETE FROM exit_codes WHERE id = ?", id));
 * db.close();
 * ```
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { DenopodError } from "../errors.ts";

/** How long a command waits for another invocation's write transaction, in milliseconds. */
export const BUSY_TIMEOUT_MS = 60_000;

/** The schema, one entry per version; entry N migrates version N to N+1. */
const MIGRATIONS: string[] = [
  `CREATE TABLE layers (
     id TEXT PRIMARY KEY,          -- the diff ID's hex for image layers
     diff_id TEXT,
     size INTEGER NOT NULL DEFAULT 0,
     complete INTEGER NOT NULL DEFAULT 0,
     created TEXT NOT NULL
   );
   CREATE TABLE images (
     id TEXT PRIMARY KEY,          -- sha256 hex of the config
     config TEXT NOT NULL,         -- the image config JSON, as stored
     layers TEXT NOT NULL,         -- JSON array of layer IDs, bottom first
     created TEXT NOT NULL
   );
   CREATE TABLE image_names (
     name TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     position INTEGER NOT NULL
   );
   CREATE INDEX image_names_by_image ON image_names(image_id);
   CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL REFERENCES images(id),
     config TEXT NOT NULL,
     state TEXT NOT NULL
   );
   CREATE INDEX containers_by_image ON containers(image_id);
   CREATE TABLE exit_codes (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     exit_code INTEGER NOT NULL,
     finished TEXT NOT NULL
   );`,
  // the event journal (lib/events/journal.ts): one row per state change, written in the same
  // transaction as the change; time in nanoseconds since the epoch
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     time_ns INTEGER NOT NULL,
     type TEXT NOT NULL,           -- container, image, system
     status TEXT NOT NULL,         -- create, start, died, remove, tag, prune, ...
     object_id TEXT NOT NULL DEFAULT '',
     name TEXT NOT NULL DEFAULT '',
     image TEXT NOT NULL DEFAULT '',
     exit_code INTEGER,            -- died and exec_died only
     attributes TEXT               -- JSON object (a container's labels), or NULL
   );
   CREATE INDEX events_by_time ON events(time_ns);
   CREATE INDEX events_by_status ON events(status);`,
  // networks: addresses leased to containers, and host ports published, while set up (IF NOT
  // EXISTS: whatever place this entry takes among the branches' migrations, it applies once)
  `CREATE TABLE IF NOT EXISTS network_leases (
     network TEXT NOT NULL,
     ip TEXT NOT NULL,
     container_id TEXT NOT NULL,
     PRIMARY KEY (network, ip)
   );
   CREATE INDEX IF NOT EXISTS network_leases_by_container ON network_leases(container_id);
   CREATE TABLE IF NOT EXISTS published_ports (
     protocol TEXT NOT NULL,
     host_port INTEGER NOT NULL,
     host_ip TEXT NOT NULL,
     container_id TEXT NOT NULL,
     PRIMARY KEY (protocol, host_port, host_ip)
   );
   CREATE INDEX IF NOT EXISTS published_ports_by_container ON published_ports(container_id);`,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database file was written by a newer denopod, or is not a denopod database. */
export class StateDbError extends DenopodError {}

/** An open state database with statement caching and transactions. */
export class StateDb {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a write statement; returns the number of rows changed. */
  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#prepare(sql).run(...params).changes);
  }

  /** Runs one or more statements that take no parameters (schema changes). */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** Returns the first row of a query, or undefined. */
  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#prepare(sql).get(...params) as T | undefined;
  }

  /** Returns every row of a query. */
  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#prepare(sql).all(...params) as T[];
  }

  /**
   * Runs `fn` inside one `BEGIN IMMEDIATE` transaction (nested calls join the outer one):
   * committed when it returns, rolled back when it throws.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth--;
    }
  }

  /** Closes the database. */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

/**
 * Opens (creating and migrating as needed) the state database at `path`. A file SQLite cannot
 * use (not a database, unreadable) gives StateDbError naming the path.
 */
export function openStateDb(path: string): StateDb {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  } catch (err) {
    throw unusable(path, err);
  }
  try {
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    const state = new StateDb(db);
    migrate(state);
    return state;
  } catch (err) {
    db.close();
    throw err instanceof DenopodError ? err : unusable(path, err);
  }
}

function unusable(path: string, err: unknown): StateDbError {
  const reason = err instanceof Error ? err.message : String(err);
  return new StateDbError(`cannot use the state database ${path}: ${reason}`, { cause: err });
}

function migrate(state: StateDb): void {
  const current = state.get<{ user_version: number }>("PRAGMA user_version")?.user_version ?? 0;
  if (current === SCHEMA_VERSION) return;
  if (current > SCHEMA_VERSION) {
    throw new StateDbError(
      `state database schema ${current} is newer than this denopod understands (${SCHEMA_VERSION})`,
    );
  }
  state.transaction(() => {
    const again = state.get<{ user_version: number }>("PRAGMA user_version")?.user_version ?? 0;
    for (let version = again; version < SCHEMA_VERSION; version++) {
      state.exec(MIGRATIONS[version]);
    }
    state.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}
