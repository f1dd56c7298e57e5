/**
 * A container: its config and state, its lock, and the storage half of its lifecycle (the seed's
 * setupStorage, mountStorage, cleanupStorage, teardownStorage, export, sizes). The running half
 * (start, stop, kill, ...) lives in `lifecycle.ts` and works on the same object.
 *
 * Every operation that changes a container runs under {@linkcode Container.withLock}: the
 * per-container flock is taken, the state reloaded from the database, the operation run, and the
 * lock released, so two invocations on one container serialise.
 *
 * @example
 * ```ts
 * await ctr.withLock(() => ctr.mount());
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { ContainerRemovedError, ContainerStateError } from "../errors.ts";
import { acquireLock, type HeldLock, tryLock } from "../sys/lockfile.ts";
import { isMountPoint, mountFs, unmount } from "../sys/mount.ts";
import { MS_NODEV, MS_NOEXEC, MS_NOSUID } from "../sys/libc.ts";
import { formatMountLabel } from "../sys/selinux.ts";
import {
  containerLayerPaths,
  createContainerLayer,
  deleteContainerLayer,
  mountOverlay,
  unmountOverlay,
} from "../storage/overlay.ts";
import { removeTree } from "../storage/layers.ts";
import { logger } from "../log.ts";
import { journaled, saveWithEvents } from "../events/journal.ts";
import { crashPoint } from "../util/crash.ts";
import type { ContainerConfig } from "./config.ts";
import { canDelete, isActive } from "./status.ts";
import { releaseVolumes } from "./volume_mounts.ts";
import { dropOverlayVolumes } from "./overlay_volumes.ts";
import { ContainerView } from "./view.ts";
import { rwSize } from "./rw_size.ts";

const log = logger("container");

/** Name of the bundle subdirectory holding artifacts, as the seed. */
export const ARTIFACTS_DIR = "artifacts";

/** One container; see the module doc. */
export class Container extends ContainerView {
  #lock: HeldLock | null = null;
  #removed = false;

  /** Path of a named artifact in the bundle. */
  artifactPath(name: string): string {
    return join(this.bundlePath, ARTIFACTS_DIR, name);
  }

  /** Throws ContainerRemovedError when the container was removed under us. */
  assertValid(): void {
    if (this.#removed) {
      throw new ContainerRemovedError(`container ${this.id} is not valid: it has been removed`);
    }
  }

  /** Reloads config and state from the database; marks the container removed when gone. */
  reload(): void {
    const record = this.ctx.containers.get(this.id);
    if (!record) {
      this.#removed = true;
      this.assertValid();
      return;
    }
    this.setRecord(record.config, record.state);
  }

  /** Saves the state to the database. */
  save(): void {
    this.assertValid();
    if (!this.ctx.containers.saveState(this.id, this.state)) {
      this.#removed = true;
      this.assertValid();
    }
  }

  /**
   * Replaces the config (only `network connect`/`disconnect`, under the lock) and saves it with
   * the state.
   */
  replaceConfig(config: ContainerConfig): void {
    this.assertValid();
    if (!this.ctx.containers.saveConfigAndState(this.id, config, this.state)) {
      this.#removed = true;
      this.assertValid();
    }
    this.setRecord(config, this.state);
  }

  /** Marks the object as removed (after its row was deleted). */
  markRemoved(): void {
    this.#removed = true;
  }

  /** True while this object holds the container's lock. */
  get locked(): boolean {
    return this.#lock !== null;
  }

