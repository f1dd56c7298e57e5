/**
 * The seed's syncContainer: learn a container's true status and write it back only when it
 * changed. Cheap by design (it runs for every container `ps` shows): the exit file and
 * `/proc/PID` answer in the common case; runc is asked only when they disagree. A container whose
 * process is gone is finished here (exit code recorded, storage cleaned, runc state deleted), so
 * a monitor killed with -9 never leaves a container that claims to run; and storage that a client
 * killed during `start` left mounted is unmounted.
 *
 * @example
 * ```ts
 * await ctr.withLock(() => syncContainer(ctr));
 * ```
 * @module
 */
import { ContainerRemovedError } from "../../errors.ts";
import { readExitRecord } from "../../oci/exitfile.ts";
import { isProcessAlive } from "../../sys/process.ts";
import { unmount } from "../../sys/mount.ts";
import { logger } from "../../log.ts";
import type { Container } from "../container.ts";
import { hasLeftoverStorage, runtimeKnows } from "../status.ts";
import { journaled } from "../../events/journal.ts";
import { teardownIfBridged } from "../network_teardown.ts";

const log = logger("container");

/** How long to wait for a live monitor to write the exit file of a process that is gone. */
const EXIT_FILE_GRACE_MS = 2000;

/** What the process, exit file and monitor say of a container runc knows. */
export interface Observation {
  /** The container's process has ended. */
  exited: boolean;
  /** Its exit code (-1 when the monitor died without writing one). */
  exitCode: number;
  /** When it ended. */
  finishedAt: Date;
}

/** What a caller of {@linkcode syncContainer} lets go on after it returns. */
export interface SyncOptions {
  /**
   * When given, runc's deletion of an ended container is put here instead of awaited: the caller
   * (who keeps the lock until it has awaited it) does other work meanwhile. `container cleanup`
   * of a `--rm` container removes its storage while runc runs.
   */
  pending?: Promise<unknown>[];
}

/** Looks at the exit file, the container's process and its monitor; never changes anything. */
export async function observeContainer(ctr: Container): Promise<Observation | null> {
  const { state } = ctr;
  if (!runtimeKnows(state.status)) return null;
  const exitDir = ctr.ctx.paths.exitsDir;
  let record = await readExitRecord(exitDir, ctr.id);
  if (record) return { exited: true, exitCode: record.exitCode, finishedAt: record.exitedAt };
  if (state.status !== "stopped" && isProcessAlive(state.pid)) {
    return { exited: false, exitCode: 0, finishedAt: new Date(0) };
  }
  const deadline = Date.now() + EXIT_FILE_GRACE_MS;
  while (isProcessAlive(state.monitorPid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    record = await readExitRecord(exitDir, ctr.id);
    if (record) return { exited: true, exitCode: record.exitCode, finishedAt: record.exitedAt };
  }
  return { exited: true, exitCode: -1, finishedAt: new Date() };
}

/**
 * Syncs the container with its process (the caller holds its lock): when the process has ended,
 * finishes the container. Returns true when the state changed.
 */
export async function syncContainer(ctr: Container, options: SyncOptions = {}): Promise<boolean> {
  if (hasLeftoverStorage(ctr.state)) {
    log.debug("unmounting storage container {id}'s last start left mounted", { id: ctr.id });
    ctr.cleanupStorage();
    return true;
  }
  const seen = await observeContainer(ctr);
  if (!seen || !seen.exited) return false;
  await finishExit(ctr, seen, options);
  return true;
}

/**
 * Brings a container's state up to date for display (`ps`, `inspect`, `wait`): it looks without
 * the lock and takes the lock only when the process has ended, so a command that only shows
 * state never waits behind a long `stop`. Returns false when the container was removed meanwhile
 * (e.g. by the cleanup of a `--rm` container).
 *
 * @example
 * ```ts
 * const shown = [];
 * for (const ctr of runtime.allContainers()) if (await syncForDisplay(ctr)) shown.push(ctr);
 * ```
 */
export async function syncForDisplay(ctr: Container): Promise<boolean> {
  if (!runtimeKnows(ctr.state.status)) {
    if (hasLeftoverStorage(ctr.state)) await unmountLeftoverStorage(ctr);
    return true;
  }
  const seen = await observeContainer(ctr);
  if (!seen?.exited) return true;
  try {
    await ctr.withLock(() => syncContainer(ctr));
  } catch (err) {
    if (err instanceof ContainerRemovedError) return false;
    throw err;
  }
  return true;
}

/**
 * Unmounts the storage of a container that {@linkcode hasLeftoverStorage}, unless its lock is
 * held: then an operation is under way (a `start` between mounting and running looks the same),
 * and it is left alone, so that a listing never waits behind it.
 */
async function unmountLeftoverStorage(ctr: Container): Promise<void> {
  let locked: boolean;
  try {
    locked = ctr.tryLock();
  } catch (err) {
    if (err instanceof ContainerRemovedError) return;
    throw err;
  }
  if (!locked) return;
  try {
    await syncContainer(ctr);
  } finally {
    ctr.unlock();
  }
}

/**
 * Records an ended container: status `exited` with its exit code and time, the exit code kept in
 * its own table, the network torn down (netavark, namespace, addresses), runc's state deleted, and its storage unmounted unless a
 * user still holds a `mount` of it.
 */
export async function finishExit(
  ctr: Container,
  seen: Observation,
  options: SyncOptions = {},
): Promise<void> {
  const { state } = ctr;
  state.status = "exited";
  state.exitCode = seen.exitCode;
  state.finishedAt = seen.finishedAt.toISOString();
  state.pid = 0;
  state.monitorPid = 0;
  state.stopRequested = false;
  // netavark's teardown (a few hundred ms of firewall rules) and runc's forgetting of the
  // container (a process of its own) run while its storage is unmounted
  const network = teardownIfBridged(ctr);
  network.catch(() => {}); // awaited below
  const forgotten = ctr.ctx.oci.runc.delete(ctr.id, { force: true }).catch((err) => {
    log.debug("runc delete {id}: {err}", { id: ctr.id, err: String(err) });
  });
  if (state.mountCount > 0) {
    unmount(ctr.shmDir, { detach: true, ignoreNotMounted: true });
    ctr.save();
  } else {
    ctr.cleanupStorage();
  }
  if (options.pending) options.pending.push(forgotten);
  else await forgotten;
  await network;
  journaled(ctr.ctx.db, ctr, ["died", "cleanup"], () => {
    ctr.save();
    ctr.ctx.containers.recordExitCode(ctr.id, ctr.name, seen.exitCode, state.finishedAt);
  });
  log.debug("container {id} exited with {code}", { id: ctr.id, code: seen.exitCode });
}
