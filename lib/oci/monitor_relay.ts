/**
 * The built-in monitor's side of the attach protocol (see `attach.ts`), on a thread of its own:
 * a Web Worker blocking in `poll(2)` over the attach socket (`<bundle>/attach`, reached by
 * clients through the symlink `<runDir>/<id>` → bundle, conmon's layout; an exec session's is
 * reached directly), its clients, the `ctl` fifo in the bundle and the container's pty master,
 * copying synchronously. A keystroke from a client reaches the terminal, and its echo the
 * client, without waiting on the monitor's event loop (timers, promises, the worker pool that
 * runs `nonblocking` FFI calls): measured with `bench.ts tty`, that event-loop relay took about
 * three times podman's time per key. The main thread keeps runc, signals, the wait for the
 * container and the log.
 *
 * Output is sent to every client as packets of one stream byte and at most 8192 bytes; a client
 * that cannot keep up has its packets queued (and is dropped past 8 MiB, so a stuck client never
 * holds the container back). With a terminal, client input goes to the master and its output to
 * the clients and (posted back in batches, at most 25 ms late) to the log; when no slave is open (a HUP), reading the master
 * pauses for 100 ms, as conmon's. Without one, the main thread hands output over
 * ({@linkcode MonitorRelay.output}) and gets input back (the container's stdin). `ctl` lines
 * `1 ROWS COLS` resize the terminal (conmon's format; others are ignored).
 *
 * The main thread talks to the worker through a pipe the worker polls (frames: type, stream,
 * length, bytes), so the worker never has to return to its event loop; the worker posts
 * messages back. The worker is made from {@linkcode monitorRelayMain}'s own source (a `blob:`
 * URL, as `relay_worker.ts`), so that function imports nothing and binds its own libc calls.
 *
 * @example
 * ```ts
 * const relay = MonitorRelay.start(bundle, join(runDir, id), { onOutput, onInput, onInputEnd, onError });
 * relay.setTerminal(master);   // or relay.output(ATTACH_PIPE_STDOUT, bytes) without one
 * await relay.close();         // clients read end of file
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import {
  closeFd,
  listenUnix,
  makePipe,
  openFd,
  openFlags,
  pollFds,
  POLLOUT,
  writeFd,
} from "../sys/socket.ts";
import { libc, S_IFIFO } from "../sys/libc.ts";
import { controlFifoPath } from "./attach.ts";

/** What the relay reports to its monitor. */
export interface MonitorRelayHandlers {
  /** Output of the terminal (already sent to the clients): for the log. */
  onOutput(bytes: Uint8Array): void;
  /** Input a client sent, for a container without a terminal (its stdin). */
  onInput(bytes: Uint8Array): void;
  /** A client ended its input (shut down its write side, or went away). */
  onInputEnd(): void;
  /** Something went wrong on the relay thread (for the monitor's diagnostics). */
  onError(message: string): void;
}

/** Frame types, main thread → worker (the worker is told them in its config). */
const FRAMES = { output: 1, master: 2, drain: 3, close: 4 };

/** The descriptors the worker is given (all made by the main thread), and the frame types. */
interface RelayWorkerConfig {
  frames: number;
  listen: number;
  ctl: number;
  ctlWriter: number;
  types: typeof FRAMES;
}

/**
 * The worker's body: runs on the worker thread from its own source text, so it must not refer to
 * anything outside itself. Waits for one config message, relays until a close frame, posts
 * `{ type: "closed" }` and returns.
 *
 * A keystroke's path allocates nothing: input is read into one buffer and written to the
 * terminal from it, the echo is read into the packet buffer behind its stream byte and sent from
 * there, and copied into the log batch; only what must wait (a full socket or terminal) is copied.
 */
