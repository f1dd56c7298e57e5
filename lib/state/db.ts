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
  // intents: the trail a multi-step or destructive action leaves before it acts (lib/state/intents.ts)
  `CREATE TABLE intents (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,           -- create, start, remove, delete-layer, export, write-output
     target TEXT NOT NULL,         -- a container ID, a layer ID, an output path
     detail TEXT NOT NULL DEFAULT '{}',
     pid INTEGER NOT NULL,         -- the writer's PID ...
     pid_start TEXT NOT NULL,      -- ... its start time (a reused PID is another process) ...
     boot_id TEXT NOT NULL,        -- ... and boot: the intent is stale once that process is gone
     created TEXT NOT NULL
   );
   CREATE INDEX intents_by_target ON intents(target);`,
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

/** The filesystem holding the database is full (SQLITE_FULL, or an I/O error growing a file). */
export class DiskFullError extends StateDbError {}

/** SQLite's primary result codes that mean "no space": SQLITE_IOERR (10), SQLITE_FULL (13). */
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;

/** True when `err` is SQLite saying the disk is full (or could not grow a file). */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === "number" &&
    ((code & 0xff) === SQLITE_FULL || (code & 0xff) === SQLITE_IOERR);
}

/** An open state database with statement caching and transactions. */
export class StateDb {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;
  /** Something was written through this connection (so its close checkpoints the WAL). */
  #wrote = false;

  /**
   * `path` is the file (for the WAL keeper at close); `readOnly` marks a database opened
   * read-only because the disk is full: every write then fails with DiskFullError.
   */
  constructor(db: DatabaseSync, readonly path = "", readonly readOnly = false) {
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
    if (this.readOnly) throw this.#full();
    this.#wrote = true;
    try {
      return Number(this.#prepare(sql).run(...params).changes);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // outside a transaction the failed statement was rolled back whole: free the WAL, retry once
      if (this.#depth > 0 || !this.#freeWal()) throw this.#full(err);
      try {
        return Number(this.#prepare(sql).run(...params).changes);
      } catch (again) {
        throw isDiskFull(again) ? this.#full(again) : again;
      }
    }
  }

  /**
   * On a full disk: checkpoints the WAL into the main file and truncates it, giving its blocks
   * back for the retried write. True when it did.
   */
  #freeWal(): boolean {
    try {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      return true;
    } catch {
      return false;
    }
  }

  #full(cause?: unknown): DiskFullError {
    return new DiskFullError(
      `cannot write the state database ${this.path}: the disk holding it is full`,
      { cause },
    );
  }

  /** Runs one or more statements that take no parameters (schema changes). */
  exec(sql: string): void {
    this.#wrote = true;
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
   * committed when it returns, rolled back when it throws. With `retryWhenFull`, a transaction
   * that fails on a full disk runs once more after the WAL is truncated (its blocks freed): only
   * for an `fn` that touches nothing but the database, as a removal's last write ("delete before
   * writing": the files go first, then the rows).
   */
  transaction<T>(fn: () => T, options: { retryWhenFull?: boolean } = {}): T {
    if (this.#depth > 0) return fn();
    if (this.readOnly) throw this.#full();
    if (options.retryWhenFull) {
      try {
        return this.transaction(fn);
      } catch (err) {
        if (!(err instanceof DiskFullError) || !this.#freeWal()) throw err;
        return this.transaction(fn);
      }
    }
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      throw isDiskFull(err) ? this.#full(err) : err;
    }
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw isDiskFull(err) ? this.#full(err) : err;
    } finally {
      this.#depth--;
    }
  }

  /**
   * Closes the database, keeping its `-wal` and `-shm` files (already sized) for the next run: a
   * command on a full disk can then still open it, and write as long as the WAL it reuses is big
   * enough. SQLite deletes them when the last connection closes; a read-only keeper connection in
   * a read transaction makes this close not the last, and a read-only close deletes nothing. A
   * connection that wrote checkpoints the WAL first, so the main file is up to date for a
   * read-only (immutable) open; one that only read (`ps`, `images`, `inspect`) does not: the last
   * writer's close did, and a checkpoint after the WAL index was rebuilt on open would copy every
   * page of the kept WAL into the main file again (and sync both) on each read-only command.
   */
  close(): void {
    this.#statements.clear();
    if (this.readOnly || this.path === "" || this.path === ":memory:") {
      this.#db.close();
      return;
    }
    let keeper: DatabaseSync | undefined;
    try {
      if (this.#wrote) this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      keeper = new DatabaseSync(this.path, { readOnly: true, timeout: 50 });
      keeper.exec("BEGIN");
      keeper.prepare("SELECT count(*) FROM sqlite_master").get();
    } catch {
      // no keeper: SQLite deletes the WAL as usual
    }
    this.#db.close();
    if (keeper) {
      try {
        keeper.exec("COMMIT");
      } catch {
        // closing anyway
      }
      keeper.close();
    }
  }
}

/**
 * Opens (creating and migrating as needed) the state database at `path`. A file SQLite cannot
 * use (not a database, unreadable) gives StateDbError naming the path.
 */
export function openStateDb(path: string): StateDb {
  // SQLite answers "database is locked" without waiting while another process switches a new
  // database to WAL or recovers its WAL index (the busy handler does not cover those): try again
  // for as long as the busy timeout would have waited.
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let pause = 5;; pause = Math.min(pause * 2, 100)) {
    try {
      return openStateDbOnce(path);
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}

/** True when `err` (or its cause) is SQLite's SQLITE_BUSY, "database is locked". */
function isBusy(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/database is locked/.test(e.message)) return true;
  }
  return false;
}

function openStateDbOnce(path: string): StateDb {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  } catch (err) {
    throw unusable(path, err);
  }
  try {
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    const state = new StateDb(db, path);
    migrate(state);
    return state;
  } catch (err) {
    db.close();
    if (isDiskFull(err) && !(err instanceof DenopodError)) return openFullDisk(path, err);
    throw err instanceof DenopodError ? err : unusable(path, err);
  }
}

/**
 * The disk is full and SQLite cannot even make the WAL index: opens the main file read-only and
 * immutable (no lock, no WAL, no `-shm`), which works as the last close checkpointed the WAL.
 * `ps` and `images` then answer; writes fail with DiskFullError.
 */
function openFullDisk(path: string, cause: unknown): StateDb {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(`file:${encodeURI(path)}?immutable=1`, {
      readOnly: true,
      enableForeignKeyConstraints: true,
    });
    const version = db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (version.user_version !== SCHEMA_VERSION) {
      db.close();
      throw new DiskFullError(
        `cannot migrate the state database ${path}: the disk holding it is full`,
        { cause },
      );
    }
  } catch (err) {
    if (err instanceof DenopodError) throw err;
    throw unusable(path, cause);
  }
  return new StateDb(db, path, true);
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
