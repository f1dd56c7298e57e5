/**
 * Container rows in the state database: the config (fixed), the state (changed by lifecycle
 * steps) and the exit-code table that outlives a removed container, so `wait` answers after
 * `run --rm`.
 *
 * @example
 * ```ts
 * const record = repo.find("web");          // by name, full ID or unique ID prefix
 * repo.saveState(record.config.id, state);
 * ```
 * @module
 */
import { AmbiguousNameError, NameInUseError, NoSuchContainerError } from "../errors.ts";
import type { StateDb } from "../state/db.ts";
import type { ContainerConfig, ContainerState } from "./config.ts";

/** A container as stored: its config and its last saved state. */
export interface ContainerRecord {
  config: ContainerConfig;
  state: ContainerState;
}

interface ContainerRow {
  config: string;
  state: string;
}

function fromRow(row: ContainerRow): ContainerRecord {
  return { config: JSON.parse(row.config), state: JSON.parse(row.state) };
}

/** An exit code kept after the container is gone. */
export interface ExitCodeRecord {
  id: string;
  name: string;
  exitCode: number;
  finished: string;
}

/** Reads and writes container rows; see the module doc. */
export class ContainerRepo {
  constructor(private readonly db: StateDb) {}

  /** Every container, newest first. */
  list(): ContainerRecord[] {
    return this.db.all<ContainerRow>(
      "SELECT config, state FROM containers ORDER BY json_extract(config, '$.created') DESC",
    ).map(fromRow);
  }

  /** The container with exactly this ID, or undefined. */
  get(id: string): ContainerRecord | undefined {
    const row = this.db.get<ContainerRow>("SELECT config, state FROM containers WHERE id = ?", id);
    return row && fromRow(row);
  }

  /** Finds by exact name, full ID, or unique ID prefix; undefined when nothing matches. */
  find(nameOrId: string): ContainerRecord | undefined {
    const row = this.db.get<ContainerRow>(
      "SELECT config, state FROM containers WHERE name = ? OR id = ?",
      nameOrId,
      nameOrId,
    );
    if (row) return fromRow(row);
    if (!/^[0-9a-f]{1,63}$/.test(nameOrId)) return undefined;
    const rows = this.db.all<ContainerRow>(
      "SELECT config, state FROM containers WHERE substr(id, 1, length(?)) = ? LIMIT 2",
      nameOrId,
      nameOrId,
    );
    if (rows.length > 1) {
      throw new AmbiguousNameError(
        `more than one result for container ID prefix "${nameOrId}": container ID is ambiguous`,
      );
    }
    return rows.length === 1 ? fromRow(rows[0]) : undefined;
  }

  /** As {@linkcode find}, but throws NoSuchContainerError when nothing matches. */
  resolve(nameOrId: string): ContainerRecord {
    const found = this.find(nameOrId);
    if (!found) throw new NoSuchContainerError(nameOrId);
    return found;
  }

  /** Inserts a new container; a taken name gives NameInUseError (the row is not written). */
  insert(record: ContainerRecord): void {
    const { config, state } = record;
    const taken = this.db.get<{ id: string }>(
      "SELECT id FROM containers WHERE name = ?",
      config.name,
    );
    if (taken) {
      throw new NameInUseError(
        `the container name "${config.name}" is already in use by ${taken.id}. You have to remove that container to be able to reuse that name: that name is already in use`,
      );
    }
    this.db.run(
      "INSERT INTO containers (id, name, image_id, config, state) VALUES (?, ?, ?, ?, ?)",
      config.id,
      config.name,
      config.imageId,
      JSON.stringify(config),
      JSON.stringify(state),
    );
  }

  /** Saves a container's state; returns false when the container no longer exists. */
  saveState(id: string, state: ContainerState): boolean {
    return this.db.run("UPDATE containers SET state = ? WHERE id = ?", JSON.stringify(state), id) >
      0;
  }

  /**
   * Saves a container's config and state together (`network connect`/`disconnect` change the
   * networks a container joins); returns false when the container no longer exists.
   */
  saveConfigAndState(id: string, config: ContainerConfig, state: ContainerState): boolean {
    return this.db.run(
      "UPDATE containers SET config = ?, state = ? WHERE id = ?",
      JSON.stringify(config),
      JSON.stringify(state),
      id,
    ) > 0;
  }

  /** Deletes a container's row. */
  delete(id: string): void {
    this.db.run("DELETE FROM containers WHERE id = ?", id);
  }

  /** IDs of containers made from this image. */
  usersOfImage(imageId: string): string[] {
    return this.db.all<{ id: string }>("SELECT id FROM containers WHERE image_id = ?", imageId)
      .map((r) => r.id);
  }

  /** Records a container's exit code (replacing an older one). */
  recordExitCode(id: string, name: string, exitCode: number, finished: string): void {
    this.db.run(
      "INSERT INTO exit_codes (id, name, exit_code, finished) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET exit_code = excluded.exit_code, finished = excluded.finished, name = excluded.name",
      id,
      name,
      exitCode,
      finished,
    );
  }

  /** The kept exit code for a container ID, name or ID prefix, if any. */
  findExitCode(nameOrId: string): ExitCodeRecord | undefined {
    const row = this.db.get<{ id: string; name: string; exit_code: number; finished: string }>(
      `SELECT id, name, exit_code, finished FROM exit_codes
       WHERE id = ? OR name = ? OR substr(id, 1, length(?)) = ? ORDER BY finished DESC LIMIT 1`,
      nameOrId,
      nameOrId,
      nameOrId,
      nameOrId,
    );
    return row && { id: row.id, name: row.name, exitCode: row.exit_code, finished: row.finished };
  }
}
