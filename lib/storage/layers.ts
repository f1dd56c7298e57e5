/**
 * The image layer store: `<root>/layers/<diffIdHex>/diff`, one row each in the `layers` table.
 * A layer is found by its diff ID, so loading an image whose layers are present adds none and two
 * images that share a base share its layer. A layer is written into a `tmp-` directory under a
 * lock of its own with an incomplete row; it counts only once its diff ID is verified and it is
 * renamed into place in one transaction. Its size is measured once, then, and kept.
 *
 * Beside `diff`, a layer keeps its short name (`link`, with `l/NAME` pointing at its `diff`, for
 * overlay mounts: see `./layer_links.ts`) and its tar-split (`tar-split.gz`, see `./tar/split.ts`), recorded
 * while it is extracted, so that {@linkcode LayerStore.writeLayerTar} gives back the original
 * tar byte for byte (`save`). A {@linkcode LayerClaim} lets a multi-layer operation (`load`)
 * drop the layers it created when it fails or dies before registering its images.
 *
 * @example
 * ```ts
 * const layer = await layers.commit(stream, { expectedDiffId: "sha256:ab..." });
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { ArchiveError, DenopodError } from "../errors.ts";
import type { StateDb } from "../state/db.ts";
import type { Paths } from "../paths.ts";
import type { ExtractResult } from "./tar/extract.ts";
import type { SpaceGuard } from "./tar/disk_reserve.ts";
import { type ChunkSource, chunkSourceOf } from "./tar/source.ts";
import { releaseCleanCodePages } from "../sys/resident.ts";
import { hasTarSplit } from "./tar/split_names.ts";
import { layerLink, removeLayerLink } from "./layer_links.ts";
import { CLAIM_PREFIX } from "./layer_leftovers.ts";
import type { TarSink } from "./tar/writer.ts";
import { type HeldLock, tryLock } from "../sys/lockfile.ts";
import { generateId } from "../util/names.ts";
import { IntentLog } from "../state/intents.ts";
import { crashPoint } from "../util/crash.ts";
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
  /** Stops the extraction before the disk's free-space reserve is used (`./tar/disk_reserve.ts`). */
  guard?: SpaceGuard;
}

/** A layer deletion under way: its ID, the `tmp-del-` name it is set aside as, its intent. */
export interface PendingLayerDelete {
  id: string;
  aside: string;
  intent: number;
}

/** A layer has no tar-split, or it no longer reproduces the layer's diff ID. */
export class LayerTarError extends DenopodError {}

const CLAIM_NOTES = "layers";

/**
 * An operation in progress (`load`, `save`): a scratch directory `<root>/tmp/layer-claim-<token>`
 * (for spooled and decompressed archives, rebuilt layer tars) held by a lock, and a note in it of
 * the layers the operation relies on or creates. When the operation fails, the layers it created
 * are dropped again; when it dies (kill -9), the next command drops those no image refers to and
 * removes the directory. Get one from {@linkcode LayerStore.claim}; end it with
 * {@linkcode LayerStore.releaseClaim}.
 */
export class LayerClaim {
  readonly #created: string[] = [];
  constructor(
    /** The claim's token (its directory and lock names). */
    readonly token: string,
    /** The claim's scratch directory, removed with the claim. */
    readonly dir: string,
    /** The claim's lock. */
    readonly lock: HeldLock,
  ) {}

  /** The file the claimed layer IDs are noted in. */
  get path(): string {
    return join(this.dir, CLAIM_NOTES);
  }

  /** Notes, before looking it up, a layer the operation relies on (another claim's cleanup keeps it). */
  uses(id: string): void {
    Deno.writeTextFileSync(this.path, `use ${id}\n`, { append: true });
  }

  /** Notes, before committing it, a layer the operation creates. */
  creates(id: string): void {
    Deno.writeTextFileSync(this.path, `new ${id}\n`, { append: true });
    this.#created.push(id);
  }

  /** The layers noted by {@linkcode creates}. */
  get created(): readonly string[] {
    return this.#created;
  }
}

