/**
 * Process helpers Deno does not offer: `waitpid(2)` (for a child subreaper that reaps processes
 * it never spawned), decoding a wait status, pointing stdio at `/dev/null` (as a daemon does), a
 * liveness check that counts zombies as dead, and a `PATH` lookup. libc is opened on first use,
 * in a library handle of this module's own (never at module load); `errno` is read right after a
 * call returns -1, with no `await` in between.
 *
 * @example
 * ```ts
 * const child = waitPid(-1, { noHang: true }); // null when no child has changed state
 * if (child) decodeWaitStatus(child.status).exitCode; // 7, or 128 + signal
 * isProcessAlive(1234); // false for a missing or zombie process
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { cString, errnoName } from "./libc.ts";

/** `waitpid` option: return at once when no child has changed state. */
export const WNOHANG = 1;
/** errno: no child processes. */
export const ECHILD = 10;
/** errno: interrupted system call. */
export const EINTR = 4;

const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;

const SYMBOLS = {
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type ProcessSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let symbols: ProcessSymbols | undefined;

function sym(): ProcessSymbols {
  symbols ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return symbols;
}

function errno(s: ProcessSymbols): number {
  const ptr = s.__errno_location();
  return ptr === null ? 0 : new Deno.UnsafePointerView(ptr).getInt32();
}

/** One child that changed state: its pid and the raw wait status. */
export interface WaitResult {
  /** The pid of the child that was reaped. */
  pid: number;
  /** The raw status word `waitpid(2)` filled in; decode it with {@linkcode decodeWaitStatus}. */
  status: number;
}

/**
 * `waitpid(2)`: reaps `pid` (or any child when -1). Returns null when `noHang` is set and no
 * child has changed state; retries on EINTR; throws {@linkcode SyscallError} otherwise (ECHILD
 * when there is no such child).
 */
export function waitPid(pid: number, options: { noHang?: boolean } = {}): WaitResult | null {
  const s = sym();
  const statusBuf = new Int32Array(1);
  const bytes = new Uint8Array(statusBuf.buffer);
  for (;;) {
    const rc = s.waitpid(pid, bytes, options.noHang ? WNOHANG : 0);
    if (rc > 0) return { pid: rc, status: statusBuf[0] };
    if (rc === 0) return null;
    const code = errno(s);
    if (code === EINTR) continue;
    throw new SyscallError("waitpid", code, errnoName(code), undefined, `pid ${pid}`);
  }
}

/**
 * Reaps every child that has already exited, without blocking, and returns them (empty when
 * none has, or when there are no children at all).
 */
export function reapExitedChildren(): WaitResult[] {
  const reaped: WaitResult[] = [];
  for (;;) {
    let result: WaitResult | null;
    try {
      result = waitPid(-1, { noHang: true });
    } catch (err) {
      // ECHILD: no children left. Any other failure reaped nothing now: the caller polls again
      // (a monitor that threw here would die without writing the exit file; seen under load as
      // a waitpid -1 with a stray errno).
      if (err instanceof SyscallError) return reaped;
      throw err;
    }
    if (result === null) return reaped;
    reaped.push(result);
  }
}

/** A decoded wait status: how the process ended and the shell-style exit code. */
export interface DecodedWaitStatus {
  /** The exit code when the process called exit(), else undefined. */
  code?: number;
  /** The signal that killed the process, else undefined. */
  signal?: number;
  /** `code`, or 128 + `signal` (as a shell, conmon and podman report it). */
  exitCode: number;
}

/**
 * Decodes a raw `waitpid` status: `exit(7)` gives `{ code: 7, exitCode: 7 }`, death by SIGTERM
 * gives `{ signal: 15, exitCode: 143 }`.
 */
export function decodeWaitStatus(status: number): DecodedWaitStatus {
  const termSignal = status & 0x7f;
  if (termSignal === 0) {
    const code = (status >> 8) & 0xff;
    return { code, exitCode: code };
  }
  return { signal: termSignal, exitCode: 128 + termSignal };
}

/**
 * Points fds 0, 1 and 2 at `/dev/null`, so a detached process keeps nothing of its parent's
 * stdio (the parent's pipe reaches end-of-file).
 */
export function redirectStdioToDevNull(): void {
  const s = sym();
  const fd = s.open(cString("/dev/null"), O_RDWR | O_CLOEXEC, 0);
  if (fd === -1) {
    const code = errno(s);
    throw new SyscallError("open", code, errnoName(code), "/dev/null");
  }
  try {
    for (const target of [0, 1, 2]) {
      if (s.dup2(fd, target) === -1) {
        const code = errno(s);
        throw new SyscallError("dup2", code, errnoName(code), undefined, `fd ${target}`);
      }
    }
  } finally {
    s.close(fd);
  }
}

/**
 * Tells whether `pid` names a live process: false when `/proc/PID` is gone or the process is a
 * zombie (`Z`) or dead (`X`). A zombie counts as dead because a monitor whose parent never reaps
 * it (PID 1 may be slow to) stays in the process table after it exits.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return false;
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X" && state !== "";
}

/**
 * Finds an executable on a `PATH`-style list: returns `name` itself when it holds a `/`, else the
 * first `DIR/name` that is a regular file with an execute bit, else null.
 *
 * @example
 * ```ts
 * lookPath("runc", "/usr/local/bin:/usr/sbin"); // "/usr/sbin/runc"
 * ```
 */
export function lookPath(name: string, pathList: string): string | null {
  if (name.includes("/")) return name;
  for (const dir of pathList.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir.replace(/\/+$/, "")}/${name}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return null;
}
