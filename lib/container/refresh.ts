/**
 * Refresh after a reboot. The runroot is a tmpfs: when its `alive` marker is missing, or names
 * another boot, every container that was running, stopping, paused or stopped becomes exited and
 * every created one configured; mounts and PIDs are dropped from the state and networks torn down
 * (firewall rules, namespaces, addresses: whatever of them survived); run
 * directories are made anew; exited `--rm` containers are removed. The check takes a lock of its
 * own, so of several commands started together after boot exactly one refreshes.
 *
 * @example
 * ```ts
 * await refreshIfRebooted(runtime); // one stat when nothing rebooted
 * ```
 * @module
 */
import { acquireLock } from "../sys/lockfile.ts";
import { logger } from "../log.ts";
import type { RuntimeContext } from "./context.ts";
import { Container } from "./container.ts";
import { bootId } from "../sys/identity.ts";
import { aliveMarkerIsCurrent } from "./alive_marker.ts";
import { ContainerStateError } from "../errors.ts";
import { isProcessAlive } from "../sys/process.ts";
import { isActive, runtimeKnows } from "./status.ts";
import { teardownIfBridged } from "./network_teardown.ts";

const log = logger("refresh");

/** Refreshes all containers when this is the first command since boot; returns true if it did. */
export async function refreshIfRebooted(ctx: RuntimeContext): Promise<boolean> {
  const marker = ctx.paths.aliveMarker;
  if (aliveMarkerIsCurrent(marker)) return false;
  const lock = await acquireLock(ctx.paths.lockPath("alive"));
  try {
    if (aliveMarkerIsCurrent(marker)) return false;
    await refreshAll(ctx);
    const tmp = `${marker}.tmp`;
    Deno.writeTextFileSync(tmp, `${bootId()}\n`);
    Deno.renameSync(tmp, marker);
    return true;
  } finally {
    lock.release();
  }
}

/** Options of {@linkcode refreshCommand}. */
export interface RefreshOptions {
  /** On a live boot, stop running containers (stop signal, timeout, SIGKILL) and refresh. */
  force: boolean;
}

/**
 * `system refresh`: refused on a live boot (the `alive` marker names this boot, so containers may
 * be running) unless `force`; with `force`, every container runc knows is stopped properly first
 * (as `stop` does), and one that will not stop is left as it is and named in the error. A live
 * container is never marked exited with its processes left behind.
 */
export async function refreshCommand(ctx: RuntimeContext, options: RefreshOptions): Promise<void> {
  const lock = await acquireLock(ctx.paths.lockPath("alive"));
  try {
    const live = aliveMarkerIsCurrent(ctx.paths.aliveMarker);
    const keep = new Set<string>();
    if (live) {
      // loaded here, not at start-up: every command checks for a reboot, few refresh
      const { syncForDisplay } = await import("./lifecycle/sync.ts");
      const { stopContainer } = await import("./lifecycle/stop.ts");
      if (!options.force) {
        throw new ContainerStateError(
          "refusing to refresh: this boot's containers may be running (the runroot's alive marker names this boot); use --force to stop them first",
        );
      }
      for (const ctr of ctx.containers.list().map((r) => new Container(ctx, r))) {
        if (!(await syncForDisplay(ctr)) || !runtimeKnows(ctr.state.status)) continue;
        await stopContainer(ctr).catch((err) => {
          log.debug("stop {id}: {err}", { id: ctr.id, err: String(err) });
        });
        ctr.reload();
        if (runtimeKnows(ctr.state.status) && isProcessAlive(ctr.state.pid)) keep.add(ctr.id);
      }
    }
    await refreshAll(ctx, keep);
    if (keep.size > 0) {
      throw new ContainerStateError(
        `refreshed all but ${
          [...keep].map((id) => id.slice(0, 12)).join(", ")
        }: still running after stop, left as they are`,
      );
    }
  } finally {
    lock.release();
  }
}

/**
 * Resets every container's run-time state as after a reboot, except the containers in `keep`.
 * The caller makes sure no other container runs (after a reboot none does).
 */
export async function refreshAll(ctx: RuntimeContext, keep = new Set<string>()): Promise<void> {
  const records = ctx.containers.list().filter((record) => !keep.has(record.config.id));
  if (records.length === 0) {
    // a fresh root: nothing to refresh, nor to load (some 7 MB of modules)
    log.debug("refreshed container state after a reboot");
    return;
  }
  // loaded here, not at start-up: every command checks for a reboot, few refresh
  const { writeRundirFiles } = await import("./files.ts");
  const { removeContainer } = await import("./remove.ts");
  const now = new Date().toISOString();
  const autoRemove: Container[] = [];
  for (const record of records) {
    const ctr = new Container(ctx, record);
    await ctr.withLock(async () => {
      const state = ctr.state;
      const wasRunning = isActive(state.status) || state.status === "stopped";
      if (wasRunning) {
        state.status = "exited";
        if (!state.finishedAt) state.finishedAt = now;
      } else if (state.status === "created") {
        state.status = "configured";
      }
      state.pid = 0;
      state.monitorPid = 0;
      state.mounted = false;
      state.mountpoint = "";
      state.mountCount = 0;
      state.stopRequested = false;
      await teardownIfBridged(ctr);
      ctr.cleanupStorage();
      ctr.save();
      await writeRundirFiles(ctr);
      if (ctr.config.autoRemove && state.status === "exited") autoRemove.push(ctr);
    });
  }
  for (const ctr of autoRemove) {
    await removeContainer(ctr, { force: false }).catch((err) => {
      log.warn("could not remove --rm container {id}: {err}", { id: ctr.id, err: String(err) });
    });
  }
  log.debug("refreshed container state after a reboot");
}
