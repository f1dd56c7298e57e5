/**
 * `system check --repair`: the repairs of the problems `check.ts` finds, and the runner that
 * applies them in order. Every repair re-checks what it acts on under the container's lock
 * (taken only if free): a container another process holds, or one that runs as recorded, is left
 * alone and the finding stays unrepaired. Repairs that remove images run only with `--force`.
 *
 * @example
 * ```ts
 * const outcomes = await repairFindings(findings, { force: false });
 * ```
 * @module
 */
import { DenopodError } from "../errors.ts";
import type { RuntimeContext } from "../container/context.ts";
import { Container } from "../container/container.ts";
import { isActive, runtimeKnows } from "../container/status.ts";
import { syncContainer } from "../container/lifecycle/sync.ts";
import { writeRundirFiles } from "../container/files.ts";
import { removeExitFile } from "../oci/exitfile.ts";
import type { Intent } from "../state/intents.ts";
import { deleteContainerLayer } from "../storage/overlay.ts";
import { removeTree } from "../storage/layers.ts";
import { mountPoints, mountsUnder, unmount } from "../sys/mount.ts";
import { tryLock } from "../sys/lockfile.ts";
import { isProcessAlive } from "../sys/process.ts";
import { endContainerProcesses, replayIntents } from "./replay.ts";
import type { Finding } from "./check.ts";
import { teardownIfBridged } from "../container/network_teardown.ts";
import { releaseContainer } from "../network/ipam.ts";

/** A repair that could not be made now (the thing is in use, or needs `--force`). */
export class NotRepairedError extends DenopodError {}

/** What became of one finding under `--repair`. */
export interface RepairOutcome {
  finding: Finding;
  /** `repaired`, `skipped` (in use, needs --force, or no repair exists) or `failed`. */
  result: "repaired" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  reason?: string;
}

/** Applies the findings' repairs in order (intents first); see the module doc. */
export async function repairFindings(
  findings: readonly Finding[],
  options: { force: boolean },
): Promise<RepairOutcome[]> {
  const ordered = [
    ...findings.filter((f) => f.kind === "intent"),
    ...findings.filter((f) => f.kind !== "intent"),
  ];
  const outcomes: RepairOutcome[] = [];
  for (const finding of ordered) {
    if (!finding.fix) {
      outcomes.push({ finding, result: "skipped", reason: "no repair exists" });
      continue;
    }
    if (finding.needsForce && !options.force) {
      outcomes.push({ finding, result: "skipped", reason: "needs --force (removes images)" });
      continue;
    }
    try {
      await finding.fix();
      outcomes.push({ finding, result: "repaired" });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      outcomes.push({
        finding,
        result: err instanceof NotRepairedError ? "skipped" : "failed",
        reason,
      });
    }
  }
  return outcomes;
}

/** Runs `fn` holding container `id`'s lock (only if free); throws NotRepairedError otherwise. */
async function withFreeContainer<T>(
  ctx: RuntimeContext,
  id: string,
  fn: (ctr: Container) => Promise<T>,
): Promise<T> {
  const record = ctx.containers.get(id);
  if (!record) throw new NotRepairedError(`container ${id.slice(0, 12)} was removed meanwhile`);
  const ctr = new Container(ctx, record);
  if (!ctr.tryLock()) {
    throw new NotRepairedError(`container ${id.slice(0, 12)} is locked by another process`);
  }
  try {
    return await fn(ctr);
  } finally {
    ctr.unlock();
  }
}

/** Replays or undoes an intent whose writer died. */
export async function replayIntent(ctx: RuntimeContext, intent: Intent): Promise<void> {
  const [outcome] = await replayIntents(ctx, [intent]);
  if (outcome?.result !== "done") {
    throw new NotRepairedError(`its container is locked by another process`);
  }
}

/** Unmounts `point` until at most `keep` mounts are left there. */
export function unmountAll(point: string, keep = 0): void {
  for (let i = 0; i < 64; i++) {
    const count = mountPoints().filter((m) => m.mountPoint === point).length;
    if (count <= keep) return;
    unmount(point, { detach: true, ignoreNotMounted: true });
  }
}

/**
 * Ends the processes and runc state of container `id` when no row (or a row that runc should
 * not know) accounts for them: its monitor, its processes, runc's state.
 */
export async function endStrayProcesses(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.containers.get(id);
  if (!record) {
    const lock = tryLock(ctx.paths.lockPath(id));
    if (lock === null) {
      throw new NotRepairedError(`${id.slice(0, 12)} is locked by another process`);
    }
    try {
      await endContainerProcesses(ctx, id);
    } finally {
      lock.release();
      await Deno.remove(ctx.paths.lockPath(id)).catch(() => {});
    }
    return;
  }
  await withFreeContainer(ctx, id, async (ctr) => {
    if (runtimeKnows(ctr.state.status)) {
      throw new NotRepairedError(`container ${ctr.name} is now ${ctr.state.status}`);
    }
    await endContainerProcesses(ctx, id);
  });
}

