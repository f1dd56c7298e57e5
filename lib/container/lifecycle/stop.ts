/**
 * Stopping and signalling. `stop` sends the stop signal, waits up to the timeout, then warns and
 * sends SIGKILL; while it waits the container is `stopping` and its lock is released, so `ps` and
 * `inspect` answer at once (podman #8501). `kill` sends one signal and does not wait.
 *
 * @example
 * ```ts
 * await stopContainer(ctr, { timeout: 1 });
 * ```
 * @module
 */
import { ContainerRemovedError, ContainerStateError } from "../../errors.ts";
import { readExitRecord } from "../../oci/exitfile.ts";
import { isProcessAlive } from "../../sys/process.ts";
import { signalName } from "../../util/signals.ts";
import { logger } from "../../log.ts";
import type { Container } from "../container.ts";
import {
  canKill,
  canPause,
  canStop,
  canUnpause,
  hasExited,
  hasProcess,
  isPaused,
} from "../status.ts";
import { finishExit, observeContainer, syncContainer } from "./sync.ts";
import { saveWithEvents } from "../../events/journal.ts";

const log = logger("container");

/** After SIGKILL, how long to wait for the process to be gone before giving up. */
const KILL_GRACE_MS = 10_000;

/** Options for {@linkcode stopContainer}. */
export interface StopOptions {
  /** Seconds to wait before SIGKILL; the container's `--stop-timeout` when absent. */
  timeout?: number;
}

/** Waits until the container's process is gone or `ms` pass; true when it is gone. */
async function waitForExit(ctr: Container, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await readExitRecord(ctr.ctx.paths.exitsDir, ctr.id)) return true;
    if (!isProcessAlive(ctr.state.pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Stops the container (takes and releases its lock itself). Returns false when it was not running
 * (nothing to do). Refused for configured and paused containers, as the seed does.
 */
export async function stopContainer(ctr: Container, options: StopOptions = {}): Promise<boolean> {
  const proceed = await ctr.withLock(async () => {
    await syncContainer(ctr);
    const { state } = ctr;
    if (!canStop(state.status)) {
      throw new ContainerStateError(
        `can only stop created or running containers. ${ctr.id} is in state ${state.status}: container state improper`,
      );
    }
    if (!hasProcess(state.status)) {
      // exited, maybe waiting out a restart policy's backoff: the user's stop ends the restarts
      if (hasExited(state.status) && ctr.config.restartPolicy && !state.stoppedByUser) {
        state.stoppedByUser = true;
        ctr.save();
      }
      return false;
    }
    state.status = "stopping";
    state.stopRequested = true;
    state.stoppedByUser = true;
    saveWithEvents(ctr, "stop");
    return true;
  });
  if (!proceed) return false;
  const timeout = options.timeout ?? ctr.config.stopTimeout;
  const runc = ctr.ctx.oci.runc;
  if (timeout > 0) {
    await runc.kill(ctr.id, ctr.config.stopSignal).catch((err) => {
      log.debug("stop signal to {id}: {err}", { id: ctr.id, err: String(err) });
    });
  }
  if (!(await waitForExit(ctr, timeout * 1000))) {
    if (timeout > 0) {
      log.warn(
        `StopSignal ${
          signalName(ctr.config.stopSignal)
        } failed to stop container ${ctr.name} in ${timeout} seconds, resorting to SIGKILL`,
      );
    }
    await runc.kill(ctr.id, "KILL", { all: true }).catch((err) => {
      log.debug("SIGKILL to {id}: {err}", { id: ctr.id, err: String(err) });
    });
    await waitForExit(ctr, KILL_GRACE_MS);
  }
  try {
    await ctr.withLock(async () => {
      const seen = await observeContainer(ctr);
      if (seen?.exited && !hasExited(ctr.state.status)) await finishExit(ctr, seen);
    });
  } catch (err) {
    // the monitor's cleanup removed a --rm container meanwhile: it is stopped for good
    if (!(err instanceof ContainerRemovedError)) throw err;
  }
  return true;
}

/** Sends `signal` to the container's process; only running containers can be signalled. */
export async function killContainer(ctr: Container, signal: number): Promise<void> {
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    const status = ctr.state.status;
    if (!canKill(status)) {
      throw new ContainerStateError(
        `can only kill running containers. ${ctr.id} is in state ${status}: container state improper`,
      );
    }
    await ctr.ctx.oci.runc.kill(ctr.id, signal);
  });
}

/**
 * Kills an active or created container at once and finishes it (for `rm -f` of a paused or
 * created one, after a graceful stop for a running one); the caller holds the lock.
 */
export async function killForRemoval(ctr: Container): Promise<void> {
  const runc = ctr.ctx.oci.runc;
  if (isPaused(ctr.state.status)) await runc.resume(ctr.id).catch(() => {});
  await runc.kill(ctr.id, "KILL", { all: true }).catch(() => {});
  await waitForExit(ctr, KILL_GRACE_MS);
  const seen = await observeContainer(ctr);
  await finishExit(ctr, seen ?? { exited: true, exitCode: 137, finishedAt: new Date() });
}

/** Freezes a running container (`pause`). */
export async function pauseContainer(ctr: Container): Promise<void> {
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    if (!canPause(ctr.state.status)) {
      throw new ContainerStateError(
        `${ctr.id} is not running, can't pause: container state improper`,
      );
    }
    await ctr.ctx.oci.runc.pause(ctr.id);
    ctr.state.status = "paused";
    saveWithEvents(ctr, "pause");
  });
}

/** Thaws a paused container (`unpause`). */
export async function unpauseContainer(ctr: Container): Promise<void> {
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    if (!canUnpause(ctr.state.status)) {
      throw new ContainerStateError(
        `${ctr.id} is not paused, can't unpause: container state improper`,
      );
    }
    await ctr.ctx.oci.runc.resume(ctr.id);
    ctr.state.status = "running";
    saveWithEvents(ctr, "unpause");
  });
}
