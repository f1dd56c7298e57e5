/**
 * AF_UNIX sockets and raw descriptors through FFI, for what Deno does not offer: `SOCK_SEQPACKET`
 * (conmon's attach socket), passing descriptors with `SCM_RIGHTS` (runc's `--console-socket`
 * sends the terminal's master that way), `poll`, and reading or writing a descriptor that is no
 * Deno resource (a pty master, a fifo, a socket). The struct layouts (`sockaddr_un`, `msghdr`,
 * `cmsghdr`, `iovec`, `pollfd`, `winsize`, `termios`) and the constants are chosen per
 * `Deno.build.arch` (x86-64 and arm64, both LP64 Linux); another architecture is refused on
 * first use.
 *
 * Every call but `poll` is synchronous and reads `errno` through `__errno_location` right after
 * it returns -1 (no `await` between). Waiting is done by {@linkcode pollFds}, whose `poll` is
 * bound `nonblocking: true` (it runs on a worker thread, so the event loop stays free) and always
 * has a timeout; descriptors that are read after a wait are put in non-blocking mode, so a
 * spurious wake-up returns `EAGAIN` (null here) rather than blocking the loop.
 *
 * @example
 * ```ts
 * const [a, b] = socketPair("seqpacket");
 * sendBytes(a, new TextEncoder().encode("hi"));
 * await pollFds([{ fd: b, events: POLLIN }], 1000);
 * recvBytes(b, 8192); // Uint8Array "hi"
 * closeFd(a); closeFd(b);
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { errnoName } from "./libc.ts";

/** The constants that matter here, for one architecture. */
interface ArchConstants {
  AF_UNIX: number;
  SOCK_STREAM: number;
  SOCK_SEQPACKET: number;
  SOCK_NONBLOCK: number;
  SOCK_CLOEXEC: number;
  SOL_SOCKET: number;
  SCM_RIGHTS: number;
  MSG_DONTWAIT: number;
  MSG_NOSIGNAL: number;
  MSG_CMSG_CLOEXEC: number;
  O_NONBLOCK: number;
  O_CLOEXEC: number;
  O_PATH: number;
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  F_GETFL: number;
  F_SETFL: number;
  TIOCGWINSZ: number;
  TIOCSWINSZ: number;
  TCGETS: number;
  TCSETS: number;
  /** termios: offset of `c_oflag`, `c_cc`, and the index of VEOF in `c_cc`. */
  TERMIOS_SIZE: number;
  TERMIOS_OFLAG: number;
  TERMIOS_CC: number;
  VEOF: number;
  ONLCR: number;
  /** Struct layouts (LP64). */
  SOCKADDR_UN_SIZE: number;
  SUN_PATH_MAX: number;
  MSGHDR_SIZE: number;
  CMSG_HDR: number;
}

// x86-64 and arm64 Linux share the generic ioctl numbers and LP64 layouts; O_* differ only in
// flags not used here (O_DIRECTORY, O_NOFOLLOW, O_LARGEFILE).
const LINUX_LP64: ArchConstants = {
  AF_UNIX: 1,
  SOCK_STREAM: 1,
  SOCK_SEQPACKET: 5,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SCM_RIGHTS: 1,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,
  MSG_CMSG_CLOEXEC: 0x40000000,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  O_PATH: 0o10000000,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  TIOCGWINSZ: 0x5413,
  TIOCSWINSZ: 0x5414,
  TCGETS: 0x5401,
  TCSETS: 0x5402,
  TERMIOS_SIZE: 60,
  TERMIOS_OFLAG: 4,
  TERMIOS_CC: 17,
  VEOF: 4,
  ONLCR: 0o4,
  SOCKADDR_UN_SIZE: 110,
  SUN_PATH_MAX: 108,
  MSGHDR_SIZE: 56,
  CMSG_HDR: 16,
};

const ARCHES: Record<string, ArchConstants> = { x86_64: LINUX_LP64, aarch64: LINUX_LP64 };

function arch(): ArchConstants {
  const c = ARCHES[Deno.build.arch];
  if (c === undefined || Deno.build.os !== "linux") {
    throw new SyscallError("socket", 97, "EAFNOSUPPORT", undefined, `${Deno.build.arch}`);
  }
  return c;
}

