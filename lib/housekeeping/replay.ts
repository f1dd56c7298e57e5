/**
 * Replays or undoes the intents whose writer died (see `lib/state/intents.ts`): the next command
 * that opens the store runs this when the intents table is not empty. Each intent is handled so
 * that afterwards nothing is half-made: a container being created is removed again, a start is
 * undone (monitor and container killed, runc state deleted, storage unmounted, the status before
 * restored), a removal is finished, a layer deletion is finished, a partial output file deleted
 * and a rootfs mounted for an export unmounted. A container whose lock another process holds is
 * never touched (its intent stays for later), and an intent whose writer is alive is not stale.
 *
 * @example
 * ```ts
 * const done = await replayIntents(runtime, new IntentLog(runtime.db).list());
 * ```
 * @module
 */
import { teardownIfBridged } from "../container/network_teardown.ts";
import { join } from "../util/path.ts";
import { logger } from "../log.ts";
import type { RuntimeContext } from "../container/context.ts";
import { Container } from "../container/container.ts";
import { canDelete, type ContainerStatus, isActive } from "../container/status.ts";
import { removeExitFile } from "../oci/exitfile.ts";
import { MONITOR_PID_FILE } from "../oci/monitor_request.ts";
import { type Intent, IntentLog, isStale } from "../state/intents.ts";
import { deleteContainerLayer, unmountOverlay } from "../storage/overlay.ts";
import { removeTree } from "../storage/layers.ts";
import { unmount } from "../sys/mount.ts";
import { tryLock } from "../sys/lockfile.ts";
import {
  findMonitors,
  findRuncCommands,
  isMonitorOf,
  killProcess,
  readPidFile,
  waitGone,
} from "./processes.ts";

const log = logger("housekeeping");

/** What became of one intent. */
export interface ReplayOutcome {
  intent: Intent;
  /** `done` (replayed or undone), `busy` (its writer or the container's lock holder is alive). */
  result: "done" | "busy";
}

/** A short description of an intent, for `system check`'s report. */
export function describeIntent(intent: Intent): string {
  const short = intent.target.length === 64 ? intent.target.slice(0, 12) : intent.target;
  switch (intent.kind) {
    case "create":
      return `unfinished create of container ${short}`;
    case "start":
      return `unfinished start of container ${short}`;
    case "remove":
      return `unfinished removal of container ${short}`;
    case "delete-layer":
      return `unfinished deletion of layer ${short} (layers/${String(intent.detail.aside)})`;
    case "export":
      return `unfinished export of container ${short}${
        intent.detail.tmp ? ` (partial file ${String(intent.detail.tmp)})` : ""
      }`;
    case "write-output":
      return `partial output file ${intent.target}`;
  }
}

/** Replays or undoes every stale intent of `intents`; see the module doc. */
export async function replayIntents(
  ctx: RuntimeContext,
  intents: readonly Intent[],
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  for (const intent of intents) {
    if (!isStale(intent)) {
      outcomes.push({ intent, result: "busy" });
      continue;
    }
    const done = await replayOne(ctx, intent);
    outcomes.push({ intent, result: done ? "done" : "busy" });
    if (done) log.debug("replayed: {what}", { what: describeIntent(intent) });
  }
  return outcomes;
}

async function replayOne(ctx: RuntimeContext, intent: Intent): Promise<boolean> {
  const log = new IntentLog(ctx.db);
  switch (intent.kind) {
    case "delete-layer":
      await ctx.layers.finishDeletes([{
        id: intent.target,
        aside: String(intent.detail.aside ?? ""),
        intent: intent.id,
      }]);
      return true;
    case "write-output":
      await removeFile(intent.target);
      log.clear(intent.id);
      return true;
    case "create":
    case "start":
    case "remove":
    case "export":
      return await withContainer(ctx, intent, async (ctr) => {
        if (intent.kind === "create") await undoCreate(ctx, intent, ctr);
        else if (intent.kind === "start") await undoStart(ctx, intent, ctr);
        else if (intent.kind === "remove") await finishRemove(ctx, intent, ctr);
        else await undoExport(ctx, intent, ctr);
      });
  }
}

/**
 * Runs `fn` holding the container's lock, taken only if free; `ctr` is undefined when its row is
 * gone. Returns false (doing nothing) when another process holds the lock.
 */
