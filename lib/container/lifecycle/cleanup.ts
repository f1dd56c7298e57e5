/**
 * `container cleanup`: what the monitor runs when a container exits. It finishes the container
 * (exit code, storage, runc state) and removes it when it was made with `--rm`. Harmless when the
 * container was already finished or removed by someone else.
 *
 * @example
 * ```ts
 * await cleanupContainer(runtime, id);
 * ```
 * @module
 */
import { ContainerRemovedError, NoSuchContainerError } from "../../errors.ts";
import type { RuntimeContext } from "../context.ts";
import { Container } from "../container.ts";
import { removeContainer } from "../remove.ts";
import { syncContainer } from "./sync.ts";
import { hasExited } from "../status.ts";
import { restartDelayMs, shouldRestart } from "../restart_policy.ts";
import { startContainer } from "./start.ts";

function restartFacts(ctr: Container) {
  return {
    exitCode: ctr.state.exitCode,
    restartCount: ctr.state.restartCount ?? 0,
    stoppedByUser: ctr.state.stoppedByUser === true,
  };
}

/**
 * The restart policy, applied after the exit was recorded: wait the backoff, then (under the lock,
 * the container still exited and not stopped by the user meanwhile) count and start it again.
 */
async function applyRestartPolicy(ctr: Container): Promise<void> {
  const policy = ctr.config.restartPolicy;
  if (!policy || !hasExited(ctr.state.status) || !shouldRestart(policy, restartFacts(ctr))) return;
  await new Promise((resolve) => setTimeout(resolve, restartDelayMs(ctr.state.restartCount ?? 0)));
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    if (!hasExited(ctr.state.status) || !shouldRestart(policy, restartFacts(ctr))) return;
    ctr.state.restartCount = (ctr.state.restartCount ?? 0) + 1;
    await startContainer(ctr);
  });
}

/**
 * Finishes (and with `--rm`, removes) the exited container `id`; true when it was removed. A
 * `--rm` container is finished and removed under one hold of its lock, its storage removed while
 * runc deletes it.
 */
export async function cleanupContainer(ctx: RuntimeContext, id: string): Promise<boolean> {
  const record = ctx.containers.find(id);
  if (!record) return false;
  const ctr = new Container(ctx, record);
  try {
    const removed = await ctr.withLock(async () => {
      const pending: Promise<unknown>[] = [];
      try {
        await syncContainer(ctr, { pending });
        if (!ctr.config.autoRemove || !hasExited(ctr.state.status)) return false;
        await removeContainer(ctr, {
          force: false,
          volumes: true,
          runtimeDeleted: Promise.all(pending),
        });
        return true;
      } finally {
        await Promise.all(pending);
      }
    });
    if (removed) return true;
    await applyRestartPolicy(ctr);
  } catch (err) {
    if (err instanceof ContainerRemovedError || err instanceof NoSuchContainerError) return false;
    throw err;
  }
  return false;
}