/** `poll` event: data to read (or a connection to accept). */
export const POLLIN = 0x1;
/** `poll` event: room to write. */
export const POLLOUT = 0x4;
/** `poll` event: an error on the descriptor. */
export const POLLERR = 0x8;
/** `poll` event: the peer hung up. */
export const POLLHUP = 0x10;
/** `poll` event: the descriptor is not open. */
export const POLLNVAL = 0x20;
/** `shutdown` how: no more sends (the peer reads end of file). */
export const SHUT_WR = 1;
/** `shutdown` how: no more receives. */
export const SHUT_RD = 0;

const EINTR = 4;
const EAGAIN = 11;

const SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Symbols | null = null;

function sym(): Symbols {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return lib;
}

function errno(): number {
  const ptr = sym().__errno_location();
  return ptr === null ? 0 : new Deno.UnsafePointerView(ptr).getInt32();
}

function fail(call: string, path?: string): never {
  const code = errno();
  throw new SyscallError(call, code, errnoName(code), path);
}

function check(result: number, call: string, path?: string): number {
  if (result < 0) fail(call, path);
  return result;
}

const encoder = new TextEncoder();

/** Builds a `sockaddr_un` for `path`; throws ENAMETOOLONG when it does not fit `sun_path`. */
function sockaddrUn(path: string): Uint8Array {
  const c = arch();
  const bytes = encoder.encode(path);
  if (bytes.length >= c.SUN_PATH_MAX) {
    throw new SyscallError("bind", 36, "ENAMETOOLONG", path);
  }
  const addr = new Uint8Array(c.SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, c.AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
}

/** The kinds of AF_UNIX socket used here. */
export type SocketKind = "stream" | "seqpacket";

function sockType(kind: SocketKind, nonblocking: boolean): number {
  const c = arch();
  return (kind === "stream" ? c.SOCK_STREAM : c.SOCK_SEQPACKET) | c.SOCK_CLOEXEC |
    (nonblocking ? c.SOCK_NONBLOCK : 0);
}

/** Creates an AF_UNIX socket (close-on-exec, non-blocking) and returns its descriptor. */
export function unixSocket(kind: SocketKind): number {
  return check(sym().socket(arch().AF_UNIX, sockType(kind, true), 0), "socket");
}

/** Creates a connected pair of AF_UNIX sockets (close-on-exec, non-blocking). */
export function socketPair(kind: SocketKind): [number, number] {
  const fds = new Int32Array(2);
  check(sym().socketpair(arch().AF_UNIX, sockType(kind, true), 0, fds), "socketpair");
  return [fds[0], fds[1]];
}

/**
 * A path that reaches `path` within `sun_path`'s 108 bytes: `path` itself when it is short,
 * else `/proc/self/fd/N/<name>` through an `O_PATH` descriptor of its directory (conmon's way;
 * the attach socket's real path is longer than 108 bytes). Call `release` once bound/connected.
 */
export function shortSocketPath(path: string): { path: string; release: () => void } {
  if (encoder.encode(path).length < arch().SUN_PATH_MAX) return { path, release: () => {} };
  const slash = path.lastIndexOf("/");
  const dir = slash <= 0 ? "/" : path.slice(0, slash);
  const dirFd = openFd(dir, arch().O_PATH);
  return {
    path: `/proc/self/fd/${dirFd}/${path.slice(slash + 1)}`,
    release: () => closeFd(dirFd),
  };
}

/** Binds `fd` to `path` (long paths through {@linkcode shortSocketPath}). */
export function bindSocket(fd: number, path: string): void {
  const short = shortSocketPath(path);
  try {
    const addr = sockaddrUn(short.path);
    check(sym().bind(fd, addr, addr.length), "bind", path);
  } finally {
    short.release();
  }
}

/** Marks a bound socket as accepting connections. */
export function listenSocket(fd: number, backlog = 16): void {
  check(sym().listen(fd, backlog), "listen");
}

/** Creates a listening socket of `kind` bound at `path` (removing a stale file there first). */
export function listenUnix(kind: SocketKind, path: string, mode = 0o700): number {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const fd = unixSocket(kind);
  try {
    bindSocket(fd, path);
    Deno.chmodSync(path, mode);
    listenSocket(fd);
    return fd;
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

/** Accepts one pending connection (close-on-exec, non-blocking); null when none is pending. */
export function acceptSocket(fd: number): number | null {
  const c = arch();
  for (;;) {
    const r = sym().accept4(fd, null, null, c.SOCK_CLOEXEC | c.SOCK_NONBLOCK);
    if (r >= 0) return r;
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return null;
    throw new SyscallError("accept4", code, errnoName(code));
  }
}

/** Connects a new non-blocking socket of `kind` to `path` and returns it. */
export function connectUnix(kind: SocketKind, path: string): number {
  const fd = unixSocket(kind);
  const short = shortSocketPath(path);
  try {
    const addr = sockaddrUn(short.path);
    check(sym().connect(fd, addr, addr.length), "connect", path);
    return fd;
  } catch (err) {
    closeFd(fd);
    throw err;
  } finally {
    short.release();
  }
}

/** Opens `path` with raw `open(2)` flags (plus close-on-exec) and returns the descriptor. */
export function openFd(path: string, flags: number, mode = 0): number {
  const name = encoder.encode(`${path}\0`);
  return check(sym().open(name, flags | arch().O_CLOEXEC, mode), "open", path);
}

/** `open(2)` flags for {@linkcode openFd}. */
export function openFlags(): {
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  O_NONBLOCK: number;
} {
  const c = arch();
  return { O_RDONLY: c.O_RDONLY, O_WRONLY: c.O_WRONLY, O_RDWR: c.O_RDWR, O_NONBLOCK: c.O_NONBLOCK };
}

/** Makes a pipe (close-on-exec, non-blocking); returns `[read end, write end]`. */
export function makePipe(): [number, number] {
  const c = arch();
  const fds = new Int32Array(2);
  check(sym().pipe2(fds, c.O_CLOEXEC | c.O_NONBLOCK), "pipe2");
  return [fds[0], fds[1]];
}

/** Closes a descriptor; a descriptor already closed is ignored. */
export function closeFd(fd: number): void {
  if (fd >= 0) sym().close(fd);
}

/** Puts `fd` in non-blocking mode. */
export function setNonBlocking(fd: number): void {
  const c = arch();
  const flags = check(sym().fcntl(fd, c.F_GETFL, 0n), "fcntl");
  check(sym().fcntl(fd, c.F_SETFL, BigInt(flags | c.O_NONBLOCK)), "fcntl");
}

/** Shuts down one direction of a socket (`SHUT_WR`: the peer reads end of file). */
export function shutdownSocket(fd: number, how: number): void {
  if (sym().shutdown(fd, how) < 0) {
    const code = errno();
    if (code !== 107) throw new SyscallError("shutdown", code, errnoName(code)); // ENOTCONN
  }
}

/**
 * Sends `bytes` as one message (one packet on SOCK_SEQPACKET), without blocking and without
 * SIGPIPE. Returns the bytes sent, or null when the socket's buffer is full (`EAGAIN`).
 */
export function sendBytes(fd: number, bytes: Uint8Array): number | null {
  const c = arch();
  for (;;) {
    const r = Number(sym().send(fd, bytes, BigInt(bytes.length), c.MSG_DONTWAIT | c.MSG_NOSIGNAL));
    if (r >= 0) return r;
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return null;
    throw new SyscallError("send", code, errnoName(code));
  }
}

let scratchBuf = new Uint8Array(0);

/** A reused buffer of at least `size` bytes for reads (the result is copied out of it). */
function scratch(size: number): Uint8Array {
  if (scratchBuf.length < size) scratchBuf = new Uint8Array(size);
  return scratchBuf;
}

/**
 * Receives one message (one packet on SOCK_SEQPACKET) of at most `max` bytes without blocking.
 * Returns the bytes, an empty array at end of file, or null when nothing is waiting.
 */
export function recvBytes(fd: number, max: number): Uint8Array | null {
  const buf = scratch(max);
  for (;;) {
    const r = Number(sym().recv(fd, buf, BigInt(max), arch().MSG_DONTWAIT));
    if (r >= 0) return buf.slice(0, r);
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return null;
    if (code === 104) return new Uint8Array(0); // ECONNRESET: the peer is gone
    throw new SyscallError("recv", code, errnoName(code));
  }
}

/**
 * Reads at most `max` bytes from a non-blocking descriptor. Returns them, an empty array at end
 * of file (also `EIO`, which a pty master reports once the last slave is closed), or null when
 * nothing is waiting.
 */
export function readFd(fd: number, max: number): Uint8Array | null {
  const buf = scratch(max);
  for (;;) {
    const r = Number(sym().read(fd, buf, BigInt(max)));
    if (r >= 0) return buf.slice(0, r);
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return null;
    if (code === 5) return new Uint8Array(0); // EIO
    throw new SyscallError("read", code, errnoName(code));
  }
}

/** Writes what it can of `bytes` to a non-blocking descriptor; returns the count (0 when full). */
export function writeFd(fd: number, bytes: Uint8Array): number {
  for (;;) {
    const r = Number(sym().write(fd, bytes, BigInt(bytes.length)));
    if (r >= 0) return r;
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return 0;
    throw new SyscallError("write", code, errnoName(code));
  }
}

/** One descriptor to wait on, and the events (`POLLIN`, `POLLOUT`) wanted. */
export interface PollRequest {
  fd: number;
  events: number;
}

function pollBuffer(requests: PollRequest[]): Uint8Array {
  const buf = new Uint8Array(8 * requests.length);
  const view = new DataView(buf.buffer);
  requests.forEach((r, i) => {
    view.setInt32(8 * i, r.fd, true);
    view.setInt16(8 * i + 4, r.events, true);
  });
  return buf;
}

function pollResults(buf: Uint8Array, count: number): number[] {
  const view = new DataView(buf.buffer);
  return Array.from({ length: count }, (_, i) => view.getUint16(8 * i + 6, true));
}

/**
 * Waits up to `timeoutMs` (at most 60 s, never forever) until one of the descriptors is ready,
 * on a worker thread; resolves with each one's `revents` (all 0 on timeout or interruption).
 */
export async function pollFds(requests: PollRequest[], timeoutMs: number): Promise<number[]> {
  const buf = pollBuffer(requests);
  const timeout = Math.max(0, Math.min(60_000, Math.floor(timeoutMs)));
  const r = await sym().poll(buf, BigInt(requests.length), timeout);
  if (r <= 0) return requests.map(() => 0);
  return pollResults(buf, requests.length);
}

/**
 * A `struct msghdr` for one data buffer and a control buffer (LP64 layout, the same on x86-64
 * and arm64), with its one `struct iovec` in the same allocation, after it: the header alone
 * keeps everything it points to (but `data` and `control`) alive through the call.
 */
function messageHeader(size: number, data: Uint8Array, control: Uint8Array): Uint8Array {
  const address = (buffer: Uint8Array) =>
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  const msg = new Uint8Array(size + 16);
  const iov = msg.subarray(size);
  const iv = new DataView(msg.buffer, size);
  iv.setBigUint64(0, address(data), true);
  iv.setBigUint64(8, BigInt(data.length), true);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(16, address(iov), true);
  mv.setBigUint64(24, 1n, true);
  mv.setBigUint64(32, address(control), true);
  mv.setBigUint64(40, BigInt(control.length), true);
  return msg;
}

/** Sends the descriptor `passed` over the connected socket `fd` with `SCM_RIGHTS`. */
export function sendFd(fd: number, passed: number, data = new Uint8Array([0])): void {
  const c = arch();
  const control = new Uint8Array(c.CMSG_HDR + 8); // CMSG_SPACE(sizeof(int))
  const cv = new DataView(control.buffer);
  cv.setBigUint64(0, BigInt(c.CMSG_HDR + 4), true); // CMSG_LEN(sizeof(int))
  cv.setInt32(8, c.SOL_SOCKET, true);
  cv.setInt32(12, c.SCM_RIGHTS, true);
  cv.setInt32(c.CMSG_HDR, passed, true);
  const msg = messageHeader(c.MSGHDR_SIZE, data, control);
  for (;;) {
    const r = Number(sym().sendmsg(fd, msg, c.MSG_NOSIGNAL));
    if (r >= 0) return;
    const code = errno();
    if (code !== EINTR) throw new SyscallError("sendmsg", code, errnoName(code));
  }
}

/** What {@linkcode receiveFd} got: the descriptors passed and the bytes sent with them. */
export interface ReceivedFds {
  fds: number[];
  data: Uint8Array;
}

/**
 * Receives one message with descriptors (`SCM_RIGHTS`, close-on-exec) from `fd` without
 * blocking; null when nothing is waiting. runc sends the terminal's master this way, with the
 * slave's path as the data.
 */
export function receiveFd(fd: number, maxData = 4096): ReceivedFds | null {
  const c = arch();
  const data = new Uint8Array(maxData);
  const control = new Uint8Array(c.CMSG_HDR + 8 * 8); // room for up to 16 descriptors
  const msg = messageHeader(c.MSGHDR_SIZE, data, control);
  let n: number;
  for (;;) {
    n = Number(sym().recvmsg(fd, msg, c.MSG_DONTWAIT | c.MSG_CMSG_CLOEXEC));
    if (n >= 0) break;
    const code = errno();
    if (code === EINTR) continue;
    if (code === EAGAIN) return null;
    throw new SyscallError("recvmsg", code, errnoName(code));
  }
  const controlLen = Number(new DataView(msg.buffer).getBigUint64(40, true));
  const cv = new DataView(control.buffer);
  const fds: number[] = [];
  let at = 0;
  while (at + c.CMSG_HDR <= controlLen) {
    const len = Number(cv.getBigUint64(at, true));
    if (len < c.CMSG_HDR) break;
    const level = cv.getInt32(at + 8, true);
    const type = cv.getInt32(at + 12, true);
    if (level === c.SOL_SOCKET && type === c.SCM_RIGHTS) {
      for (let p = at + c.CMSG_HDR; p + 4 <= at + len; p += 4) fds.push(cv.getInt32(p, true));
    }
    at += (len + 7) & ~7;
  }
  return { fds, data: data.slice(0, n) };
}

/** A terminal's size in rows and columns. */
export interface WindowSize {
  rows: number;
  cols: number;
}

/** Sets the size of the terminal behind `fd` (a pty master or slave); the foreground group gets SIGWINCH. */
export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = new Uint8Array(8);
  const v = new DataView(ws.buffer);
  v.setUint16(0, size.rows, true);
  v.setUint16(2, size.cols, true);
  check(sym().ioctl(fd, BigInt(arch().TIOCSWINSZ), ws), "ioctl(TIOCSWINSZ)");
}

/** Reads the size of the terminal behind `fd`. */
export function getWindowSize(fd: number): WindowSize {
  const ws = new Uint8Array(8);
  check(sym().ioctl(fd, BigInt(arch().TIOCGWINSZ), ws), "ioctl(TIOCGWINSZ)");
  const v = new DataView(ws.buffer);
  return { rows: v.getUint16(0, true), cols: v.getUint16(2, true) };
}

function getTermios(fd: number): Uint8Array {
  const t = new Uint8Array(arch().TERMIOS_SIZE);
  check(sym().ioctl(fd, BigInt(arch().TCGETS), t), "ioctl(TCGETS)");
  return t;
}

/** The terminal's end-of-file character (VEOF, normally Ctrl-D), as the terminal behind `fd` has it. */
export function terminalEofChar(fd: number): number {
  return getTermios(fd)[arch().TERMIOS_CC + arch().VEOF];
}

/** Turns on `ONLCR` (newline written as CR LF) on the terminal behind `fd`, as conmon does. */
export function setOutputCrLf(fd: number): void {
  const c = arch();
  const t = getTermios(fd);
  const v = new DataView(t.buffer);
  v.setUint32(c.TERMIOS_OFLAG, v.getUint32(c.TERMIOS_OFLAG, true) | c.ONLCR, true);
  check(sym().ioctl(fd, BigInt(c.TCSETS), t), "ioctl(TCSETS)");
}

// termios flag bits (the same on x86-64 and arm64: the generic Linux values)
const IFLAG_RAW_OFF = 0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000; // IGNBRK..IXON
const OPOST = 0o1;
const LFLAG_RAW_OFF = 0o10 | 0o100 | 0o2 | 0o1 | 0o100000; // ECHO ECHONL ICANON ISIG IEXTEN
const CSIZE = 0o60;
const PARENB = 0o400;
const CS8 = 0o60;
const VTIME = 5;
const VMIN = 6;

/**
 * Puts the terminal behind `fd` in raw mode as `cfmakeraw(3)` does (no echo, no line editing, no
 * signals from keys, no output processing) and returns its settings before, for
 * {@linkcode restoreTerminal}.
 */
export function makeRawTerminal(fd: number): Uint8Array {
  const c = arch();
  const saved = getTermios(fd);
  const t = saved.slice();
  const v = new DataView(t.buffer);
  v.setUint32(0, v.getUint32(0, true) & ~IFLAG_RAW_OFF, true);
  v.setUint32(c.TERMIOS_OFLAG, v.getUint32(c.TERMIOS_OFLAG, true) & ~OPOST, true);
  v.setUint32(8, (v.getUint32(8, true) & ~(CSIZE | PARENB)) | CS8, true);
  v.setUint32(12, v.getUint32(12, true) & ~LFLAG_RAW_OFF, true);
  t[c.TERMIOS_CC + VMIN] = 1;
  t[c.TERMIOS_CC + VTIME] = 0;
  check(sym().ioctl(fd, BigInt(c.TCSETS), t), "ioctl(TCSETS)");
  return saved;
}

/** Gives the terminal behind `fd` back the settings {@linkcode makeRawTerminal} returned. */
export function restoreTerminal(fd: number, saved: Uint8Array): void {
  check(sym().ioctl(fd, BigInt(arch().TCSETS), saved.slice()), "ioctl(TCSETS)");
}
