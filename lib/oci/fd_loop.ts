/**
 * A small readiness loop over raw descriptors (a pty master, sockets, a fifo), for the built-in
 * monitor: one `poll` at a time on a worker thread (so Deno's own event loop keeps running
 * timers, signals and streams), then each ready descriptor's handler, synchronously. A
 * descriptor's wanted events are asked for anew before each poll, so a handler can start or stop
 * asking for `POLLOUT`; {@linkcode FdLoop.wake} ends a poll early through a pipe of its own.
 * Handlers may add and remove descriptors; a descriptor removed is never polled again, so it may
 * be closed at once by the handler that removed it.
 *
 * @example
 * ```ts
 * const loop = new FdLoop();
 * loop.add(fd, () => POLLIN, (revents) => { readFd(fd, 8192); });
 * const running = loop.run();
 * // ...
 * loop.stop(); await running;
 * ```
 * @module
 */
import { closeFd, makePipe, pollFds, POLLIN, readFd, writeFd } from "../sys/socket.ts";

interface Entry {
  events: () => number;
  onReady: (revents: number) => void;
}

/** See the module documentation. */
export class FdLoop {
  readonly #entries = new Map<number, Entry>();
  readonly #wakeRead: number;
  readonly #wakeWrite: number;
  #stopped = false;
  #polling = false;
  readonly #onError: (err: unknown) => void;

  /** Creates the loop and its wake-up pipe; a handler's error goes to `onError`. */
  constructor(onError: (err: unknown) => void = () => {}) {
    [this.#wakeRead, this.#wakeWrite] = makePipe();
    this.#onError = onError;
  }

  /** Watches `fd`: before each poll `events()` says what is wanted (0: skip it this time). */
  add(fd: number, events: () => number, onReady: (revents: number) => void): void {
    this.#entries.set(fd, { events, onReady });
    this.wake();
  }

  /** Stops watching `fd` (the caller closes it). */
  remove(fd: number): void {
    this.#entries.delete(fd);
  }

  /** Ends the current poll early, so changed wishes are seen at once. */
  wake(): void {
    if (this.#polling) writeFd(this.#wakeWrite, new Uint8Array([1]));
  }

  /** Makes {@linkcode run} return after the current round. */
  stop(): void {
    this.#stopped = true;
    this.wake();
  }

  /** Polls and dispatches until {@linkcode stop}; then closes the wake-up pipe. */
  async run(): Promise<void> {
    try {
      while (!this.#stopped) {
        const fds = [...this.#entries.entries()]
          .map(([fd, e]) => ({ fd, events: e.events() }))
          .filter((r) => r.events !== 0);
        this.#polling = true;
        const revents = await pollFds([{ fd: this.#wakeRead, events: POLLIN }, ...fds], 1000);
        this.#polling = false;
        if (revents[0] !== 0) { while ((readFd(this.#wakeRead, 64)?.length ?? 0) > 0); }
        fds.forEach((r, i) => {
          const ready = revents[i + 1];
          const entry = this.#entries.get(r.fd);
          if (ready === 0 || entry === undefined) return;
          try {
            entry.onReady(ready);
          } catch (err) {
            this.#onError(err);
          }
        });
      }
    } finally {
      this.#polling = false;
      closeFd(this.#wakeRead);
      closeFd(this.#wakeWrite);
    }
  }
}
