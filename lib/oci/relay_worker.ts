/**
 * The byte relay of an attached client, on a thread of its own: a Web Worker that blocks in
 * `poll(2)` on the connection and the caller's stdin and copies synchronously — container output
 * to stdout/stderr, stdin (through the detach keys) to the container. A keystroke then wakes one
 * thread, not a worker-pool thread and the event loop after it: measured in a pty on this 2-core
 * machine, a main-thread relay needed about twice the time per keystroke, and much more when the
 * machine was busy. The main thread stays free for signals (SIGWINCH, the signal proxy).
 *
 * The worker is made from {@linkcode relayMain}'s own source (a `blob:` URL), so it survives
 * `deno bundle` and `deno compile`, which would not carry a worker module along; that function
 * therefore imports nothing and binds its own few libc calls. Two kinds of connection:
 * `attach` (a monitor's SOCK_SEQPACKET attach socket: one stream byte, then the data, per packet)
 * and `pty` (a terminal's master, held by `exec -t`: raw bytes both ways).
 *
 * @example
 * ```ts
 * const end = await runRelay({ fd, kind: "attach", input: true, detachKeys: [16, 17], eofByte: -1 });
 * // "exited" (the monitor closed the connection) or "detached"
 * ```
 * @module
 */

/** What a relay is to do. */
export interface RelayConfig {
  /** The connection: an attach socket or a pty master (either may be non-blocking). */
  fd: number;
  /** `attach`: packets with a stream byte; `pty`: raw bytes. */
  kind: "attach" | "pty";
  /** Read `inputFd` and send it on (`-i`); otherwise it is never read. */
  input: boolean;
  /** The detach sequence (empty: none). */
  detachKeys: number[];
  /** End of input: this byte is sent (a terminal's EOF character), or -1 to shut down writing. */
  eofByte: number;
  /** Where input comes from (default 0), output and errors go (default 1 and 2). */
  inputFd?: number;
  stdoutFd?: number;
  stderrFd?: number;
}

/** How a relay ended. */
export type RelayEnd = "exited" | "detached";

/**
 * The worker's body: runs on the worker thread from its own source text, so it must not refer to
 * anything outside itself. Waits for one config message, relays, posts `{ end }` and returns.
 */
