/**
 * The attach protocol both monitors serve (conmon's, written anew; the built-in monitor speaks
 * the same): a `SOCK_SEQPACKET` socket at `<runDir>/<id>/attach` (`<runDir>/<id>` is a symlink
 * to the bundle, because the real path is longer than `sun_path`'s 108 bytes). Each packet the
 * monitor sends starts with one byte naming the stream ({@linkcode ATTACH_PIPE_STDOUT} or
 * {@linkcode ATTACH_PIPE_STDERR}; with a terminal everything is stdout), then the bytes. The
 * client writes its stdin as raw bytes and `shutdown(SHUT_WR)` for end of input. The monitor
 * closes the connection when the container exits. Resizes go through the `ctl` fifo in the
 * bundle, one line `1 ROWS COLS\n` each.
 *
 * Also here: one attach session (output to the caller's sinks, input through the detach-key
 * filter of `util/detach_keys.ts`).
 *
 * @example
 * ```ts
 * const conn = AttachConnection.open(attachSocketPath(runDir, id));
 * const how = await runAttachSession(conn, { stdout, stderr, input: null }, {
 *   detachKeys: parseDetachKeys("ctrl-p,ctrl-q"),
 * });
 * ```
 * @module
 */
import { join } from "node:path";
import { RuntimeError, SyscallError } from "../errors.ts";
import { DetachKeyMatcher } from "../util/detach_keys.ts";
import {
  closeFd,
  connectUnix,
  openFd,
  openFlags,
  POLLERR,
  pollFds,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  recvBytes,
  sendBytes,
  SHUT_WR,
  shutdownSocket,
  type WindowSize,
  writeFd,
} from "../sys/socket.ts";

/** Stream byte of a packet carrying the container's stdout (conmon's `STDOUT_PIPE`). */
export const ATTACH_PIPE_STDOUT = 2;
/** Stream byte of a packet carrying the container's stderr (conmon's `STDERR_PIPE`). */
export const ATTACH_PIPE_STDERR = 3;
/** The largest packet a monitor sends: conmon's 8192-byte read plus the stream byte. */
export const ATTACH_PACKET_MAX = 8193;
/** `ctl` message type: resize the terminal. */
export const CTL_RESIZE = 1;

export { DEFAULT_DETACH_KEYS, DetachKeyMatcher, parseDetachKeys } from "../util/detach_keys.ts";

/** The attach socket's path for a container (through the `<runDir>/<id>` symlink to the bundle). */
export function attachSocketPath(runDir: string, id: string): string {
  return join(runDir, id, "attach");
}

/** The control fifo's path in a bundle. */
export function controlFifoPath(bundle: string): string {
  return join(bundle, "ctl");
}

/** The `ctl` line that resizes the terminal to `size`. */
export function resizeMessage(size: WindowSize): string {
  return `${CTL_RESIZE} ${size.rows} ${size.cols}\n`;
}

/**
 * Asks the monitor to resize the container's terminal, through the bundle's `ctl` fifo. Returns
 * false when nobody reads the fifo (no monitor, or none with a terminal yet).
 */
export function requestResize(bundle: string, size: WindowSize): boolean {
  const f = openFlags();
  let fd: number;
  try {
    fd = openFd(controlFifoPath(bundle), f.O_WRONLY | f.O_NONBLOCK);
  } catch (err) {
    if (err instanceof SyscallError && (err.code === "ENOENT" || err.errno === 6)) return false;
    throw err;
  }
  try {
    return writeFd(fd, new TextEncoder().encode(resizeMessage(size))) > 0;
  } finally {
    closeFd(fd);
  }
}