async function withContainer(
  ctx: RuntimeContext,
  intent: Intent,
  fn: (ctr: Container | undefined) => Promise<void>,
): Promise<boolean> {
  const id = intent.target;
  const record = ctx.containers.get(id);
  if (!record) {
    const lock = tryLock(ctx.paths.lockPath(id));
    if (lock === null) return false;
    try {
      await fn(undefined);
    } finally {
      lock.release();
      await removeFile(ctx.paths.lockPath(id));
    }
    return true;
  }
  const ctr = new Container(ctx, record);
  try {
    if (!ctr.tryLock()) return false;
  } catch {
    return false; // removed meanwhile
  }
  try {
    await fn(ctr);
  } finally {
    ctr.unlock();
  }
  return true;
}

async function removeFile(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/** Removes everything a container's create made, and its row. */
async function undoCreate(
  ctx: RuntimeContext,
  intent: Intent,
  ctr: Container | undefined,
): Promise<void> {
  const id = intent.target;
  unmount(ctx.paths.shmDir(id), { detach: true, ignoreNotMounted: true });
  await deleteContainerLayer(ctx.paths, id);
  await removeTree(ctx.paths.containerDir(id));
  await removeTree(ctx.paths.runDir(id));
  ctx.db.transaction(() => {
    ctx.containers.delete(id);
    new IntentLog(ctx.db).clear(intent.id);
  });
  if (ctr) {
    ctr.markRemoved();
    ctr.removeLockfile();
  }
}

/**
 * Undoes an interrupted start: the monitor and the container's processes are killed (the
 * monitor first, so it runs no exit command), runc's state deleted, the storage unmounted, and
 * the status before the start restored (a runc-known status becomes the one without runc state).
 */
export async function endContainerProcesses(ctx: RuntimeContext, id: string): Promise<void> {
  const monitors = new Set<number>();
  const recorded = readPidFile(join(ctx.paths.runDir(id), MONITOR_PID_FILE));
  if (recorded > 0 && isMonitorOf(ctx.paths, recorded, id)) monitors.add(recorded);
  for (const m of findMonitors(ctx.paths)) if (m.id === id) monitors.add(m.pid);
  for (const pid of monitors) killProcess(pid);
  for (const pid of monitors) await waitGone(pid, 5000);
  // a `runc create` the killed monitor started may still be making the container: let it finish
  for (const pid of findRuncCommands(id)) await waitGone(pid, 10_000);
  const runc = ctx.oci.runc;
  const state = await runc.state(id).catch(() => null);
  if (state) {
    await runc.kill(id, "KILL", { all: true }).catch(() => {});
    if (state.pid > 0) await waitGone(state.pid, 5000);
    await runc.delete(id, { force: true }).catch(() => {});
  }
  await removeExitFile(ctx.paths.exitsDir, id);
}

async function undoStart(
  ctx: RuntimeContext,
  intent: Intent,
  ctr: Container | undefined,
): Promise<void> {
  await endContainerProcesses(ctx, intent.target);
  if (ctr) {
    const before = String(intent.detail.status ?? "configured") as ContainerStatus;
    const { state } = ctr;
    state.status = before === "created" || isActive(before)
      ? "configured"
      : before === "stopped"
      ? "exited"
      : before;
    state.pid = 0;
    state.monitorPid = 0;
    state.stopRequested = false;
    await teardownIfBridged(ctr);
    if (state.mountCount > 0) {
      unmount(ctr.shmDir, { detach: true, ignoreNotMounted: true });
    } else {
      ctr.cleanupStorage();
    }
  }
  ctx.db.transaction(() => {
    ctr?.save();
    new IntentLog(ctx.db).clear(intent.id);
  });
}

/** Finishes an interrupted removal: what is left of the storage, then the row. */
async function finishRemove(
  ctx: RuntimeContext,
  intent: Intent,
  ctr: Container | undefined,
): Promise<void> {
  await endContainerProcesses(ctx, intent.target);
  if (ctr && !canDelete(ctr.state.status)) ctr.state.status = "exited";
  // with its processes gone, what is left is what a create makes
  await undoCreate(ctx, intent, ctr);
}

/** Undoes an interrupted export: the partial file, and the mount it made (unless now in use). */
async function undoExport(
  ctx: RuntimeContext,
  intent: Intent,
  ctr: Container | undefined,
): Promise<void> {
  if (typeof intent.detail.tmp === "string" && intent.detail.tmp !== "") {
    await removeFile(intent.detail.tmp);
  }
  if (intent.detail.unmount === true && ctr && !ctr.state.mounted) {
    unmountOverlay(ctx.paths, ctr.id);
  }
  new IntentLog(ctx.db).clear(intent.id);
}
