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

/** Finishes (and with `--rm`, removes) the exited container `id`; true when it was removed. */
export async function cleanupContainer(ctx: RuntimeContext, id: string): Promise<boolean> {
  const record = ctx.containers.find(id);
  if (!record) return false;
  const ctr = new Container(ctx, record);
  try {
    await ctr.withLock(() => syncContainer(ctr));
    if (ctr.config.autoRemove && hasExited(ctr.state.status)) {
      await removeContainer(ctr, { force: false, volumes: true });
      return true;
    }
  } catch (err) {
    if (err instanceof ContainerRemovedError || err instanceof NoSuchContainerError) return false;
    throw err;
  }
  return false;
}