  /**
   * Takes the container's lock (waiting for other holders) and reloads the state. When the
   * container was removed meanwhile, the lockfile (which this call may have made anew) is deleted
   * and ContainerRemovedError thrown.
   */
  async lock(): Promise<void> {
    if (this.#lock) return;
    this.#lock = await acquireLock(this.ctx.paths.lockPath(this.id));
    this.#reloadLocked();
  }

  /**
   * Takes the container's lock only if no other process holds it, and reloads the state; returns
   * false (holding nothing) when it is held. Housekeeping and listings use it: they never wait
   * for, nor touch, a container another command is working on. Throws ContainerRemovedError as
   * {@linkcode lock}.
   */
  tryLock(): boolean {
    if (this.#lock) return true;
    this.#lock = tryLock(this.ctx.paths.lockPath(this.id));
    if (!this.#lock) return false;
    this.#reloadLocked();
    return true;
  }

  /** Reloads after taking the lock; when the container is gone, lets go and cleans up. */
  #reloadLocked(): void {
    try {
      this.reload();
    } catch (err) {
      if (err instanceof ContainerRemovedError) this.removeLockfile();
      this.unlock();
      throw err;
    }
  }

  /**
   * Deletes the container's lockfile, so removed containers leave none behind in the runroot.
   * Call only once the row is gone: a process still waiting on the old file then finds the
   * container removed, and IDs are never reused.
   */
  removeLockfile(): void {
    try {
      Deno.removeSync(this.ctx.paths.lockPath(this.id));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /** Releases the container's lock. */
  unlock(): void {
    this.#lock?.release();
    this.#lock = null;
  }

  /** Runs `fn` holding the container's lock, with the state freshly loaded. */
  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.#lock) return await fn();
    await this.lock();
    try {
      return await fn();
    } finally {
      this.unlock();
    }
  }

  // ---- storage (the seed's setupStorage / mountStorage / cleanupStorage / teardownStorage) ----

  /**
   * Creates the container's storage: the RW layer, the bundle with `artifacts/`, the shm mount
   * point and the run directory. Needs the configured state and an image.
   */
  async setupStorage(): Promise<void> {
    this.assertValid();
    if (this.state.status !== "configured") {
      throw new ContainerStateError(
        `container ${this.id} must be in Configured state to have storage set up`,
      );
    }
    await createContainerLayer(this.ctx.paths, this.id);
    await Deno.mkdir(join(this.bundlePath, ARTIFACTS_DIR), { recursive: true, mode: 0o755 });
    await Deno.mkdir(this.shmDir, { recursive: true, mode: 0o755 });
    await Deno.mkdir(this.runDir, { recursive: true, mode: 0o700 });
    // the log exists from the start, so an attached client can open it before the container runs
    await Deno.writeFile(this.ctx.paths.logPath(this.id), new Uint8Array(0), { append: true });
  }

  /**
   * Mounts the shm tmpfs and the overlay rootfs (each only if not mounted yet), and records the
   * mount point. When a later step fails, what was mounted here is undone. The state says
   * "mounted" before the first mount is made, so a client killed on the way leaves a state that
   * tells the next command to unmount (see `hasLeftoverStorage` in `status.ts`).
   */
  mountStorage(): string {
    this.assertValid();
    if (this.state.mounted && isMountPoint(this.state.mountpoint)) return this.state.mountpoint;
    let shmMounted = false;
    this.state.mounted = true;
    this.state.mountpoint = containerLayerPaths(this.ctx.paths, this.id).merged;
    this.save();
    try {
      if (!isMountPoint(this.shmDir)) {
        mountFs({
          type: "tmpfs",
          source: "shm",
          target: this.shmDir,
          flags: MS_NOEXEC | MS_NOSUID | MS_NODEV,
          data: formatMountLabel(
            `mode=1777,size=${this.config.shmSize}`,
            this.config.selinux?.mountLabel ?? "",
          ),
        });
        shmMounted = true;
      }
      const image = this.ctx.images.get(this.config.imageId);
      if (!image) {
        throw new ContainerStateError(
          `container ${this.id} has no image ${this.config.imageId} to mount`,
        );
      }
      // a --rm container's layer is deleted with it: no sync of it at unmount (as podman)
      const mountpoint = mountOverlay(this.ctx.paths, this.id, image.layers, {
        volatile: this.config.autoRemove,
      });
      log.debug("created root filesystem for container {id} at {mountpoint}", {
        id: this.id,
        mountpoint,
      });
      return mountpoint;
    } catch (err) {
      // the overlay is the last step: when it failed, only the shm may need undoing
      if (shmMounted) unmount(this.shmDir, { detach: true, ignoreNotMounted: true });
      this.state.mounted = false;
      this.state.mountpoint = "";
      this.save();
      throw err;
    }
  }

  /**
   * Unmounts the extra mounts (shm) with MNT_DETACH, ignoring "not mounted", then the rootfs, and
   * saves. A no-op when nothing is mounted.
   */
  cleanupStorage(): void {
    unmount(this.shmDir, { detach: true, ignoreNotMounted: true });
    unmountOverlay(this.ctx.paths, this.id);
    dropOverlayVolumes(this.ctx.paths, this.id, this.config.volumes);
    if (!this.state.mounted && this.state.mountpoint === "" && this.state.mountCount === 0) {
      return;
    }
    this.state.mounted = false;
    this.state.mountpoint = "";
    this.state.mountCount = 0;
    this.save();
    releaseVolumes(this.ctx, this.id, this.config.volumes);
  }

  /**
   * Removes the container's storage before removal: refused while running or paused; removes the
   * artifacts, unmounts, deletes the RW layer, the bundle and the run directory.
   */
  async teardownStorage(): Promise<void> {
    if (!canDelete(this.state.status)) {
      throw new ContainerStateError(
        `cannot remove storage for container ${this.id} as it is ${this.state.status}`,
      );
    }
    await removeTree(join(this.bundlePath, ARTIFACTS_DIR));
    unmount(this.shmDir, { detach: true, ignoreNotMounted: true });
    releaseVolumes(this.ctx, this.id, this.config.volumes);
    dropOverlayVolumes(this.ctx.paths, this.id, this.config.volumes);
    await deleteContainerLayer(this.ctx.paths, this.id);
    crashPoint("remove:layer");
    await removeTree(this.ctx.paths.containerDir(this.id));
    await removeTree(this.runDir);
  }

  // ---- user-visible mounts (`denopod mount` / `umount`), counted ----

  /** Mounts the rootfs for a user (`denopod mount`), counting users; returns the mount point. */
  mount(): string {
    const mountpoint = this.mountStorage();
    this.state.mountCount++;
    saveWithEvents(this, "mount");
    return mountpoint;
  }

  /**
   * Drops one user of the rootfs (all of them with `force`); the rootfs is unmounted when the
   * last user is gone and the container is not running. Returns true when it was unmounted.
   */
  unmount(force: boolean): boolean {
    if (isActive(this.state.status)) {
      if (force) {
        throw new ContainerStateError(
          `cannot unmount storage for container ${this.id} as it is ${this.state.status}`,
        );
      }
      this.state.mountCount = Math.max(0, this.state.mountCount - 1);
      this.save();
      return false;
    }
    this.state.mountCount = force ? 0 : Math.max(0, this.state.mountCount - 1);
    if (this.state.mountCount > 0) {
      this.save();
      return false;
    }
    journaled(this.ctx.db, this, ["unmount"], () => this.cleanupStorage());
    return true;
  }

  // ---- sizes ----

  /** Size of the container's own RW layer (see `rw_size.ts`). */
  rwSize(): number {
    return rwSize(this);
  }
}
