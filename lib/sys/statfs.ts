/**
 * `statfs(2)` through FFI: the size and free space of the filesystem holding a path, which Deno
 * does not offer. The library is opened on first use. `struct statfs` has the same layout on
 * x86_64 and aarch64 (eleven 64-bit words, then spares).
 *
 * @example
 * ```ts
 * const { availableBytes, totalBytes } = statfs("/var/lib/denopod");
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { cString, errnoName } from "./libc.ts";

/** What {@linkcode statfs} reports, in bytes. */
export interface FilesystemSpace {
  /** Size of the filesystem (`f_blocks * f_frsize`). */
  totalBytes: number;
  /** Free bytes an unprivileged user may use (`f_bavail * f_frsize`). */
  availableBytes: number;
  /** Free bytes root may use (`f_bfree * f_frsize`). */
  freeBytes: number;
}

const SYMBOLS = {
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
const STRUCT_BYTES = 256;

/** The space of the filesystem holding `path`; throws {@linkcode SyscallError} on failure. */
export function statfs(path: string): FilesystemSpace {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  const buffer = new Uint8Array(STRUCT_BYTES);
  if (lib.symbols.statfs(cString(path), buffer) !== 0) {
    const errno = new Int32Array(
      Deno.UnsafePointerView.getArrayBuffer(lib.symbols.__errno_location()!, 4),
    )[0];
    throw new SyscallError("statfs", errno, errnoName(errno), path);
  }
  const view = new DataView(buffer.buffer);
  const word = (index: number) => Number(view.getBigUint64(index * 8, true));
  const blockSize = word(9) || word(1); // f_frsize, else f_bsize
  return {
    totalBytes: word(2) * blockSize,
    freeBytes: word(3) * blockSize,
    availableBytes: word(4) * blockSize,
  };
}