function monitorRelayMain(): void {
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(message: unknown, transfer?: Transferable[]): void;
  };
  scope.onmessage = (event: MessageEvent) => {
    scope.onmessage = null;
    try {
      relay(event.data as RelayWorkerConfig);
    } catch (err) {
      scope.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
    }
    scope.postMessage({ type: "closed" });
  };

  interface Client {
    fd: number;
    readable: boolean;
    /** Packets not sent yet (copies), oldest first. */
    queue: Uint8Array[];
    queued: number;
  }

  function relay(config: RelayWorkerConfig): void {
    const lib = Deno.dlopen("libc.so.6", {
      __errno_location: { parameters: [], result: "pointer" },
      poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
      read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
      accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
      ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
    }).symbols;
    const EINTR = 4, EAGAIN = 11;
    const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    const MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;
    // the same on x86-64 and arm64
    const SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000, TIOCSWINSZ = 0x5414n;
    const T = config.types;
    const STDOUT = 2, PACKET_DATA_MAX = 8192, CLIENT_QUEUE_MAX = 8 * 1024 * 1024;
    // errno is thread-local: its address on this thread does not change
    const errnoAt = lib.__errno_location();
    const errnoView = errnoAt === null ? null : new Deno.UnsafePointerView(errnoAt);
    const errno = () => errnoView === null ? 0 : errnoView.getInt32();
    /** read(2) into `buf`: the count; 0 at end of file, EIO or another error; -1 if none waits. */
    const readInto = (fd: number, buf: Uint8Array): number => {
      for (;;) {
        const n = Number(lib.read(fd, buf, BigInt(buf.length)));
        if (n >= 0) return n;
        const code = errno();
        if (code === EINTR) continue;
        return code === EAGAIN ? -1 : 0;
      }
    };

    // milliseconds since the relay began: small integers, which the compiled loop keeps as such
    const began = Date.now();
    const clock = () => Date.now() - began;
    // clients in an array (a handful at most): no iterator objects on the way
    const clients: Client[] = [];
    // one packet: the stream byte, then what the terminal gave (read in place behind it)
    const packet = new Uint8Array(1 + PACKET_DATA_MAX);
    const packetData = packet.subarray(1);
    const inBuf = new Uint8Array(32768);
    let master = -1;
    let masterPending: Uint8Array[] = [];
    let pausedUntil = 0;
    let frames = new Uint8Array(0);
    let framesOpen = true;
    let closing = false;
    let ctlText = "";

    // the terminal's output goes to the main thread (the log) in batches, at most LOG_DELAY_MS
    // late, so a keystroke's echo does not wake it each time
    const LOG_DELAY_MS = 25, LOG_BATCH_MAX = 65536;
    const logBuf = new Uint8Array(LOG_BATCH_MAX);
    let logLen = 0;
    let logSince = 0;
    const postLog = () => {
      if (logLen === 0) return;
      const bytes = logBuf.slice(0, logLen);
      logLen = 0;
      scope.postMessage({ type: "output", bytes }, [bytes.buffer]);
    };
    /** Adds the first `n` bytes of `src` (at most LOG_BATCH_MAX) to the log batch. */
    const toLog = (src: Uint8Array, n: number) => {
      if (logLen + n > LOG_BATCH_MAX) postLog();
      if (logLen === 0) logSince = clock();
      if (n <= 64) {
        for (let k = 0; k < n; k++) logBuf[logLen + k] = src[k];
      } else logBuf.set(src.subarray(0, n), logLen);
      logLen += n;
    };
    const postClients = () => scope.postMessage({ type: "clients", count: clients.length });
    const drop = (client: Client) => {
      const at = clients.indexOf(client);
      if (at < 0) return;
      clients.splice(at, 1);
      lib.close(client.fd);
      postClients();
    };
    /** send(2) of one packet: 1 sent, 0 when the socket is full, -1 when the client is gone. */
    const sendPacket = (fd: number, bytes: Uint8Array, length: number): number => {
      for (;;) {
        const n = Number(lib.send(fd, bytes, BigInt(length), MSG_DONTWAIT | MSG_NOSIGNAL));
        if (n >= 0) return 1; // a SOCK_SEQPACKET send is whole or nothing
        const code = errno();
        if (code === EINTR) continue;
        return code === EAGAIN ? 0 : -1;
      }
    };
    /** Sends what is queued; false when the client is gone. */
    const flush = (client: Client): boolean => {
      while (client.queue.length > 0) {
        const p = client.queue[0];
        const r = sendPacket(client.fd, p, p.length);
        if (r === 0) return true;
        if (r < 0) {
          drop(client);
          return false;
        }
        client.queued -= p.length;
        client.queue.shift();
      }
      return true;
    };
    /** Sends `packet`'s first `length` bytes to every client; queues a copy where it must wait. */
    const sendToClients = (length: number) => {
      for (let i = 0; i < clients.length; i++) {
        const client = clients[i];
        if (client.queue.length === 0) {
          const r = sendPacket(client.fd, packet, length);
          if (r > 0) continue;
          if (r < 0) {
            drop(client);
            i--;
            continue;
          }
        }
        client.queue.push(packet.slice(0, length));
        client.queued += length;
        if (client.queued > CLIENT_QUEUE_MAX) {
          drop(client);
          i--;
        }
      }
    };
    /** Sends output of `stream` (from the main thread) to every client, in packets. */
    const broadcast = (stream: number, bytes: Uint8Array) => {
      if (clients.length === 0) return;
      packet[0] = stream;
      for (let at = 0; at < bytes.length; at += PACKET_DATA_MAX) {
        const part = bytes.subarray(at, at + PACKET_DATA_MAX);
        packet.set(part, 1);
        sendToClients(part.length + 1);
      }
    };
    const flushMaster = () => {
      while (masterPending.length > 0) {
        const bytes = masterPending[0];
        const n = Number(lib.write(master, bytes, BigInt(bytes.length)));
        if (n < 0) {
          const code = errno();
          if (code === EINTR) continue;
          if (code !== EAGAIN) masterPending = [];
          return;
        }
        if (n < bytes.length) {
          masterPending[0] = bytes.subarray(n);
          return;
        }
        masterPending.shift();
      }
    };
    /** Writes the first `n` bytes of `src` to the terminal; keeps a copy of what must wait. */
    const toMaster = (src: Uint8Array, n: number) => {
      if (masterPending.length > 0) {
        masterPending.push(src.slice(0, n));
        return;
      }
      let done = 0;
      while (done < n) {
        const w = Number(
          lib.write(master, done === 0 ? src : src.subarray(done), BigInt(n - done)),
        );
        if (w >= 0) {
          done += w;
          continue;
        }
        const code = errno();
        if (code === EINTR) continue;
        if (code !== EAGAIN) return; // the terminal is gone: input has nowhere to go
        break;
      }
      if (done < n) masterPending.push(src.slice(done, n));
    };
    /**
     * Reads the terminal once: 1 when it gave output (sent to the clients and the log), 0 when
     * it had none now, -1 at end of file or a hang-up (no slave open).
     */
    const readMaster = (): number => {
      const n = readInto(master, packetData);
      if (n < 0) return 0;
      if (n === 0) return -1;
      if (clients.length > 0) {
        packet[0] = STDOUT;
        sendToClients(n + 1);
      }
      toLog(packetData, n);
      return 1;
    };
    /** Reads what is in the terminal now, then says so (the main thread logs all before). */
    const drainMaster = () => {
      if (master >= 0) {
        for (let i = 0; i < 1024; i++) {
          if (readMaster() <= 0) break;
        }
      }
      postLog();
      scope.postMessage({ type: "drained" });
    };
    const resize = (rows: number, cols: number) => {
      if (master < 0) return;
      const size = new Uint8Array(8);
      const view = new DataView(size.buffer);
      view.setUint16(0, rows, true);
      view.setUint16(2, cols, true);
      lib.ioctl(master, TIOCSWINSZ, size);
    };
    const readCtl = () => {
      const n = readInto(config.ctl, inBuf);
      if (n <= 0) return;
      ctlText += new TextDecoder().decode(inBuf.subarray(0, n));
      let nl: number;
      while ((nl = ctlText.indexOf("\n")) >= 0) {
        const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(ctlText.slice(0, nl));
        ctlText = ctlText.slice(nl + 1);
        if (!m || m[1] !== "1") continue;
        const rows = Number(m[2]);
        const cols = Number(m[3]);
        if (rows <= 1000 && cols <= 1000) resize(rows, cols);
      }
      if (ctlText.length > 200) ctlText = "";
    };
    const accept = () => {
      for (;;) {
        const fd = lib.accept4(config.listen, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        clients.push({ fd, readable: true, queue: [], queued: 0 });
      }
      postClients();
    };
    const clientReady = (client: Client, revents: number) => {
      if (revents & POLLNVAL) return drop(client);
      if (revents & POLLIN && client.readable) {
        const n = readInto(client.fd, inBuf);
        if (n > 0) {
          if (master >= 0) {
            toMaster(inBuf, n);
            // the terminal's echo may be there already: relay it without another round of poll
            if (masterPending.length === 0 && pausedUntil === 0) readMaster();
          } else {
            const bytes = inBuf.slice(0, n);
            scope.postMessage({ type: "input", bytes }, [bytes.buffer]);
          }
        } else if (n === 0) {
          client.readable = false;
          scope.postMessage({ type: "inputEnd" });
        }
      }
      if (revents & POLLOUT && !flush(client)) return;
      if (revents & (POLLHUP | POLLERR) && !(revents & POLLIN)) {
        if (client.readable) scope.postMessage({ type: "inputEnd" });
        drop(client);
      }
    };
    const readFrames = () => {
      const got = readInto(config.frames, inBuf);
      if (got < 0) return;
      if (got === 0) {
        framesOpen = false;
        closing = true;
        return;
      }
      const all = new Uint8Array(frames.length + got);
      all.set(frames);
      all.set(inBuf.subarray(0, got), frames.length);
      let at = 0;
      while (all.length - at >= 8) {
        const view = new DataView(all.buffer, at);
        const type = view.getUint8(0);
        const stream = view.getUint8(1);
        const length = view.getUint32(4, true);
        if (type === T.master || type === T.drain || type === T.close) {
          if (type === T.master) master = length;
          else if (type === T.drain) drainMaster();
          else closing = true;
          at += 8;
          continue;
        }
        if (all.length - at - 8 < length) break;
        if (type === T.output) broadcast(stream, all.subarray(at + 8, at + 8 + length));
        at += 8 + length;
      }
      frames = all.slice(at);
    };

    // the poll set (struct pollfd: int fd, short events, short revents), written in place each
    // round through typed arrays in the machine's byte order, as the kernel reads it
    let pollBuf = new Uint8Array(8 * 16);
    let pollInts = new Int32Array(pollBuf.buffer);
    let pollShorts = new Int16Array(pollBuf.buffer);
    let count = 0;
    const want = (fd: number, events: number) => {
      if (8 * count === pollBuf.length) {
        const bigger = new Uint8Array(pollBuf.length * 2);
        bigger.set(pollBuf);
        pollBuf = bigger;
        pollInts = new Int32Array(pollBuf.buffer);
        pollShorts = new Int16Array(pollBuf.buffer);
      }
      pollInts[2 * count] = fd;
      pollShorts[4 * count + 2] = events;
      pollShorts[4 * count + 3] = 0;
      count++;
    };
    /** Writes the poll set; returns poll's time limit in ms (-1: none). */
    const preparePoll = (): number => {
      count = 0;
      if (framesOpen) want(config.frames, POLLIN);
      want(config.listen, POLLIN);
      want(config.ctl, POLLIN);
      let timeout = -1;
      if (pausedUntil !== 0 && clock() >= pausedUntil) pausedUntil = 0;
      if (master >= 0) {
        const events = (pausedUntil === 0 ? POLLIN : 0) | (masterPending.length ? POLLOUT : 0);
        if (events !== 0) want(master, events);
        if (pausedUntil !== 0) timeout = Math.max(0, pausedUntil - clock());
      }
      for (let i = 0; i < clients.length; i++) {
        const c = clients[i];
        want(c.fd, (c.readable ? POLLIN : 0) | (c.queue.length > 0 ? POLLOUT : 0));
      }
      if (logLen > 0) {
        const logIn = Math.max(0, logSince + LOG_DELAY_MS - clock());
        timeout = timeout < 0 ? logIn : Math.min(timeout, logIn);
      }
      return timeout;
    };
    const masterReady = (revents: number) => {
      if (revents & POLLOUT) flushMaster();
      const had = revents & POLLIN ? readMaster() >= 0 : !(revents & ~POLLOUT);
      // end of file or a hang-up: nobody holds the terminal now; look again in a while
      if (!had) pausedUntil = clock() + 100;
    };
    /** Handles what poll reported for descriptor `fd`. */
    const ready = (fd: number, revents: number) => {
      if (fd === master) return masterReady(revents);
      for (let k = 0; k < clients.length; k++) {
        if (clients[k].fd === fd) return clientReady(clients[k], revents);
      }
      if (fd === config.frames) readFrames();
      else if (fd === config.listen) accept();
      else if (fd === config.ctl) readCtl();
    };
    /** One round: wait in poll, then handle each descriptor it reported. */
    const round = () => {
      const timeout = preparePoll();
      const n = lib.poll(pollBuf, BigInt(count), timeout);
      if (n < 0) {
        if (errno() === EINTR) return;
        throw new Error(`poll failed: errno ${errno()}`);
      }
      if (logLen > 0 && clock() - logSince >= LOG_DELAY_MS) postLog();
      const polled = count;
      for (let i = 0; i < polled && n > 0; i++) {
        const revents = pollShorts[4 * i + 3] & 0xffff;
        if (revents !== 0) ready(pollInts[2 * i], revents);
      }
    };
    while (!closing) round();

    // closing: what is left in the terminal, then let every client go (end of file)
    drainMaster();
    if (master >= 0) lib.close(master);
    for (const client of [...clients]) {
      flush(client);
      drop(client);
    }
    for (const fd of [config.listen, config.ctl, config.ctlWriter, config.frames]) lib.close(fd);
  }
}

