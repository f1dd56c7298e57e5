/**
 * Keeping a long streaming command's resident set to the code it is running. Most of a Deno
 * process's resident memory is the executable's own code and read-only data (some 40 MiB of the
 * `deno` binary once modules are loaded, SQLite opened and V8's optimising compilers have run),
 * mapped from the file and shared with the page cache, but counted in the process's RSS for as
 * long as its page tables map it — the start-up code (module loading, the command table) too,
 * though `load` and `import` never run it again.
 *
 * {@linkcode releaseCleanCodePages} drops this process's mappings of such pages with
 * `madvise(MADV_DONTNEED)`: only for private, read-only mappings of files that hold no page of
 * the process's own (`Anonymous: 0 kB` in `/proc/self/smaps`: code, read-only data, never a
 * relocated RELRO page), whose contents are the file's, so the kernel maps the pages in use back
 * from its page cache on their next touch (a minor fault, no disk read). Nothing is lost and
 * nothing else changes; the pages stay in the page cache for other processes. `load`, `import`
 * and `save` call it before a layer and every 32 MiB of it (`../storage/layers.ts`): on the
 * benchmark's 200 MB rootfs their peak resident memory falls from 70-72 MiB to 51-54 MiB
 * (`scripts/bench_transport.ts`). A call reads `/proc/self/smaps` (a few milliseconds).
 *
 * @example
 * ```ts
 * releaseCleanCodePages(); // RSS falls to what the process touches from now on
 * ```
 * @module
 */

const MADV_DONTNEED = 4;

const SYMBOLS = {
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** A mapping of the address space, from `start` to `end` (byte addresses, end excluded). */
export interface Mapping {
  start: bigint;
  end: bigint;
}

/**
 * Drops the page-table entries of this process's clean, read-only, private file mappings (see
 * the module doc). Best effort: does nothing where `/proc/self/smaps` or libc cannot be read.
 * Returns how many mappings it released.
 */
export function releaseCleanCodePages(): number {
  let mappings: Mapping[];
  try {
    lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
    mappings = readCleanFileMappings("/proc/self/smaps");
  } catch {
    return 0;
  }
  let released = 0;
  for (const { start, end } of mappings) {
    const address = Deno.UnsafePointer.create(start);
    if (lib.symbols.madvise(address, end - start, MADV_DONTNEED) === 0) released++;
  }
  return released;
}

/** Reused read buffer: the scan makes no big string (a process's smaps is some 300 KB). */
let buffer: Uint8Array | undefined;
const BUFFER_BYTES = 64 * 1024;

/**
 * The mappings listed in the smaps file at `path` that are private (`p`), not writable, backed
 * by a file (a path), and hold no anonymous page: their contents are the file's.
 */
export function readCleanFileMappings(path: string): Mapping[] {
  const parser = new SmapsScanner();
  buffer ??= new Uint8Array(BUFFER_BYTES);
  const file = Deno.openSync(path, { read: true });
  try {
    let kept = 0; // bytes of an unfinished line at the start of the buffer
    while (true) {
      const got = file.readSync(buffer.subarray(kept));
      if (got === null || got === 0) break;
      const filled = kept + got;
      let lineStart = 0;
      for (let i = 0; i < filled; i++) {
        if (buffer[i] !== 0x0a) continue;
        parser.line(buffer, lineStart, i);
        lineStart = i + 1;
      }
      kept = filled - lineStart;
      // a line longer than the buffer (a very long path) is cut: its mapping is left alone
      if (kept === buffer.length) kept = 0;
      buffer.copyWithin(0, lineStart, filled);
    }
    if (kept > 0) parser.line(buffer, 0, kept);
  } finally {
    file.close();
  }
  return parser.found;
}

/** The clean file mappings of smaps text given line by line; see `readCleanFileMappings`. */
class SmapsScanner {
  readonly found: Mapping[] = [];
  #candidate: Mapping | undefined;

  /** Takes the line `bytes[from, to)` (without its newline). */
  line(bytes: Uint8Array, from: number, to: number): void {
    if (startsWith(bytes, from, to, ANONYMOUS)) {
      if (this.#candidate !== undefined && anonymousIsZero(bytes, from + ANONYMOUS.length, to)) {
        this.found.push(this.#candidate);
      }
      this.#candidate = undefined;
      return;
    }
    if (!isHexDigit(bytes[from])) return; // a field line (`Rss:`, `VmFlags:`...)
    this.#candidate = parseHeader(bytes, from, to);
  }
}

const ANONYMOUS = "Anonymous:";
const DEV = "/dev/";

/**
 * A mapping header `start-end perms offset dev inode [path]` as a candidate, or undefined when
 * it is not a private, read-only mapping of a file.
 */
function parseHeader(bytes: Uint8Array, from: number, to: number): Mapping | undefined {
  const fields: number[] = []; // start index of each space-separated field
  for (let i = from; i < to && fields.length < 6; i++) {
    if (bytes[i] !== 0x20 && (i === from || bytes[i - 1] === 0x20)) fields.push(i);
  }
  if (fields.length < 6) return undefined; // no path: anonymous memory
  const [range, perms, , , inode, path] = fields;
  if (bytes[perms + 1] === 0x77 /* w */ || bytes[perms + 3] !== 0x70 /* p */) return undefined;
  if (bytes[inode] === 0x30 /* 0 */ && bytes[inode + 1] === 0x20) return undefined;
  if (bytes[path] !== 0x2f /* / */) return undefined; // [heap], [stack], [vdso]...
  if (startsWith(bytes, path, to, DEV)) return undefined; // a device's memory, not a file's
  let dash = range;
  while (dash < to && bytes[dash] !== 0x2d /* - */) dash++;
  let space = dash;
  while (space < to && bytes[space] !== 0x20) space++;
  return { start: hexValue(bytes, range, dash), end: hexValue(bytes, dash + 1, space) };
}

/** Whether `bytes[from, to)` starts with the ASCII text `prefix`. */
function startsWith(bytes: Uint8Array, from: number, to: number, prefix: string): boolean {
  if (to - from < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[from + i] !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether the rest of an `Anonymous:` line reads `0 kB` (after spaces). */
function anonymousIsZero(bytes: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to && bytes[i] === 0x20) i++;
  return bytes[i] === 0x30 && bytes[i + 1] === 0x20;
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66);
}

function hexValue(bytes: Uint8Array, from: number, to: number): bigint {
  let value = 0n;
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    value = value * 16n + BigInt(b <= 0x39 ? b - 0x30 : b - 0x61 + 10);
  }
  return value;
}
