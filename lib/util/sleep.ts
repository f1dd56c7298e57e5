/**
 * Waiting a while without the global `setTimeout`: in Deno 2.9 that is node's `Timeout`, and its
 * first use in a process loads node's timers (measured here: 5-7 ms of CPU, on the path of every
 * attached `run`); `AbortSignal.timeout` runs on Deno's own web timers (under 1 ms). A pending
 * wait keeps the process alive, as a timer does; one woken early lets its timer go.
 *
 * @example
 * ```ts
 * await sleep(25);
 * await sleep(100, (wake) => watcher.onChange = wake); // 100 ms, or until the watcher calls wake
 * ```
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or as soon as `woken` calls the function it is given (called
 * at once, before the wait begins), whichever comes first.
 */
export function sleep(ms: number, woken?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(Math.max(0, Math.floor(ms)));
    const done = () => {
      // without a listener the timer no longer holds the process
      timeout.removeEventListener("abort", done);
      resolve();
    };
    timeout.addEventListener("abort", done);
    woken?.(done);
  });
}