let workerUrl: string | undefined;

/** Serves one container's (or exec session's) attach socket; see the module documentation. */
export class MonitorRelay {
  readonly #worker: Worker;
  readonly #framesWrite: number;
  readonly #symlink: string | null;
  readonly #closed: Promise<void>;
  #queue: Uint8Array[] = [];
  #waiting = false;
  #finished = false;
  #clientCount = 0;
  #closing = false;
  #onDrained: (() => void) | null = null;

  private constructor(
    worker: Worker,
    framesWrite: number,
    symlink: string | null,
    handlers: MonitorRelayHandlers,
  ) {
    this.#worker = worker;
    this.#framesWrite = framesWrite;
    this.#symlink = symlink;
    this.#closed = new Promise((resolve) => {
      worker.onmessage = (event: MessageEvent) => {
        const message = event.data as { type: string; bytes?: Uint8Array; count?: number };
        switch (message.type) {
          case "output":
            handlers.onOutput(message.bytes!);
            break;
          case "input":
            handlers.onInput(message.bytes!);
            break;
          case "inputEnd":
            handlers.onInputEnd();
            break;
          case "clients":
            this.#clientCount = message.count ?? 0;
            break;
          case "error":
            handlers.onError(String((message as { message?: string }).message));
            break;
          case "drained":
            this.#onDrained?.();
            break;
          case "closed":
            this.#onDrained?.();
            resolve();
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        handlers.onError(event.message);
        resolve();
      };
    });
  }

  /**
   * Creates `<bundle>/attach` and (unless null) the `symlink` to the bundle (a container's
   * `<runDir>/<id>`), makes `<bundle>/ctl` anew, and starts the relay thread.
   */
  static start(
    bundle: string,
    symlink: string | null,
    handlers: MonitorRelayHandlers,
  ): MonitorRelay {
    if (symlink !== null) {
      try {
        Deno.removeSync(symlink);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      Deno.symlinkSync(bundle, symlink);
    }
    const listen = listenUnix("seqpacket", join(bundle, "attach"));
    const ctlPath = controlFifoPath(bundle);
    try {
      Deno.removeSync(ctlPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    libc().mknod(ctlPath, S_IFIFO | 0o660, 0, 0);
    const f = openFlags();
    // held open for writing too, so reading it never sees end of file when a writer goes
    const ctl = openFd(ctlPath, f.O_RDONLY | f.O_NONBLOCK);
    const ctlWriter = openFd(ctlPath, f.O_WRONLY | f.O_NONBLOCK);
    const [frames, framesWrite] = makePipe();
    workerUrl ??= URL.createObjectURL(
      new Blob([`(${monitorRelayMain.toString()})();`], { type: "application/javascript" }),
    );
    const worker = new Worker(workerUrl, { type: "module" });
    const relay = new MonitorRelay(worker, framesWrite, symlink, handlers);
    const config: RelayWorkerConfig = { frames, listen, ctl, ctlWriter, types: FRAMES };
    worker.postMessage(config);
    return relay;
  }

  /** How many clients are attached (as the relay thread last said). */
  get clientCount(): number {
    return this.#clientCount;
  }

  /** Hands the terminal's master (non-blocking) to the relay thread, which then owns it. */
  setTerminal(master: number): void {
    this.#send(FRAMES.master, 0, master, null);
  }

  /** Sends output of `stream` (`ATTACH_PIPE_STDOUT`/`_STDERR`) to every client. */
  output(stream: number, bytes: Uint8Array): void {
    if (bytes.length > 0) this.#send(FRAMES.output, stream, bytes.length, bytes);
  }

  #send(type: number, stream: number, length: number, payload: Uint8Array | null): void {
    if (this.#closing) return;
    const frame = new Uint8Array(8 + (payload?.length ?? 0));
    const view = new DataView(frame.buffer);
    view.setUint8(0, type);
    view.setUint8(1, stream);
    view.setUint32(4, length, true);
    if (payload !== null) frame.set(payload, 8);
    this.#queue.push(frame);
    if (!this.#waiting) this.#pump();
  }

  /** Writes queued frames until the pipe is full; then waits for room, off the caller's path. */
  #pump(): void {
    while (this.#queue.length > 0 && !this.#finished) {
      const frame = this.#queue[0];
      let n: number;
      try {
        n = writeFd(this.#framesWrite, frame);
      } catch {
        this.#queue = []; // the relay thread is gone
        return;
      }
      if (n === frame.length) {
        this.#queue.shift();
        continue;
      }
      if (n > 0) this.#queue[0] = frame.subarray(n);
      this.#waiting = true;
      pollFds([{ fd: this.#framesWrite, events: POLLOUT }], 1000).then(() => {
        this.#waiting = false;
        this.#pump();
      });
      return;
    }
  }

  /**
   * Waits until what is in the terminal now has been read and handed to `onOutput` (before the
   * log is closed).
   */
  async drain(): Promise<void> {
    if (this.#closing) return;
    const drained = new Promise<void>((resolve) => this.#onDrained = resolve);
    this.#send(FRAMES.drain, 0, 0, null);
    await drained;
    this.#onDrained = null;
  }

  /**
   * Reads what is left in the terminal, lets every client go (they read end of file: the
   * container exited), closes the socket and the fifo, removes the symlink, ends the thread.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#send(FRAMES.close, 0, 0, null);
      this.#closing = true;
    }
    await this.#closed;
    this.#finished = true;
    this.#queue = [];
    this.#worker.terminate();
    closeFd(this.#framesWrite);
    try {
      if (this.#symlink !== null) Deno.removeSync(this.#symlink);
    } catch {
      // already gone
    }
  }
}
