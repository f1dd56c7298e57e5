/**
 * Volumes made with `-o type=...`/`device=...` are mounts: mounted on their `_data` when a
 * container using them starts (if not mounted yet), unmounted when the last container using them
 * has let go of its storage (exit, stop, a failed start, removal), as podman mounts a volume at
 * first use and unmounts it after the last. No counter is kept that could drift after a crash:
 * who still uses a volume is read from the containers' states (storage mounted), under a lock per
 * volume so that a start and an exit cannot cross. `MountCount` in `volume inspect` is that
 * number while the volume is mounted (0 for a plain directory volume, as podman).
 *
 * @example
 * ```ts
 * mountVolumes(ctx, config.volumes);        // at start, before runc sees the binds
 * releaseVolumes(ctx, ctr.id, config.volumes); // when its storage is cleaned up
 * ```
 * @module
 */
import type { RuntimeContext } from "./context.ts";
import type { VolumeSpec } from "./config.ts";
import { volumeStore } from "./volume_binds.ts";
import { needsMount, volumeMountSpec } from "../volume/options.ts";
import { isMountPoint, mountFs, unmount } from "../sys/mount.ts";
import { type HeldLock, tryLock } from "../sys/lockfile.ts";
import { LockError } from "../errors.ts";

/** How long {@linkcode withVolumeLock} waits for another process's volume lock. */
const VOLUME_LOCK_WAIT_MS = 30_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs `fn` holding the lock of volume `name` (synchronous: storage cleanup is). */
function withVolumeLock<T>(ctx: RuntimeContext, name: string, fn: () => T): T {
  const path = ctx.paths.lockPath(`volume-${name}`);
  const deadline = Date.now() + VOLUME_LOCK_WAIT_MS;
  let lock: HeldLock | null;
  while ((lock = tryLock(path)) === null) {
    if (Date.now() > deadline) {
      throw new LockError(`timed out waiting for the lock of volume ${name} (${path})`);
    }
    Atomics.wait(sleeper, 0, 0, 10);
  }
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** The distinct named volumes of `volumes` that are mounts, with their options. */
function mountedKinds(ctx: RuntimeContext, volumes: readonly VolumeSpec[]) {
  const store = volumeStore(ctx.paths);
  const names = [...new Set(volumes.flatMap((v) => v.volumeName ?? []))];
  return names.flatMap((name) => {
    const record = store.get(name);
    return record && needsMount(record.options)
      ? [{ name, options: record.options, data: store.dataDir(name) }]
      : [];
  });
}

/** IDs of the containers, other than `except`, whose storage is mounted and that use `name`. */
function holders(ctx: RuntimeContext, name: string, except?: string): string[] {
  return ctx.containers.list().filter((r) =>
    r.config.id !== except && r.config.volumes.some((v) => v.volumeName === name) &&
    r.state.mounted
  ).map((r) => r.config.id);
}

/** Mounts each volume of `volumes` that needs a mount and is not mounted yet. */
export function mountVolumes(ctx: RuntimeContext, volumes: readonly VolumeSpec[]): void {
  for (const volume of mountedKinds(ctx, volumes)) {
    withVolumeLock(ctx, volume.name, () => {
      if (!isMountPoint(volume.data)) mountFs(volumeMountSpec(volume.options, volume.data));
    });
  }
}

/**
 * Unmounts each mounted volume of `volumes` that no container but `ctrId` holds (the caller
 * has already marked `ctrId`'s storage unmounted, or is about to remove it).
 */
export function releaseVolumes(
  ctx: RuntimeContext,
  ctrId: string,
  volumes: readonly VolumeSpec[],
): void {
  for (const volume of mountedKinds(ctx, volumes)) {
    withVolumeLock(ctx, volume.name, () => {
      if (holders(ctx, volume.name, ctrId).length === 0) {
        unmount(volume.data, { detach: true, ignoreNotMounted: true });
      }
    });
  }
}

/** `MountCount`: the containers holding the volume while it is mounted; 0 when it is not. */
export function volumeMountCount(ctx: RuntimeContext, name: string): number {
  const store = volumeStore(ctx.paths);
  const record = store.get(name);
  if (!record || !needsMount(record.options) || !isMountPoint(store.dataDir(name))) return 0;
  return holders(ctx, name).length;
}