/** Bytes of a layer read between two {@linkcode releaseCleanCodePages} calls. */
const RELEASE_INTERVAL_BYTES = 32 * 1024 * 1024;

/**
 * `source` passed through, releasing the process's clean code pages (`../sys/resident.ts`) before
 * its first chunk and every {@linkcode RELEASE_INTERVAL_BYTES} after: an extraction touches little
 * code, so its resident memory stays near what it uses rather than all the code start-up touched.
 */
function releasingCodePages(input: ReadableStream<Uint8Array> | ChunkSource): ChunkSource {
  const source = chunkSourceOf(input);
  let untilRelease = 0;
  return {
    async read() {
      if (untilRelease <= 0) {
        releaseCleanCodePages();
        untilRelease = RELEASE_INTERVAL_BYTES;
      }
      const chunk = await source.read();
      if (chunk !== null) untilRelease -= chunk.length;
      return chunk;
    },
    cancel: (reason) => source.cancel(reason),
  };
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
    source: ReadableStream<Uint8Array> | ChunkSource,
    options: CommitOptions = {},
  ): Promise<LayerRecord> {
    const tmpId = `tmp-${generateId().slice(0, 16)}`;
    const tmpDir = this.paths.layerDir(tmpId);
    // Synchronous file calls throughout: an asynchronous one starts Deno's blocking thread pool,
    // resident memory that `load`/`import` keep below podman's (scripts/bench_transport.ts).
    Deno.mkdirSync(this.paths.locksDir, { recursive: true });
    const lock = tryLock(this.paths.lockPath(`layer-${tmpId}`));
    try {
      this.db.run(
        "INSERT INTO layers (id, diff_id, size, complete, created) VALUES (?, NULL, 0, 0, ?)",
        tmpId,
        new Date().toISOString(),
      );
      Deno.mkdirSync(join(tmpDir, "diff"), { recursive: true });
      releaseCleanCodePages(); // start-up's code is not run again (see releasingCodePages)
      // the extractor and recorder (zlib, crypto) load only when a layer is written
      const { extractLayer } = await import("./tar/extract.ts");
      const { openTarSplitRecorder } = await import("./tar/split.ts");
      const recorder = await openTarSplitRecorder(tmpDir);
      let result: ExtractResult;
      try {
        result = await extractLayer(releasingCodePages(source), join(tmpDir, "diff"), {
          signal: options.signal,
          recorder,
          guard: options.guard,
        });
        recorder.finish();
      } catch (err) {
        recorder.abort();
        throw err;
      }
      if (options.expectedDiffId !== undefined && result.diffId !== options.expectedDiffId) {
        throw new ArchiveError(
          `layer diff ID mismatch: the image config says ${options.expectedDiffId}, the layer is ${result.diffId}`,
        );
      }
      crashPoint("layer:extracted");
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
      removeTreeSync(tmpDir);
      try {
        layerLink(this.paths, id);
      } catch (err) {
        // the layer is committed; its short link is made again when it is first mounted
        log.warn("making the short link of layer {id}: {err}", { id, err: String(err) });
      }
      log.debug("committed layer {id} ({size} bytes)", { id, size: kept.size });
      return kept;
    } catch (err) {
      removeTreeSync(tmpDir);
      this.db.run("DELETE FROM layers WHERE id = ?", tmpId);
      throw err;
    } finally {
      lock?.release();
      removeFileSync(this.paths.lockPath(`layer-${tmpId}`));
    }
  }

  /** Whether the layer keeps a tar-split, so that {@linkcode writeLayerTar} can give its tar back. */
  hasTarSplit(id: string): boolean {
    return hasTarSplit(this.paths.layerDir(id));
  }

  /**
   * Writes the layer's original tar, byte for byte, to `sink` (synchronously, chunk by chunk; a
   * chunk's memory is reused after the call) from its tar-split and files, and returns its size.
   * Throws {@linkcode LayerTarError} when the layer is not known, has no tar-split, or the bytes
   * written do not hash to its diff ID (then `sink` got them anyway: write to a temp file).
   */
  async writeLayerTar(id: string, sink: TarSink): Promise<{ diffId: string; size: number }> {
    const layer = this.get(id);
    if (layer === undefined) throw new LayerTarError(`layer ${id} is not known`);
    if (!this.hasTarSplit(id)) {
      throw new LayerTarError(
        `layer ${layer.diffId} has no tar-split record, so its original tar cannot be reproduced`,
      );
    }
    const { replayTarSplit } = await import("./tar/split.ts");
    releaseCleanCodePages(); // as commit() does: start-up's code is not run again
    let untilRelease = RELEASE_INTERVAL_BYTES;
    const result = await replayTarSplit(this.paths.layerDir(id), (chunk) => {
      sink(chunk);
      untilRelease -= chunk.length;
      if (untilRelease <= 0) {
        releaseCleanCodePages();
        untilRelease = RELEASE_INTERVAL_BYTES;
      }
    });
    if (result.diffId !== layer.diffId) {
      throw new LayerTarError(
        `layer ${layer.diffId} no longer reproduces its tar (got ${result.diffId}): its files changed`,
      );
    }
    return result;
  }

  /** Starts a {@linkcode LayerClaim} (see there). */
  claim(): LayerClaim {
    const token = generateId().slice(0, 16);
    Deno.mkdirSync(this.paths.locksDir, { recursive: true }); // synchronous: see commit()
    Deno.mkdirSync(this.paths.tmpDir, { recursive: true });
    // Locked before the directory exists, so a cleanup never takes a new claim for a dead one.
    const lock = tryLock(this.paths.lockPath(`${CLAIM_PREFIX}${token}`));
    if (lock === null) throw new LayerTarError(`layer claim ${token} is locked by someone else`);
    const claim = new LayerClaim(token, join(this.paths.tmpDir, `${CLAIM_PREFIX}${token}`), lock);
    try {
      Deno.mkdirSync(claim.dir, { mode: 0o700 });
      Deno.writeTextFileSync(claim.path, "", { createNew: true, mode: 0o600 });
    } catch (err) {
      lock.release();
      throw err;
    }
    return claim;
  }

  /**
   * Ends a claim. With `dropCreated` (the operation failed), the layers it created that no image
   * refers to and no other live claim relies on are deleted first.
   */
  async releaseClaim(claim: LayerClaim, options: { dropCreated: boolean }): Promise<void> {
    try {
      if (options.dropCreated) await this.#dropClaimed(claim.created, new Set([claim.token]));
    } finally {
      removeTreeSync(claim.dir); // synchronous: see commit()
      claim.lock.release();
      removeFileSync(this.paths.lockPath(`${CLAIM_PREFIX}${claim.token}`));
    }
  }

  /** Deletes `ids` no image refers to, except those a live claim (other than `skip`) notes. */
  async #dropClaimed(ids: readonly string[], skip: Set<string>): Promise<void> {
    if (ids.length === 0) return;
    const kept = new Set<string>();
    for (const { token, path } of this.#claims()) {
      if (skip.has(token)) continue;
      const lock = tryLock(this.paths.lockPath(`${CLAIM_PREFIX}${token}`));
      if (lock !== null) {
        lock.release(); // abandoned: protects nothing
        continue;
      }
      for (const { id } of readClaimFile(path)) kept.add(id);
    }
    const pending = this.db.transaction(() =>
      this.dropUnreferenced(ids.filter((id) => !kept.has(id)))
    );
    await this.finishDeletes(pending);
  }

  /** Drops what claims whose owner died created, when nothing else uses it. */
  async #dropAbandonedClaims(): Promise<void> {
    const abandoned: Array<{ token: string; dir: string; path: string; lock: HeldLock }> = [];
    for (const claim of this.#claims()) {
      const lock = tryLock(this.paths.lockPath(`${CLAIM_PREFIX}${claim.token}`));
      if (lock !== null) abandoned.push({ ...claim, lock });
    }
    if (abandoned.length === 0) return;
    try {
      const created = abandoned.flatMap(({ path }) =>
        readClaimFile(path).filter((line) => line.kind === "new").map((line) => line.id)
      );
      await this.#dropClaimed(created, new Set(abandoned.map((a) => a.token)));
      for (const { dir } of abandoned) await removeTree(dir);
      log.debug("dropped {n} abandoned layer claims", { n: abandoned.length });
    } finally {
      for (const { token, lock } of abandoned) {
        lock.release();
        await Deno.remove(this.paths.lockPath(`${CLAIM_PREFIX}${token}`)).catch(() => {});
      }
    }
  }

  #claims(): Array<{ token: string; dir: string; path: string }> {
    const claims: Array<{ token: string; dir: string; path: string }> = [];
    try {
      for (const entry of Deno.readDirSync(this.paths.tmpDir)) {
        if (!entry.isDirectory || !entry.name.startsWith(CLAIM_PREFIX)) continue;
        const token = entry.name.slice(CLAIM_PREFIX.length);
        if (!/^[0-9a-f]+$/.test(token)) continue;
        const dir = join(this.paths.tmpDir, entry.name);
        claims.push({ token, dir, path: join(dir, CLAIM_NOTES) });
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return claims;
  }

  /**
   * Deletes the given layers when no image refers to them any more. Call inside the transaction
   * that removed the image rows: the layer rows go, and an intent for each ("deleting layer Y into
   * tmp-del-Y") is written in it. Hand the result to {@linkcode finishDeletes} after the commit,
   * which sets each directory aside and deletes it; a kill -9 in between leaves the intents, and
   * the next command finishes the job (`lib/housekeeping/replay.ts`).
   */
  dropUnreferenced(ids: string[]): PendingLayerDelete[] {
    const pending: PendingLayerDelete[] = [];
    const intents = new IntentLog(this.db);
    for (const id of new Set(ids)) {
      const used = this.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM images, json_each(images.layers) WHERE json_each.value = ?",
        id,
      );
      if ((used?.n ?? 0) > 0) continue;
      this.db.run("DELETE FROM layers WHERE id = ?", id);
      const aside = `tmp-del-${generateId().slice(0, 16)}`;
      pending.push({ id, aside, intent: intents.record("delete-layer", id, { aside }) });
    }
    return pending;
  }

  /**
   * Finishes layer deletions recorded by {@linkcode dropUnreferenced}: each directory is renamed
   * aside (only while no row claims the layer again: a `load` may have brought it back meanwhile),
   * deleted, and its intent cleared.
   */
  async finishDeletes(pending: readonly PendingLayerDelete[]): Promise<void> {
    const intents = new IntentLog(this.db);
    for (const { id, aside, intent } of pending) {
      const asideDir = this.paths.layerDir(aside);
      this.db.transaction(() => {
        if (this.db.get("SELECT 1 FROM layers WHERE id = ?", id)) return;
        removeLayerLink(this.paths, id); // before the directory goes, so no link is left dangling
        try {
          Deno.renameSync(this.paths.layerDir(id), asideDir);
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
      });
      crashPoint("rmi:renamed");
      await removeTree(asideDir);
      intents.clear(intent);
    }
  }

  /**
   * Removes what an interrupted commit left: incomplete rows whose writer is gone (its lock is
   * free) and `tmp-` directories nobody is writing. Cheap when there is nothing to do.
   */
  async removeIncomplete(): Promise<number> {
    await this.#dropAbandonedClaims();
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

/** The lines of a claim file: `new ID` or `use ID`; anything else is skipped. */
function readClaimFile(path: string): Array<{ kind: "new" | "use"; id: string }> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  const lines: Array<{ kind: "new" | "use"; id: string }> = [];
  for (const line of text.split("\n")) {
    const match = /^(new|use) ([0-9a-f]{64})$/.exec(line);
    if (match) lines.push({ kind: match[1] as "new" | "use", id: match[2] });
  }
  return lines;
}

/** Removes the file at `path`, if it is there (any failure is ignored). */
function removeFileSync(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // gone already, or not ours to remove: a stale lockfile costs nothing
  }
}

function removeTreeSync(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
