/**
 * Removing named volumes: refused while a container uses one (podman's words, exit 2), unless
 * forced, which removes those containers first (as podman's `volume rm -f`); `prune` removes
 * every volume no container uses.
 *
 * @example
 * ```ts
 * await removeVolume(ctx, "data", false);
 * await pruneVolumes(ctx); // ["old"]
 * ```
 * @module
 */
import type { RuntimeContext } from "./context.ts";
import { Container } from "./container.ts";
import { removeContainer } from "./remove.ts";
import { containersUsingVolume, volumeStore } from "./volume_binds.ts";
import { VolumeInUseError } from "../volume/store.ts";
import { acquireLock } from "../sys/lockfile.ts";
import { treeSize } from "../storage/size.ts";
import { unmount } from "../sys/mount.ts";

async function withVolumesLock<T>(ctx: RuntimeContext, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(ctx.paths.lockPath("volumes"));
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** Removes the volume `name`; see the module doc. */
export async function removeVolume(
  ctx: RuntimeContext,
  name: string,
  force: boolean,
): Promise<void> {
  const store = volumeStore(ctx.paths);
  store.resolve(name);
  const users = containersUsingVolume(ctx.containers.list(), name);
  if (users.length > 0 && !force) throw new VolumeInUseError(name, users);
  for (const id of users) {
    const record = ctx.containers.get(id);
    if (record) await removeContainer(new Container(ctx, record), { force: true });
  }
  await withVolumesLock(ctx, () => {
    // a mount left by a crash: never delete through it
    unmount(store.dataDir(name), { detach: true, ignoreNotMounted: true });
    return store.remove(name);
  });
}

/** A volume `prune` removed, with the bytes it held. */
export interface PrunedVolume {
  name: string;
  size: number;
}

/** Removes every volume no container uses; returns them with their sizes. */
export async function pruneVolumes(ctx: RuntimeContext): Promise<PrunedVolume[]> {
  const store = volumeStore(ctx.paths);
  return await withVolumesLock(ctx, async () => {
    const records = ctx.containers.list();
    const removed: PrunedVolume[] = [];
    for (const v of store.list()) {
      if (containersUsingVolume(records, v.name).length > 0) continue;
      const size = treeSize(store.volumeDir(v.name));
      unmount(store.dataDir(v.name), { detach: true, ignoreNotMounted: true });
      await store.remove(v.name);
      removed.push({ name: v.name, size });
    }
    return removed;
  });
}
