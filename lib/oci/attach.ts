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
 * Also here: one attach session, relayed on a thread of its own (`relay_worker.ts`).
 *
 * @example
 * ```ts
 * const conn = AttachConnection.open(attachSocketPath(runDir, id));
 * const how = await runAttachSession(conn, {
 *   input: true,
 *   detachKeys: parseDetachKeys("ctrl-p,ctrl-q"),
 * }); // "exited" or "detached"
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { RuntimeError, SyscallError } from "../errors.ts";
import { type RelayEnd, runRelay } from "./relay_worker.ts";
import {
  closeFd,
  connectUnix,
  openFd,
  openFlags,
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

export { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../util/detach_keys.ts";

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

  /** The connected socket's descriptor (non-blocking). */
  get fd(): number {
    return this.#fd;
  }

  /** Closes the connection (call once its relay has ended); the container keeps running. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.#fd);
  }
}

/** How an attach session runs. */
export interface AttachSessionOptions {
  /** Forward the caller's stdin (`-i`); without it stdin is never read. */
  input: boolean;
  /** The detach sequence (empty: none). */
  detachKeys: Uint8Array;
  /**
   * With a terminal, end of input is sent as this byte (the terminal's EOF character) rather than
   * by closing the socket's write side, which a terminal would not notice.
   */
  eofByte?: number;
  /** Descriptors to use instead of 0, 1 and 2 (tests). */
  inputFd?: number;
  stdoutFd?: number;
  stderrFd?: number;
}

/** How an attach session ended. */
export type AttachEnd = RelayEnd;

/**
 * Runs one attach session on `conn` (on a relay thread, `relay_worker.ts`): output to stdout and
 * stderr until the monitor closes the connection ("exited"); input, with `input`, through the
 * detach keys until end of input or the keys ("detached": the container runs on). The
 * connection is closed afterwards.
 */
export async function runAttachSession(
  conn: AttachConnection,
  options: AttachSessionOptions,
): Promise<AttachEnd> {
  try {
    return await runRelay({
      fd: conn.fd,
      kind: "attach",
      input: options.input,
      detachKeys: [...options.detachKeys],
      eofByte: options.eofByte ?? -1,
      inputFd: options.inputFd,
      stdoutFd: options.stdoutFd,
      stderrFd: options.stderrFd,
    });
  } finally {
    conn.close();
  }
}