function relayMain(): void {
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (event: MessageEvent) => {
    scope.onmessage = null;
    const config = event.data as RelayConfig;
    let end: string;
    try {
      end = relay(config);
    } catch (err) {
      end = `error ${(err as Error).message}`;
    }
    scope.postMessage({ end });
  };

  function relay(config: RelayConfig): string {
    const lib = Deno.dlopen("libc.so.6", {
      __errno_location: { parameters: [], result: "pointer" },
      poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
      read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
      shutdown: { parameters: ["i32", "i32"], result: "i32" },
    }).symbols;
    const EINTR = 4, EAGAIN = 11, EIO = 5;
    const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    const MSG_NOSIGNAL = 0x4000, SHUT_WR = 1;
    // errno is thread-local: its address on this thread does not change
    const errnoAt = lib.__errno_location();
    const errnoView = errnoAt === null ? null : new Deno.UnsafePointerView(errnoAt);
    const errno = () => errnoView === null ? 0 : errnoView.getInt32();
    const waitBuf = new Uint8Array(8);
    const waitView = new DataView(waitBuf.buffer);
    /** Waits (up to a second) until `fd` can be written; false when it is gone. */
    const waitWritable = (fd: number): boolean => {
      waitView.setInt32(0, fd, true);
      waitView.setInt16(4, POLLOUT, true);
      waitView.setInt16(6, 0, true);
      if (lib.poll(waitBuf, 1n, 1000) <= 0) return true;
      return (waitView.getUint16(6, true) & (POLLERR | POLLHUP | POLLNVAL)) === 0;
    };
    /**
     * Writes the first `n` bytes of `buf` to `fd` (a socket: `send`), all of them, waiting
     * while it is full; false once the other end is gone. Allocates nothing when written at once.
     */
    const writeAll = (fd: number, buf: Uint8Array, n: number, socket: boolean): boolean => {
      let at = 0;
      while (at < n) {
        const part = at === 0 ? buf : buf.subarray(at);
        const w = Number(
          socket
            ? lib.send(fd, part, BigInt(n - at), MSG_NOSIGNAL)
            : lib.write(fd, part, BigInt(n - at)),
        );
        if (w >= 0) {
          at += w;
          continue;
        }
        const code = errno();
        if (code === EINTR) continue;
        if (code !== EAGAIN || !waitWritable(fd)) return false;
      }
      return true;
    };

    const inputFd = config.inputFd ?? 0;
    const outFd = config.stdoutFd ?? 1;
    const errFd = config.stderrFd ?? 2;
    const socket = config.kind === "attach";
    const keys = config.detachKeys;
    let held = 0;
    let last = 0x0a;
    let reading = config.input;
    // a packet is read whole: its stream byte, then the data, written on from behind that byte
    const out = new Uint8Array(socket ? 8193 : 8192);
    const outData = socket ? out.subarray(1) : out;
    const inBuf = new Uint8Array(32768);
    const forward = new Uint8Array(inBuf.length + keys.length);
    const fds = new Uint8Array(16);
    const view = new DataView(fds.buffer);
    const EXITED = "exited", DETACHED = "detached";

    /** The connection is readable: its output goes on; says how the relay ends, or null. */
    const fromConnection = (): string | null => {
      const n = Number(lib.read(config.fd, out, BigInt(out.length)));
      if (n > 0) {
        if (!socket) writeAll(outFd, out, n, false);
        else if (n > 1) writeAll(out[0] === 3 ? errFd : outFd, outData, n - 1, false);
        return null;
      }
      if (n === 0) return EXITED;
      const code = errno();
      // EIO: a terminal whose last process is gone; anything else but a retry ends it too
      return code === EIO || (code !== EINTR && code !== EAGAIN) ? EXITED : null;
    };
    /** The input ended: the terminal's EOF character, or the socket's write side shut. */
    const inputEnded = () => {
      reading = false;
      if (config.eofByte >= 0) {
        // a partial line needs one EOF to be read, and one more to read as end of file
        const eof = last === 0x0a ? [config.eofByte] : [config.eofByte, config.eofByte];
        writeAll(config.fd, new Uint8Array(eof), eof.length, socket);
      } else {
        lib.shutdown(config.fd, SHUT_WR);
      }
    };
    /** Input is readable: it goes on (through the detach keys); says "detached", or null. */
    const fromInput = (): string | null => {
      const n = Number(lib.read(inputFd, inBuf, BigInt(inBuf.length)));
      if (n < 0) {
        const code = errno();
        if (code === EINTR || code === EAGAIN) return null;
      }
      if (n <= 0) {
        inputEnded();
        return null;
      }
      // what goes on, in a buffer of its own (no allocation per keystroke)
      let count = 0;
      let detach = false;
      for (let i = 0; i < n && !detach; i++) {
        const byte = inBuf[i];
        if (keys.length > 0 && byte === keys[held]) {
          held++;
          if (held === keys.length) detach = true;
          continue;
        }
        for (let k = 0; k < held; k++) forward[count++] = keys[k];
        held = 0;
        if (keys.length > 0 && byte === keys[0]) held = 1;
        else forward[count++] = byte;
      }
      if (count > 0) {
        last = forward[count - 1];
        if (!writeAll(config.fd, forward, count, socket)) reading = false;
      }
      return detach ? DETACHED : null;
    };

    for (;;) {
      view.setInt32(0, config.fd, true);
      view.setInt16(4, POLLIN, true);
      view.setInt16(6, 0, true);
      view.setInt32(8, reading ? inputFd : -1, true); // a negative fd is skipped by poll
      view.setInt16(12, POLLIN, true);
      view.setInt16(14, 0, true);
      // a time limit, so a terminate() from the main thread takes effect soon
      if (lib.poll(fds, 2n, 250) <= 0) continue;
      if (view.getUint16(6, true) !== 0) {
        const end = fromConnection();
        if (end !== null) return end;
      }
      if (reading && view.getUint16(14, true) !== 0) {
        const end = fromInput();
        if (end !== null) return end;
      }
    }
  }
}

let workerUrl: string | undefined;

/**
 * Runs a relay on a worker thread; resolves with how it ended. The worker is started anew for
 * each session and ends with it. Throws when the relay failed (an FFI error).
 */
export function runRelay(config: RelayConfig): Promise<RelayEnd> {
  workerUrl ??= URL.createObjectURL(
    new Blob([`(${relayMain.toString()})();`], { type: "application/javascript" }),
  );
  const worker = new Worker(workerUrl, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent) => {
      worker.terminate();
      const end = String((event.data as { end: string }).end);
      if (end === "exited" || end === "detached") resolve(end);
      else reject(new Error(`relay: ${end}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error(`relay: ${event.message}`));
    };
    worker.postMessage(config);
  });
}
