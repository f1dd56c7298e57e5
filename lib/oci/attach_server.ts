/**
 * The monitor's side of the attach protocol (see `attach.ts`), for the built-in monitor: the
 * `SOCK_SEQPACKET` socket at `<bundle>/attach`, reached by clients through the symlink
 * `<runDir>/<id>` → bundle (conmon's layout; an exec session's is reached directly), and the `ctl` fifo in the bundle. Output is sent
 * to every client as packets of one stream byte and at most 8192 bytes; a client that cannot
 * keep up has its packets queued (and is dropped past 8 MiB, so a stuck client never holds the
 * container back). Input from any client goes to `onInput`; a client ending its input calls
 * `onInputEnd` (conmon's `-i`: the container's stdin is then closed).
 *
 * @example
 * ```ts
 * const loop = new FdLoop();
 * const server = AttachServer.listen(loop, bundle, { onInput, onInputEnd }, join(runDir, id));
 * server.broadcast(ATTACH_PIPE_STDOUT, bytes);
 * ```
 * @module
 */
import { join } from "node:path";
import { SyscallError } from "../errors.ts";
import {
  acceptSocket,
  closeFd,
  listenUnix,
  openFd,
  openFlags,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  readFd,
  recvBytes,
  sendBytes,
} from "../sys/socket.ts";
import { libc, S_IFIFO } from "../sys/libc.ts";
import { controlFifoPath, CTL_RESIZE } from "./attach.ts";
import type { FdLoop } from "./fd_loop.ts";

/** The most output bytes one packet carries (conmon's STDIO_BUF_SIZE). */
const PACKET_DATA_MAX = 8192;
/** A client with more than this queued is dropped. */
const CLIENT_QUEUE_MAX = 8 * 1024 * 1024;

/** What the server reports to its monitor. */
export interface AttachServerHandlers {
  /** Input bytes a client sent. */
  onInput(bytes: Uint8Array): void;
  /** A client ended its input (shut down its write side, or went away). */
  onInputEnd(): void;
}

interface Client {
  fd: number;
  readable: boolean;
  queue: Uint8Array[];
  queued: number;
}

/** Serves one container's attach socket; see the module documentation. */
export class AttachServer {
  readonly #loop: FdLoop;
  readonly #listenFd: number;
  readonly #symlink: string | null;
  readonly #clients = new Set<Client>();
  readonly #handlers: AttachServerHandlers;
  #closed = false;

  private constructor(
    loop: FdLoop,
    listenFd: number,
    symlink: string | null,
    handlers: AttachServerHandlers,
  ) {
    this.#loop = loop;
    this.#listenFd = listenFd;
    this.#symlink = symlink;
    this.#handlers = handlers;
    loop.add(listenFd, () => POLLIN, () => this.#accept());
  }

  /**
   * Creates `<bundle>/attach` and (unless null) the `symlink` to the bundle (a container's
   * `<runDir>/<id>`; an exec session has none), and starts accepting clients on `loop`.
   */
  static listen(
    loop: FdLoop,
    bundle: string,
    handlers: AttachServerHandlers,
    symlink: string | null,
  ): AttachServer {
    if (symlink !== null) {
      try {
        Deno.removeSync(symlink);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      Deno.symlinkSync(bundle, symlink);
    }
    const fd = listenUnix("seqpacket", join(bundle, "attach"));
    return new AttachServer(loop, fd, symlink, handlers);
  }

  /** How many clients are attached. */
  get clientCount(): number {
    return this.#clients.size;
  }

  #accept(): void {
    for (;;) {
      const fd = acceptSocket(this.#listenFd);
      if (fd === null) return;
      const client: Client = { fd, readable: true, queue: [], queued: 0 };
      this.#clients.add(client);
      this.#loop.add(
        fd,
        () => (client.readable ? POLLIN : 0) | (client.queue.length > 0 ? POLLOUT : 0) | POLLHUP,
        (revents) => this.#ready(client, revents),
      );
    }
  }

  #ready(client: Client, revents: number): void {
    if (revents & POLLNVAL) return this.#drop(client);
    if (revents & POLLIN && client.readable) {
      const bytes = recvBytes(client.fd, 32768);
      if (bytes !== null && bytes.length > 0) this.#handlers.onInput(bytes);
      else if (bytes !== null) {
        client.readable = false;
        this.#handlers.onInputEnd();
      }
    }
    if (revents & POLLOUT) this.#flush(client);
    if (revents & (POLLHUP | POLLERR) && !(revents & POLLIN)) {
      if (client.readable) this.#handlers.onInputEnd();
      this.#drop(client);
    }
  }

