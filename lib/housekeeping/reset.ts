/**
 * `system reset`: back to an empty store. Every container is removed (a running one stopped as
 * `stop` does: its stop signal, its timeout, then SIGKILL), then every image, then whatever is
 * left in the store's directories (layers, container directories, `tmp/`, exit files) and the
 * event journal (which then holds one `system reset` event). The database stays (emptied), so
 * the store is usable at once.
 *
 * A container whose lock another process holds is waited for up to `lockWaitMs`; if it is still
 * held then, that container (and its image) is left alone and reported in `busy`, and the
 * directories are not swept: nothing in use is pulled from under its user.
 *
 * @example
 * ```ts
 * const { busy } = await resetStore(runtime, { lockWaitMs: 10_000 });
 * ```
 * @module
 */
import { ContainerRemovedError } from "../errors.ts";
import type { RuntimeContext } from "../container/context.ts";
import { Container } from "../container/container.ts";
import { removeContainer } from "../container/remove.ts";
import { stopContainer } from "../container/lifecycle/stop.ts";
import { isActive } from "../container/status.ts";
import { removeImage } from "../image/remove.ts";
import { removeTree } from "../storage/layers.ts";
import { recordEvent } from "../events/journal.ts";

/** Options for {@linkcode resetStore}. */
export interface ResetOptions {
  /** How long to wait for a container another process holds, in milliseconds. */
  lockWaitMs: number;
}

/** What a reset did. */
export interface ResetResult {
  containers: number;
  images: number;
  /** IDs of containers left because another process held them. */
  busy: string[];
}

/** Takes the container's lock, waiting at most `ms`; false when it is still held. */
async function lockWithin(ctr: Container, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (ctr.tryLock()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Empties the store; see the module doc. */
export async function resetStore(
  ctx: RuntimeContext,
  options: ResetOptions,
): Promise<ResetResult> {
  const result: ResetResult = { containers: 0, images: 0, busy: [] };
  for (const record of ctx.containers.list()) {
    const ctr = new Container(ctx, record);
    try {
      if (!(await lockWithin(ctr, options.lockWaitMs))) {
        result.busy.push(ctr.id);
        continue;
      }
      if (isActive(ctr.state.status) && ctr.state.status !== "paused") {
        ctr.unlock(); // stop takes and releases the lock itself
        await stopContainer(ctr);
        if (!(await lockWithin(ctr, options.lockWaitMs))) {
          result.busy.push(ctr.id);
          continue;
        }
      }
      await removeContainer(ctr, { force: true, timeout: 0 });
      result.containers++;
    } catch (err) {
      if (!(err instanceof ContainerRemovedError)) throw err;
    } finally {
      ctr.unlock();
    }
  }
  const keep = new Set(ctx.containers.list().map((c) => c.config.imageId));
  for (const image of ctx.images.list()) {
    if (keep.has(image.id)) continue;
    await removeImage(ctx, image.id, { force: true });
    result.images++;
  }
  if (result.busy.length > 0) return result;
  ctx.db.transaction(() => {
    ctx.db.run("DELETE FROM exit_codes");
    ctx.db.run("DELETE FROM events");
    recordEvent(ctx.db, { type: "system", status: "reset" });
    ctx.db.run("DELETE FROM layers WHERE NOT EXISTS (SELECT 1 FROM images)");
  });
  for (const dir of [ctx.paths.layersDir, `${ctx.paths.root}/containers`, ctx.paths.tmpDir]) {
    await emptyDir(dir);
  }
  await emptyDir(ctx.paths.exitsDir);
  return result;
}

async function emptyDir(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) await removeTree(`${dir}/${entry.name}`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
