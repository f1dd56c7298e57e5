/**
 * Removing a container: refused while it runs unless forced. Forced, a running container is
 * stopped as `stop` does — its stop signal, then SIGKILL after the timeout (`rm -t`, else its
 * `--stop-timeout`), with the lock released while it waits — and a paused one is killed; then
 * its storage is torn down and its row, lockfile and exit file deleted. Against a concurrent
 * remover: whoever takes the lock second finds the row gone and gets ContainerRemovedError (`rm`
 * reports it as no such container).
 *
 * @example
 * ```ts
 * await removeContainer(ctr, { force: true, timeout: 5 });
 * ```
 * @module
 */
import { ContainerRemovedError, ContainerStateError } from "../errors.ts";
import { removeExitFile } from "../oci/exitfile.ts";
import type { Container } from "./container.ts";
import { killForRemoval, stopContainer } from "./lifecycle/stop.ts";
import { canStop, hasProcess, isActive } from "./status.ts";
import { containerCgroupPath } from "./spec/resources.ts";
import { removeCgroup } from "../sys/cgroup.ts";
import { containersUsingVolume, volumeStore } from "./volume_binds.ts";
import { teardownIfBridged } from "./network_teardown.ts";
import { logger } from "../log.ts";
import { journaled } from "../events/journal.ts";
import { IntentLog } from "../state/intents.ts";
import { isDiskFull } from "../state/db.ts";
import { crashPoint } from "../util/crash.ts";

const log = logger("container");

/** Removes the container's anonymous volumes that no other container uses (`rm -v`). */
async function removeAnonymousVolumes(ctr: Container): Promise<void> {
  const store = volumeStore(ctr.ctx.paths);
  const others = ctr.ctx.containers.list();
  for (const v of ctr.config.volumes) {
    if (!v.anonymous || v.volumeName === undefined || !store.get(v.volumeName)) continue;
    if (containersUsingVolume(others, v.volumeName).length > 0) continue;
    await store.remove(v.volumeName);
  }
}

/** Options for {@linkcode removeContainer}. */
export interface RemoveOptions {
  /** Stop a running container first (a paused one is killed); without it, refuse. */
  force: boolean;
  /**
   * With `force`: seconds between the stop signal and SIGKILL (0: SIGKILL at once); the
   * container's `--stop-timeout` when absent.
   */
  timeout?: number;
  /** `rm -v`: also remove the container's anonymous volumes. */
  volumes?: boolean;
  /** Work to finish before the cgroup is removed (runc's deletion of the container, under way). */
  runtimeDeleted?: Promise<unknown>;
}

/**
 * Writes the intent "removing container X" (finished by the next command after a kill -9). On a
 * full disk there is no room for it: the removal frees space first and writes after.
 */
function recordRemoval(ctr: Container): number | undefined {
  try {
    return new IntentLog(ctr.ctx.db).record("remove", ctr.id);
  } catch (err) {
    if (isDiskFull(err)) return undefined;
    throw err;
  }
}

/** Removes the container; see the module doc. */
export async function removeContainer(ctr: Container, options: RemoveOptions): Promise<void> {
  let stopped = false;
  if (options.force && isActive(ctr.state.status) && canStop(ctr.state.status)) {
    stopped = await stopContainer(ctr, { timeout: options.timeout });
  }
  try {
    await ctr.withLock(async () => {
      const { status } = ctr.state;
      if (isActive(status) && !options.force) {
        throw new ContainerStateError(
          `cannot remove container ${ctr.id} as it is ${status} - running or paused containers cannot be removed without force: container state improper`,
        );
      }
      // paused, created, or started again since the stop above
      if (hasProcess(status)) await killForRemoval(ctr);
      await teardownIfBridged(ctr);
      const intent = recordRemoval(ctr);
      crashPoint("remove:intent");
      await ctr.teardownStorage();
      await options.runtimeDeleted;
      // runc removes the cgroup on delete; one left by a crash goes with the container
      for (const dir of await removeCgroup(containerCgroupPath(ctr.id))) {
        log.warn("cgroup {dir} of container {id} still in use; left in place", { dir, id: ctr.id });
      }
      // the row, the intent and the remove event go together; on a full disk, once more after
      // the WAL's blocks are freed (the files went first)
      ctr.ctx.db.transaction(() =>
        journaled(ctr.ctx.db, ctr, ["remove"], () => {
          ctr.ctx.containers.delete(ctr.id);
          new IntentLog(ctr.ctx.db).clear(intent);
        }), { retryWhenFull: true });
      ctr.markRemoved();
      ctr.removeLockfile();
      // the exit code lives on in its own table (for `wait`); the runroot is a tmpfs: keep it clean
      await removeExitFile(ctr.ctx.paths.exitsDir, ctr.id);
      if (options.volumes) await removeAnonymousVolumes(ctr);
      log.debug("removed container {id}", { id: ctr.id });
    });
  } catch (err) {
    // our stop ended a --rm container, and its monitor's cleanup removed it: gone, as asked
    if (stopped && ctr.config.autoRemove && err instanceof ContainerRemovedError) return;
    throw err;
  }
}
