/**
 * Waiting for files to change without polling: {@linkcode watchForChanges} watches some paths
 * (inotify, through `Deno.watchFs`) and its `wait(ms)` resolves at the next change to any of them,
 * or after `ms` at the latest. An attached `run` waits so for its container's log to grow and its
 * exit file to appear: it learns of the exit as soon as the monitor writes it, and spends no CPU
 * looking meanwhile (on a busy machine the looks compete with the container and its monitor).
 *
 * @example
 * ```ts
 * const watch = watchForChanges([exitsDir, logPath]);
 * while (await stillRunning()) await watch.wait(100);
 * watch.close();
 * ```
 * @module
 */
import { sleep } from "./sleep.ts";

/** A watch of some paths; see the module doc. */
export interface ChangeWatch {
  /**
   * Resolves at the first change since the last `wait` returned (at once when one came
   * meanwhile), or after `ms`.
   */
  wait(ms: number): Promise<void>;
  /** Stops watching; a pending `wait` resolves. */
  close(): void;
}

/**
 * Watches `paths` (each an existing file or directory, not recursively). Throws as
 * `Deno.watchFs` does when one is missing.
 */
export function watchForChanges(paths: string[]): ChangeWatch {
  const watcher = Deno.watchFs(paths, { recursive: false });
  let changed = false;
  let wake: (() => void) | null = null;
  const signal = () => {
    changed = true;
    wake?.();
  };
  (async () => {
    try {
      for await (const _event of watcher) signal();
    } catch {
      // closed, or the watch failed: waits fall back on their timeouts
    }
    signal();
  })();
  return {
    async wait(ms: number) {
      if (!changed) {
        await sleep(ms, (done) => wake = done);
        wake = null;
      }
      changed = false;
    },
    close() {
      try {
        watcher.close();
      } catch {
        // closed already
      }
      wake?.();
    },
  };
}
