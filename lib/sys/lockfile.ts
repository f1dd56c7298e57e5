/**
 * Lockfiles with flock(2): one file per lock, never the database. A lock is held by an open file
 * description, so it is released when the holder closes it or dies (a kill -9 never leaves a
 * lock behind). Blocking waits use `Deno.FsFile.lock()`; {@linkcode tryLock} uses flock with
 * LOCK_NB through FFI.
 *
 * @example
 * ```ts
 * const held = await acquireLock("/run/denopod/locks/ctr-abc.lock");
 * try { work(); } finally { held.release(); }
 * ```
 * @module
 */
import { libc } from "./libc.ts";

/** A lock that is held until {@linkcode HeldLock.release} is called (or the process exits). */
export interface HeldLock {
  /** The lockfile's path. */
  readonly path: string;
  /** Releases the lock; calling it twice is harmless. */
  release(): void;
}

/** Waits until the exclusive lock on `path` is ours (creating the file) and returns it. */
export async function acquireLock(path: string): Promise<HeldLock> {
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    await file.lock(true);
  } catch (err) {
    file.close();
    throw err;
  }
  let open = true;
  return {
    path,
    release() {
      if (!open) return;
      open = false;
      file.close();
    },
  };
}

/** Takes the exclusive lock on `path` if nobody holds it; returns null when it is held. */
export function tryLock(path: string): HeldLock | null {
  const fd = libc().openLockfile(path);
  if (!libc().tryFlock(fd, true)) {
    libc().close(fd);
    return null;
  }
  let open = true;
  return {
    path,
    release() {
      if (!open) return;
      open = false;
      libc().close(fd);
    },
  };
}