/** One client connection to a monitor's attach socket. */
export class AttachConnection {
  #fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Connects to the attach socket at `path`. Throws {@linkcode RuntimeError} when nothing serves
   * it (the container is not running under a monitor).
   */
  static open(path: string): AttachConnection {
    try {
      return new AttachConnection(connectUnix("seqpacket", path));
    } catch (err) {
      if (err instanceof SyscallError) {
        throw new RuntimeError(
          `failed to connect to container's attach socket: ${path}: ${err.code}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** True once {@linkcode close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Receives the next packet: `{ stream, data }`, or null once the monitor closed the connection
   * (the container exited) or this side was closed.
   */
  async receive(): Promise<{ stream: number; data: Uint8Array } | null> {
    for (;;) {
      if (this.#closed) return null;
      const packet = recvBytes(this.#fd, ATTACH_PACKET_MAX);
      if (packet !== null) {
        if (packet.length === 0) return null;
        return { stream: packet[0], data: packet.subarray(1) };
      }
      const [ready] = await pollFds([{ fd: this.#fd, events: POLLIN }], 500);
      if (ready & POLLNVAL) return null;
    }
  }

  /** Sends input bytes, waiting while the socket is full; false once the peer is gone. */
  async send(bytes: Uint8Array): Promise<boolean> {
    let at = 0;
    while (at < bytes.length) {
      if (this.#closed) return false;
      let n: number | null;
      try {
        n = sendBytes(this.#fd, bytes.subarray(at, at + 32768));
      } catch (err) {
        if (err instanceof SyscallError && (err.code === "EPIPE" || err.errno === 104)) {
          return false;
        }
        throw err;
      }
      if (n !== null) {
        at += n;
        continue;
      }
      const [ready] = await pollFds([{ fd: this.#fd, events: POLLOUT }], 500);
      if (ready & (POLLERR | POLLHUP | POLLNVAL)) return false;
    }
    return true;
  }

  /** Ends the input: the monitor closes the container's stdin (when it was opened with -i). */
  closeInput(): void {
    if (!this.#closed) shutdownSocket(this.#fd, SHUT_WR);
  }

  /** Closes the connection; the container keeps running. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // a receive() may be polling the descriptor: let its poll time out before the number is reused
    const fd = this.#fd;
    shutdownSocket(fd, 2);
    setTimeout(() => closeFd(fd), 600);
  }
}

/** Where an attach session's bytes go, and where its input comes from. */
export interface AttachIo {
  /** Receives the container's stdout (everything, with a terminal). */
  stdout: (bytes: Uint8Array) => Promise<unknown> | unknown;
  /** Receives the container's stderr. */
  stderr: (bytes: Uint8Array) => Promise<unknown> | unknown;
  /** The caller's input (only with -i); null never reads anything. */
  input: ChunkSource | null;
}

/** Where input comes from, a chunk at a time (null at end of input). */
export interface ChunkSource {
  read(): Promise<Uint8Array | null>;
}

/**
 * This process's stdin as a {@linkcode ChunkSource}: `Deno.stdin.read` straight (a stream reader
 * on top costs more than twice as much per keystroke, measured in a pty).
 */
export function stdinSource(): ChunkSource {
  const buf = new Uint8Array(32768);
  return {
    async read() {
      const n = await Deno.stdin.read(buf);
      return n === null ? null : buf.slice(0, n);
    },
  };
}

/** How an attach session runs. */
export interface AttachSessionOptions {
  /** The detach sequence (empty: none). */
  detachKeys: Uint8Array;
  /**
   * With a terminal, end of input is sent as this byte (the terminal's EOF character) rather than
   * by closing the socket's write side, which a terminal would not notice.
   */
  eofByte?: number;
}

/** How an attach session ended. */
export type AttachEnd = "exited" | "detached";

/**
 * Runs one attach session on `conn`: copies output to `io` until the monitor closes the
 * connection ("exited"), and input from `io.input` through the detach-key filter until end of
 * input or the detach keys ("detached": the connection is closed, the container runs on).
 */
export async function runAttachSession(
  conn: AttachConnection,
  io: AttachIo,
  options: AttachSessionOptions,
): Promise<AttachEnd> {
  const output = (async (): Promise<AttachEnd> => {
    for (;;) {
      const packet = await conn.receive();
      if (packet === null) return "exited";
      if (packet.stream === ATTACH_PIPE_STDERR) await io.stderr(packet.data);
      else await io.stdout(packet.data);
    }
  })();
  if (io.input === null) return await output;

  const reader = io.input;
  const matcher = new DetachKeyMatcher(options.detachKeys);
  let outputDone = false;
  const ended = output.then((end) => {
    outputDone = true;
    return end;
  });
  const input = (async (): Promise<AttachEnd | null> => {
    let last = 0x0a;
    for (;;) {
      const value = await reader.read();
      if (value === null) break;
      const { forward, detach } = matcher.feed(value);
      if (forward.length > 0) {
        last = forward[forward.length - 1];
        if (!(await conn.send(forward))) return null;
      }
      if (detach) return "detached";
    }
    if (outputDone) return null;
    if (options.eofByte !== undefined) {
      // a partial line needs one EOF to be read, and one more to read as end of file
      const eof = last === 0x0a ? [options.eofByte] : [options.eofByte, options.eofByte];
      await conn.send(new Uint8Array(eof));
    } else {
      conn.closeInput();
    }
    return null;
  })();
  const first = await Promise.race([ended, input]);
  if (first === "detached") {
    conn.close();
    await output.catch(() => {});
    return "detached";
  }
  return await ended;
}