/** Brings a container whose process ended up to date (exit code, storage, runc state). */
export async function syncContainerState(ctx: RuntimeContext, id: string): Promise<void> {
  await withFreeContainer(ctx, id, (ctr) => syncContainer(ctr));
}

/** Removes a container whose RW layer or bundle is gone (it cannot run again). */
export async function removeBrokenContainer(ctx: RuntimeContext, id: string): Promise<void> {
  await withFreeContainer(ctx, id, async (ctr) => {
    if (isActive(ctr.state.status) && isProcessAlive(ctr.state.pid)) {
      throw new NotRepairedError(`container ${ctr.name} is running`);
    }
    await endContainerProcesses(ctx, id);
    unmount(ctr.shmDir, { detach: true, ignoreNotMounted: true });
    await deleteContainerLayer(ctx.paths, id);
    await removeTree(ctx.paths.containerDir(id));
    await removeTree(ctx.paths.runDir(id));
    ctx.containers.delete(id);
    ctr.markRemoved();
    ctr.removeLockfile();
    await removeExitFile(ctx.paths.exitsDir, id);
  });
}

/** Makes a container's run directory and its files again. */
export async function remakeRundir(ctx: RuntimeContext, id: string): Promise<void> {
  await withFreeContainer(ctx, id, async (ctr) => {
    await Deno.mkdir(ctr.runDir, { recursive: true, mode: 0o700 });
    await writeRundirFiles(ctr);
  });
}

/**
 * Tears down the bridge network of a container that is not running: netavark's interfaces and
 * firewall rules, its namespace, its addresses and host ports.
 */
export async function teardownNetworkOf(ctx: RuntimeContext, id: string): Promise<void> {
  await withFreeContainer(ctx, id, async (ctr) => {
    if (isActive(ctr.state.status)) throw new NotRepairedError(`container ${ctr.name} is running`);
    await teardownIfBridged(ctr);
  });
}

/** Frees addresses and host ports the database holds for a container that no longer exists. */
export function releaseNetworkRows(ctx: RuntimeContext, id: string): Promise<void> {
  ctx.db.transaction(() => releaseContainer(ctx.db, id));
  return Promise.resolve();
}

/** Drops a recorded mount the kernel does not have (the container is not running). */
export async function forgetMount(ctx: RuntimeContext, id: string): Promise<void> {
  await withFreeContainer(ctx, id, (ctr) => {
    if (isActive(ctr.state.status)) throw new NotRepairedError(`container ${ctr.name} is running`);
    ctr.cleanupStorage();
    return Promise.resolve();
  });
}

/** Removes an incomplete layer (directory and row) whose writer is gone. */
export async function removeIncompleteLayer(ctx: RuntimeContext, id: string): Promise<void> {
  const lockPath = ctx.paths.lockPath(`layer-${id}`);
  const lock = tryLock(lockPath);
  if (lock === null) throw new NotRepairedError(`layer ${id} is being written`);
  try {
    await removeLayerDir(ctx, id);
    ctx.db.run("DELETE FROM layers WHERE id = ? AND complete = 0", id);
  } finally {
    lock.release();
    await Deno.remove(lockPath).catch(() => {});
  }
}

/** Removes a layer directory no row claims (unmounting anything inside it first). */
export async function removeLayerDir(ctx: RuntimeContext, name: string): Promise<void> {
  const dir = ctx.paths.layerDir(name);
  for (const point of mountsUnder(dir)) unmountAll(point);
  await removeTree(dir);
}

/**
 * Drops layer `id` (missing or damaged, or unused): the images that use it go first, which is
 * refused while a container of theirs exists (remove those first).
 */
export async function dropLayer(ctx: RuntimeContext, id: string): Promise<void> {
  const pending = ctx.db.transaction(() => {
    const images = ctx.db.all<{ id: string }>(
      "SELECT DISTINCT images.id AS id FROM images, json_each(images.layers) WHERE json_each.value = ?",
      id,
    ).map((r) => r.id);
    for (const image of images) {
      const users = ctx.containers.usersOfImage(image);
      if (users.length > 0) {
        throw new NotRepairedError(
          `image ${image.slice(0, 12)} is used by container ${
            users[0].slice(0, 12)
          }: remove it first`,
        );
      }
    }
    const layers = new Set<string>([id]);
    for (const image of images) {
      for (const layer of ctx.images.get(image)?.layers ?? []) layers.add(layer);
      ctx.images.delete(image);
    }
    return ctx.layers.dropUnreferenced([...layers]);
  });
  await ctx.layers.finishDeletes(pending);
}

/** Removes a leftover file or directory (unmounting anything inside it first). */
export async function removeLeftover(path: string): Promise<void> {
  for (const point of mountsUnder(path)) unmountAll(point);
  await removeTree(path);
}
