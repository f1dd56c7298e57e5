/**
 * The image layer store: `<root>/layers/<diffIdHex>/diff`, one row each in the `layers` table.
 * A layer is found by its diff ID, so loading an image whose layers are present adds none and two
 * images that share a base share its layer. A layer is written into a `tmp-` directory under a
 * lock of its own with an incomplete row; it counts only once its diff ID is verified and it is
 * renamed into place in one transaction. Its size is measured once, then, and kept.
 *
 * @example
 * ```ts
 * const layer = await layers.commit(stream, { expectedDiffId: "sha256:ab..." });
 * ```
 * @module
 */
import { join } from "node:path";
import { ArchiveError } from "../errors.ts";
import type { StateDb } from "../state/db.ts";
import type { Paths } from "../paths.ts";
import { extractLayer } from "./tar/extract.ts";
import { tryLock } from "../sys/lockfile.ts";
import { generateId } from "../util/names.ts";
import { logger } from "../log.ts";

const log = logger("storage");

/** A committed image layer. */
export interface LayerRecord {
  /** The diff ID's hex digits; also the directory name. */
  id: string;
  /** `sha256:<hex>` of the uncompressed layer tar. */
  diffId: string;
  /** Apparent size of the layer's content in bytes (hard links once), measured at commit. */
  size: number;
}

/** Options for {@linkcode LayerStore.commit}. */
export interface CommitOptions {
  /** The diff ID the image config promises; a mismatch refuses the layer. */
  expectedDiffId?: string;
  /** Aborts the extraction. */
  signal?: AbortSignal;
}

/** Removes a directory tree, ignoring one that is already gone. */
export async function removeTree(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** Reads, writes and deletes image layers; see the module doc. */
export class LayerStore {
  constructor(private readonly paths: Paths, private readonly db: StateDb) {}

  /** Returns the complete layer with this ID (diff ID hex), or undefined. */
  get(id: string): LayerRecord | undefined {
    const row = this.db.get<{ id: string; diff_id: string; size: number }>(
      "SELECT id, diff_id, size FROM layers WHERE id = ? AND complete = 1",
      id,
    );
    return row && { id: row.id, diffId: row.diff_id, size: row.size };
  }

  /** Returns the complete layer with this diff ID (`sha256:<hex>`), or undefined. */
  byDiffId(diffId: string): LayerRecord | undefined {
    return this.get(diffId.replace(/^sha256:/, ""));
  }

  /**
   * Extracts a layer tar stream (plain, gzip or zstd) into a new layer and commits it. When a
   * complete layer with the same diff ID exists, the new copy is dropped and the existing one
   * returned. On any failure nothing of the new layer stays on disk or in the database.
   */
  async commit(
    source: ReadableStream<Uint8Array>,
    options: CommitOptions = {},
  ): Promise<LayerRecord> {
    const tmpId = `tmp-${generateId().slice(0, 16)}`;
    const tmpDir = this.paths.layerDir(tmpId);
    await Deno.mkdir(this.paths.locksDir, { recursive: true });
    const lock = tryLock(this.paths.lockPath(`layer-${tmpId}`));
    try {
      this.db.run(
        "INSERT INTO layers (id, diff_id, size, complete, created) VALUES (?, NULL, 0, 0, ?)",
        tmpId,
        new Date().toISOString(),
      );
      await Deno.mkdir(join(tmpDir, "diff"), { recursive: true });
      const result = await extractLayer(source, join(tmpDir, "diff"), { signal: options.signal });
      if (options.expectedDiffId !== undefined && result.diffId !== options.expectedDiffId) {
        throw new ArchiveError(
          `layer diff ID mismatch: the image config says ${options.expectedDiffId}, the layer is ${result.diffId}`,
        );
      }
      const id = result.diffId.replace(/^sha256:/, "");
      const kept = this.db.transaction(() => {
        this.db.run("DELETE FROM layers WHERE id = ?", tmpId);
        const existing = this.get(id);
        if (existing) return existing;
        this.db.run("DELETE FROM layers WHERE id = ?", id);
        removeTreeSync(this.paths.layerDir(id));
        Deno.renameSync(tmpDir, this.paths.layerDir(id));
        this.db.run(
          "INSERT INTO layers (id, diff_id, size, complete, created) VALUES (?, ?, ?, 1, ?)",
          id,
          result.diffId,
          result.size,
          new Date().toISOString(),
        );
        return { id, diffId: result.diffId, size: result.size };
      });
      await removeTree(tmpDir);
      log.debug("committed layer {id} ({size} bytes)", { id, size: kept.size });
      return kept;
    } catch (err) {
      await removeTree(tmpDir);
      this.db.run("DELETE FROM layers WHERE id = ?", tmpId);
      throw err;
    } finally {
      lock?.release();
      await Deno.remove(this.paths.lockPath(`layer-${tmpId}`)).catch(() => {});
    }
  }

  /**
   * Deletes the given layers when no image refers to them any more. Call inside the transaction
   * that removed the image rows; the directories are renamed aside in it and returned, for the
   * caller to delete after the commit.
   */
  dropUnreferenced(ids: string[]): string[] {
    const aside: string[] = [];
    for (const id of new Set(ids)) {
      const used = this.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM images, json_each(images.layers) WHERE json_each.value = ?",
        id,
      );
      if ((used?.n ?? 0) > 0) continue;
      this.db.run("DELETE FROM layers WHERE id = ?", id);
      const target = this.paths.layerDir(`tmp-del-${generateId().slice(0, 16)}`);
      try {
        Deno.renameSync(this.paths.layerDir(id), target);
        aside.push(target);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    return aside;
  }

  /**
   * Removes what an interrupted commit left: incomplete rows whose writer is gone (its lock is
   * free) and `tmp-` directories nobody is writing. Cheap when there is nothing to do.
   */
  async removeIncomplete(): Promise<number> {
    const rows = this.db.all<{ id: string }>("SELECT id FROM layers WHERE complete = 0");
    let removed = 0;
    const known = new Set(rows.map((r) => r.id));
    const candidates = new Set<string>(known);
    if (rows.length > 0) {
      for await (const entry of Deno.readDir(this.paths.layersDir)) {
        if (entry.name.startsWith("tmp-")) candidates.add(entry.name);
      }
    }
    for (const id of candidates) {
      const lockPath = this.paths.lockPath(`layer-${id}`);
      const lock = id.startsWith("tmp-del-") ? undefined : tryLock(lockPath);
      if (lock === null) continue; // its writer is still at work
      try {
        await removeTree(this.paths.layerDir(id));
        if (known.has(id)) this.db.run("DELETE FROM layers WHERE id = ? AND complete = 0", id);
        removed++;
        log.debug("removed incomplete layer {id}", { id });
      } finally {
        lock?.release();
        if (lock) await Deno.remove(lockPath).catch(() => {});
      }
    }
    return removed;
  }
}

function removeTreeSync(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
