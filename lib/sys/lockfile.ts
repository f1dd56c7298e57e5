/**
 * Lockfiles with flock(2): one file per lock, never the database. A lock is held by an open file
 * description, so it is released when the holder closes it or dies (a kill -9 never leaves a
 * lock behind). Blocking waits use `Deno.FsFile.lock()` (a waiter shows in `/proc/locks` as
 * blocked) and give up after a timeout — {@linkcode DEFAULT_LOCK_TIMEOUT_SECONDS}, or
 * `DENOPOD_LOCK_TIMEOUT` seconds — with a {@linkcode LockError} naming the holder's PID and
 * command as `/proc/locks` and `/proc/PID/cmdline` tell them; {@linkcode tryLock} uses flock
 * with LOCK_NB through FFI.
 *
 * @example
 * ```ts
 * const held = await acquireLock("/run/denopod/locks/ctr-abc.lock");
 * try { work(); } finally { held.release(); }
 * ```
 * @module
 */
import { InvalidArgError, LockError } from "../errors.ts";
import { libc } from "./libc.ts";

/** How long a lock wait lasts before it fails, unless `DENOPOD_LOCK_TIMEOUT` says otherwise. */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 120;

/** The environment variable that sets the lock wait, in seconds (fractions allowed). */
export const LOCK_TIMEOUT_ENV = "DENOPOD_LOCK_TIMEOUT";

/** The lock wait in seconds: `DENOPOD_LOCK_TIMEOUT` when set (checked), else the default. */
export function lockTimeoutSeconds(): number {
  const text = Deno.env.get(LOCK_TIMEOUT_ENV);
  if (text === undefined || text === "") return DEFAULT_LOCK_TIMEOUT_SECONDS;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgError(
      `invalid ${LOCK_TIMEOUT_ENV} ${JSON.stringify(text)}: must be a number of seconds above 0`,
    );
  }
  return value;
}

/** Who holds a lock, as far as `/proc` tells. */
export interface LockHolder {
  pid: number;
  /** Its command line (arguments joined by spaces), or "" when it cannot be read. */
  command: string;
}

/** The device number as `/proc/locks` writes it: `MAJOR:MINOR` in two-digit hex. */
function deviceName(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/**
 * The process holding a flock on the file at `path` (the first one `/proc/locks` lists for its
 * device and inode, blocked waiters skipped), or undefined when none can be found.
 */
export function lockHolder(path: string): LockHolder | undefined {
  let id: string;
  let locks: string;
  try {
    const info = Deno.statSync(path);
    id = `${deviceName(info.dev)}:${info.ino}`;
    locks = Deno.readTextFileSync("/proc/locks");
  } catch {
    return undefined;
  }
  for (const line of locks.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== "FLOCK" || fields[5] !== id) continue;
    const pid = Number(fields[4]);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    let command = "";
    try {
      command = Deno.readTextFileSync(`/proc/${pid}/cmdline`)
        // deno-lint-ignore no-control-regex
        .replace(/\0+$/, "").replace(/[\u0000-\u001f\u007f]/g, " ");
    } catch {
      // gone meanwhile, or not ours to read
    }
    return { pid, command: command.length > 200 ? `${command.slice(0, 200)}...` : command };
  }
  return undefined;
}

function holderText(holder: LockHolder | undefined): string {
  if (!holder) return "it is held by another process";
  return `it is held by process ${holder.pid}${holder.command ? ` (${holder.command})` : ""}`;
}

/** A lock that is held until {@linkcode HeldLock.release} is called (or the process exits). */
export interface HeldLock {
  /** The lockfile's path. */
  readonly path: string;
  /** Releases the lock; calling it twice is harmless. */
  release(): void;
}

/** Options for {@linkcode acquireLock}. */
export interface AcquireOptions {
  /** Seconds to wait; {@linkcode lockTimeoutSeconds} when absent. */
  timeoutSeconds?: number;
}

/**
 * Waits until the exclusive lock on `path` is ours (creating the file) and returns it. Throws
 * {@linkcode LockError} naming the path and the holder when the wait passes the timeout.
 */
export async function acquireLock(path: string, options: AcquireOptions = {}): Promise<HeldLock> {
  const timeoutSeconds = options.timeoutSeconds ?? lockTimeoutSeconds();
  // Free (the usual case): taken at once, without an asynchronous wait (whose thread pool and
  // timer cost some 4 MB of resident memory).
  const free = tryLock(path);
  if (free !== null) return free;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = file.lock(true);
  try {
    const outcome = await Promise.race([
      locked.then(() => "locked" as const),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutSeconds * 1000);
      }),
    ]);
    if (outcome === "timeout") {
      const holder = lockHolder(path);
      // The wait cannot be called off: let go of the file as soon as it ends.
      locked.then(() => file.close(), () => file.close());
      throw new LockError(
        `timed out after ${timeoutSeconds} seconds waiting for the lock ${path}: ${
          holderText(holder)
        }`,
      );
    }
  } catch (err) {
    if (!(err instanceof LockError)) file.close();
    throw err;
  } finally {
    clearTimeout(timer);
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
