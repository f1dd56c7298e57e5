/**
 * Persistent network namespaces, as `ip netns add` makes them but in a folder of our own: the
 * calling thread `unshare(CLONE_NEWNET)`s, its new namespace is bind-mounted onto an empty file,
 * and the thread `setns`es back into the namespace it came from. No process is started. libc is
 * opened on first use in a handle of this module's own; errno is read right after a failing call.
 *
 * Safe in Deno because FFI calls run synchronously on the JavaScript thread and nothing else runs
 * on it between the `unshare` and the `setns`; other threads never change namespace.
 *
 * @example
 * ```ts
 * createNetns("/run/denopod/netns/abc"); // a bind-mounted nsfs file
 * removeNetns("/run/denopod/netns/abc");  // unmounted and deleted; no error when already gone
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { cString, errnoName, MS_BIND } from "./libc.ts";
import { unmount } from "./mount.ts";

/** `clone(2)` flag for a new network namespace. */
export const CLONE_NEWNET = 0x40000000;

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const THREAD_NETNS = "/proc/thread-self/ns/net";

const SYMBOLS = {
  unshare: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type NetnsSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let symbols: NetnsSymbols | undefined;

function sym(): NetnsSymbols {
  symbols ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return symbols;
}

function fail(s: NetnsSymbols, call: string, path?: string): SyscallError {
  const ptr = s.__errno_location();
  const errno = ptr === null ? 0 : new Deno.UnsafePointerView(ptr).getInt32();
  return new SyscallError(call, errno, errnoName(errno), path);
}

/**
 * Makes a new network namespace and bind-mounts it at `path` (a file made here, mode 0444).
 * On failure nothing is left: the file is removed and the thread is back in its namespace.
 */
export function createNetns(path: string): void {
  const s = sym();
  Deno.writeFileSync(path, new Uint8Array(0), { mode: 0o444, createNew: true });
  const original = s.open(cString(THREAD_NETNS), O_RDONLY | O_CLOEXEC, 0);
  if (original < 0) {
    const err = fail(s, "open", THREAD_NETNS);
    Deno.removeSync(path);
    throw err;
  }
  let error: SyscallError | undefined;
  try {
    if (s.unshare(CLONE_NEWNET) !== 0) {
      error = fail(s, "unshare");
    } else {
      if (
        s.mount(cString(THREAD_NETNS), cString(path), cString("none"), BigInt(MS_BIND), null) !== 0
      ) {
        error = fail(s, "mount", path);
      }
      if (s.setns(original, CLONE_NEWNET) !== 0) {
        // cannot happen for a descriptor of our own namespace; if it did, this thread would be
        // left in the new namespace, so stop here rather than run on in the wrong one
        const setnsError = fail(s, "setns");
        throw new Error(`cannot return to the host network namespace: ${setnsError.message}`);
      }
    }
  } finally {
    s.close(original);
  }
  if (error) {
    try {
      Deno.removeSync(path);
    } catch {
      // nothing more to undo
    }
    throw error;
  }
}

/** Unmounts and deletes a namespace file made by {@linkcode createNetns}; missing is fine. */
export function removeNetns(path: string): void {
  unmount(path, { detach: true, ignoreNotMounted: true });
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