  #drop(client: Client): void {
    if (!this.#clients.delete(client)) return;
    this.#loop.remove(client.fd);
    closeFd(client.fd);
  }

  /** Sends what is queued; false when the client is gone. */
  #flush(client: Client): boolean {
    while (client.queue.length > 0) {
      let n: number | null;
      try {
        n = sendBytes(client.fd, client.queue[0]);
      } catch (err) {
        if (!(err instanceof SyscallError)) throw err;
        this.#drop(client);
        return false;
      }
      if (n === null) return true;
      client.queued -= client.queue[0].length;
      client.queue.shift();
    }
    return true;
  }

  /** Sends output of `stream` (`ATTACH_PIPE_STDOUT`/`_STDERR`) to every client. */
  broadcast(stream: number, bytes: Uint8Array): void {
    if (this.#clients.size === 0 || bytes.length === 0) return;
    const packets: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += PACKET_DATA_MAX) {
      const part = bytes.subarray(at, at + PACKET_DATA_MAX);
      const packet = new Uint8Array(part.length + 1);
      packet[0] = stream;
      packet.set(part, 1);
      packets.push(packet);
    }
    let wake = false;
    for (const client of [...this.#clients]) {
      const hadQueue = client.queue.length > 0;
      for (const p of packets) {
        client.queue.push(p);
        client.queued += p.length;
      }
      if (client.queued > CLIENT_QUEUE_MAX) {
        this.#drop(client);
        continue;
      }
      if (!hadQueue && this.#flush(client) && client.queue.length > 0) wake = true;
    }
    if (wake) this.#loop.wake();
  }

  /**
   * Closes every client (they read end of file: the container exited), the socket, and the
   * `<runDir>/<id>` symlink. Queued output is sent first where the client takes it at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const client of [...this.#clients]) {
      this.#flush(client);
      this.#drop(client);
    }
    this.#loop.remove(this.#listenFd);
    closeFd(this.#listenFd);
    try {
      if (this.#symlink !== null) Deno.removeSync(this.#symlink);
    } catch {
      // already gone
    }
  }
}

/**
 * The `ctl` fifo in the bundle: `1 ROWS COLS` lines resize the terminal (conmon's format; type 2,
 * reopen the log, is accepted and ignored). It is held open for writing too, so its readers never
 * see end of file when a writer goes.
 */
export class ControlFifo {
  readonly #loop: FdLoop;
  readonly #readFd: number;
  readonly #writeFd: number;
  #pending = "";

  private constructor(
    loop: FdLoop,
    readFd: number,
    writeFd: number,
    onResize: (rows: number, cols: number) => void,
  ) {
    this.#loop = loop;
    this.#readFd = readFd;
    this.#writeFd = writeFd;
    loop.add(readFd, () => POLLIN, () => this.#read(onResize));
  }

  /** Makes `<bundle>/ctl` anew and starts reading it on `loop`. */
  static open(
    loop: FdLoop,
    bundle: string,
    onResize: (rows: number, cols: number) => void,
  ): ControlFifo {
    const path = controlFifoPath(bundle);
    try {
      Deno.removeSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    libc().mknod(path, S_IFIFO | 0o660, 0, 0);
    const f = openFlags();
    const readFd = openFd(path, f.O_RDONLY | f.O_NONBLOCK);
    const writeFd = openFd(path, f.O_WRONLY | f.O_NONBLOCK);
    return new ControlFifo(loop, readFd, writeFd, onResize);
  }

  #read(onResize: (rows: number, cols: number) => void): void {
    const bytes = readFd(this.#readFd, 512);
    if (bytes === null || bytes.length === 0) return;
    this.#pending += new TextDecoder().decode(bytes);
    let nl: number;
    while ((nl = this.#pending.indexOf("\n")) >= 0) {
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
      if (!m || Number(m[1]) !== CTL_RESIZE) continue;
      const rows = Number(m[2]);
      const cols = Number(m[3]);
      if (rows <= 1000 && cols <= 1000) onResize(rows, cols);
    }
    if (this.#pending.length > 200) this.#pending = "";
  }

  /** Stops reading and closes both ends (the fifo file stays, as conmon leaves it). */
  close(): void {
    this.#loop.remove(this.#readFd);
    closeFd(this.#readFd);
    closeFd(this.#writeFd);
  }
}
