/**
 * The few libc calls Deno does not offer, bound through FFI, and the per-file calls a tree walk
 * makes thousands of times (`getdents64`, `openat`, `statx`, `read`, `flistxattr`), which cost
 * less this way than through Deno's ops: no `Date`s or 20-field objects, and a file opened
 * relative to its directory's descriptor instead of looked up again from `/` (listing and opening
 * the benchmark tree took a third less time than `readDirSync` and `open` by path), which also
 * lifts PATH_MAX from a walk. Flags and structure layouts come from the architecture's table
 * (`abi.ts`), never a hard-coded x86-64 value. The library is opened on first use, never at
 * module load. Every wrapper reads `errno` right after the call
 * returns -1 (no `await` in between, never `nonblocking`) and throws a {@linkcode SyscallError}
 * naming the call, the errno and the path.
 *
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * libc().umount2("/tmp/x", MNT_DETACH); // throws SyscallError("umount2", 22, "EINVAL", "/tmp/x")
 * ```
 * @module
 */
import { SyscallError } from "../errors.ts";
import { abi } from "./abi.ts";
import { type FileStat, type FileType, statxDecoder } from "./statx.ts";

// The numbers below come from this architecture's table (`abi.ts`); see there.
const ABI = abi();

/** `umount2` flag: detach the mount lazily. */
export const MNT_DETACH = ABI.MNT_DETACH;
/** `umount2` flag: force the unmount. */
export const MNT_FORCE = ABI.MNT_FORCE;
/** `mount` flags used by denopod. */
export const MS_RDONLY = ABI.MS_RDONLY;
/** Do not honour set-user-ID bits on this mount. */
export const MS_NOSUID = ABI.MS_NOSUID;
/** Do not allow device files on this mount. */
export const MS_NODEV = ABI.MS_NODEV;
/** Do not allow execution on this mount. */
export const MS_NOEXEC = ABI.MS_NOEXEC;
/** Bind mount. */
export const MS_BIND = ABI.MS_BIND;
/** Recursive (with MS_BIND). */
export const MS_REC = ABI.MS_REC;
/** Make the mount private. */
export const MS_PRIVATE = ABI.MS_PRIVATE;
/** `prctl` option: make this process a child subreaper. */
export const PR_SET_CHILD_SUBREAPER = ABI.PR_SET_CHILD_SUBREAPER;
/** `prctl` option: signal sent to this process when its parent dies. */
export const PR_SET_PDEATHSIG = ABI.PR_SET_PDEATHSIG;
/** `lsetxattr` flag: create or replace (0). */
export const XATTR_ANY = 0;
/** File type bits for `mknod`. */
export const S_IFCHR = ABI.S_IFCHR;
/** Block device type bits for `mknod`. */
export const S_IFBLK = ABI.S_IFBLK;
/** FIFO type bits for `mknod`. */
export const S_IFIFO = ABI.S_IFIFO;
/** `utimensat`: operate on the link itself. */
export const AT_SYMLINK_NOFOLLOW = ABI.AT_SYMLINK_NOFOLLOW;
/** `utimensat`: relative to the current directory. */
export const AT_FDCWD = ABI.AT_FDCWD;
/** `getrlimit` resource: open files. */
export const RLIMIT_NOFILE = ABI.RLIMIT_NOFILE;
/** `getrlimit` resource: processes. */
export const RLIMIT_NPROC = ABI.RLIMIT_NPROC;

const O_RDONLY = ABI.O_RDONLY;
const O_RDWR = ABI.O_RDWR;
const O_NONBLOCK = ABI.O_NONBLOCK;
const O_CREAT = ABI.O_CREAT;
const O_CLOEXEC = ABI.O_CLOEXEC;
const O_NOFOLLOW = ABI.O_NOFOLLOW;
const O_DIRECTORY = ABI.O_DIRECTORY;
const O_PATH = ABI.O_PATH;
const AT_EMPTY_PATH = ABI.AT_EMPTY_PATH;
const XATTR_LIST_MAX = 65536;
const XATTR_LIST_BYTES = BigInt(XATTR_LIST_MAX);
const LOCK_SH = ABI.LOCK_SH;
const LOCK_EX = ABI.LOCK_EX;
const LOCK_NB = ABI.LOCK_NB;
const EWOULDBLOCK = 11;
const ENODATA = 61;
const EOPNOTSUPP = 95;
/** Bytes asked of each getdents64(2) call (glibc's readdir asks 32 KiB). */
const DIRENT_BUFFER_BYTES = 64 * 1024;
/** A symlink's target is at most a page long on Linux file systems. */
const SYMLINK_MAX = 4096;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  95: "EOPNOTSUPP",
};

/** Returns the symbolic name of an errno value (`EBUSY`), or `errno N` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

const SYMBOLS = {
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  flistxattr: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  fgetxattr: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  fchdir: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Typed wrappers over the bound libc calls; each throws {@linkcode SyscallError} on failure. */
export interface Libc {
  /** mount(2). `data` is the comma-separated option string, or empty. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** umount2(2). */
  umount2(target: string, flags: number): void;
  /** prctl(2) with one argument. */
  prctl(option: number, arg: number): void;
  /** mknod(2); `mode` holds the type bits and permissions. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lchown(2): never follows a symlink. */
  lchown(path: string, uid: number, gid: number): void;
  /** lsetxattr(2): never follows a symlink. */
  lsetxattr(path: string, name: string, value: Uint8Array): void;
  /** lgetxattr(2); returns null when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Uint8Array | null;
  /** llistxattr(2); returns the attribute names (empty where xattrs are unsupported). */
  llistxattr(path: string): string[];
  /** flistxattr(2): {@linkcode Libc.llistxattr} for an open descriptor. */
  flistxattr(fd: number): string[];
  /** fgetxattr(2): {@linkcode Libc.lgetxattr} for an open descriptor. */
  fgetxattr(fd: number, name: string): Uint8Array | null;
  /**
   * readlinkat(2): the target of the symlink `name` in the directory open as `dirFd` (or of the
   * path `name` when `dirFd` is omitted).
   */
  readlink(name: string, dirFd?: number): string;
  /**
   * statx(2) of `path` itself, never following a symlink (what `lstat` tells); a relative `path`
   * is taken relative to the directory open as `dirFd` when given.
   */
  lstat(path: string, dirFd?: number): FileStat;
  /** statx(2) of an open descriptor (what `fstat` tells). */
  fstat(fd: number): FileStat;
  /**
   * Opens `path` read-only (close-on-exec, non-blocking so a FIFO cannot hang the caller) and
   * returns the descriptor; with `noFollow`, a symlink is refused with ELOOP instead of followed.
   * A relative `path` is taken relative to the directory open as `dirFd` when given.
   */
  openRead(path: string, noFollow: boolean, dirFd?: number): number;
  /**
   * Opens a directory (following a symlink) and reads all its entries (without `.` and `..`, in
   * the order the file system gives). The listing's descriptor serves {@linkcode Libc.openRead}
   * and {@linkcode Libc.lstat} for its entries until `close()`.
   */
  openDirectory(path: string): DirectoryListing;
  /**
   * {@linkcode Libc.openDirectory} of the entry `name` of the directory open as `dirFd`, never
   * following a symlink (ELOOP or ENOTDIR instead): a walk that goes down this way never builds a
   * path longer than one name, however deep the tree.
   */
  openDirectoryAt(name: string, dirFd: number): DirectoryListing;
  /**
   * Opens `path` (a directory) with O_PATH, for {@linkcode Libc.fchdir} or as the `dirFd` of the
   * `*at` calls; close it when done. A relative `path` is taken relative to `dirFd` when given;
   * with `noFollow`, a symlink there is refused (ENOTDIR).
   */
  openDirectoryPath(path: string, dirFd?: number, noFollow?: boolean): number;
  /** fchdir(2): makes the directory open as `fd` the process's working directory. */
  fchdir(fd: number): void;
  /** read(2) into `buf`; returns the bytes read, 0 at end of file. */
  read(fd: number, buf: Uint8Array, path?: string): number;
  /** utimensat(2) with AT_SYMLINK_NOFOLLOW: sets atime and mtime (seconds, may be fractional). */
  lutimes(path: string, atimeSec: number, mtimeSec: number): void;
  /** getrlimit(2); returns `[soft, hard]`, with `Infinity` for RLIM_INFINITY. */
  getrlimit(resource: number): [number, number];
  /** Opens (creating, mode 0600, close-on-exec) a lockfile and returns its descriptor. */
  openLockfile(path: string): number;
  /** flock(2) without blocking: true when taken, false when someone else holds it. */
  tryFlock(fd: number, exclusive: boolean): boolean;
  /** close(2). */
  close(fd: number): void;
}

/** One entry of a directory: its name, and its type as the directory says (`unknown` when not). */
export interface DirectoryEntry {
  /** The entry's name (invalid UTF-8 replaced). */
  name: string;
  /** The type from `d_type`; `unknown` on file systems that do not fill it in. */
  type: FileType | "unknown";
}

/** An open directory's entries, and its descriptor for `*at` calls; close it when done. */
export interface DirectoryListing {
  /** The directory's descriptor, valid until `close()`. */
  fd: number;
  /** Every entry but `.` and `..`. */
  entries: DirectoryEntry[];
  /** Closes the directory (and its descriptor). */
  close(): void;
}

/** `d_type` values of `struct dirent`: DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK. */
const DIRENT_TYPES: Record<number, FileType> = {
  1: "fifo",
  2: "char",
  4: "dir",
  6: "block",
  8: "file",
  10: "symlink",
  12: "socket",
};

let bound: Libc | undefined;

/** Opens libc on first call and returns the typed wrappers; later calls reuse them. */
export function libc(): Libc {
  bound ??= bind(lazySymbols());
  return bound;
}

/**
 * The symbols, each bound on its first use: `Deno.dlopen` compiles a call stub per symbol, about
 * 0.2 ms of CPU each; all of them at once cost ~5 ms of every command that took a lock, most of
 * which use three or four.
 */
function lazySymbols(): LibcSymbols {
  const symbols = {} as LibcSymbols;
  for (const name of Object.keys(SYMBOLS) as (keyof typeof SYMBOLS)[]) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      get() {
        const fn = Deno.dlopen("libc.so.6", { [name]: SYMBOLS[name] }).symbols[name];
        Object.defineProperty(symbols, name, { value: fn });
        return fn;
      },
    });
  }
  return symbols;
}

const encoder = new TextEncoder();

/** Encodes a string as NUL-terminated bytes for a C `const char *`. */
export function cString(value: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(value);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function bind(sym: LibcSymbols): Libc {
  // Reused call after call by the per-file calls below (their results are copied out). A path
  // argument lives in `scratchPath` only until the call returns: the next call overwrites it.
  const scratchPath = new Uint8Array(4097);
  const scratchCString = (value: string): Uint8Array<ArrayBuffer> => {
    const { read, written } = encoder.encodeInto(value, scratchPath);
    if (read < value.length || written === scratchPath.length) return cString(value);
    scratchPath[written] = 0;
    return scratchPath;
  };
  const statxBuffer = new Uint8Array(ABI.statx.size);
  const statxView = new DataView(statxBuffer.buffer);
  const decodeStatx = statxDecoder(ABI);
  const { d_reclen: DIRENT_RECLEN, d_type: DIRENT_TYPE, d_name: DIRENT_NAME } = ABI.dirent64;
  const direntBuffer = new Uint8Array(DIRENT_BUFFER_BYTES);
  const direntView = new DataView(direntBuffer.buffer);
  const symlinkBuffer = new Uint8Array(SYMLINK_MAX);
  const xattrListBuffer = new Uint8Array(XATTR_LIST_MAX);
  const emptyPath = new Uint8Array(1);
  const decoder = new TextDecoder();
  /** Splits the NUL-separated name list in the first `length` bytes of `xattrListBuffer`. */
  const xattrNames = (length: number): string[] =>
    length === 0 ? [] : decoder.decode(xattrListBuffer.subarray(0, length)).split("\0")
      .filter((name) => name !== "");
  const errno = (): number => {
    const ptr = sym.__errno_location();
    return ptr === null ? 0 : new Deno.UnsafePointerView(ptr).getInt32();
  };
  const fail = (call: string, path?: string): never => {
    const code = errno();
    throw new SyscallError(call, code, errnoName(code), path);
  };
  /** Reads an xattr's value with `get` (asked for its size first); null when it is absent. */
  const readXattr = (
    call: string,
    path: string | undefined,
    get: (buf: Uint8Array | null, size: bigint) => number | bigint,
  ): Uint8Array | null => {
    const size = Number(get(null, 0n));
    if (size === -1) {
      const code = errno();
      if (code === ENODATA || code === EOPNOTSUPP) return null;
      throw new SyscallError(call, code, errnoName(code), path);
    }
    const buf = new Uint8Array(size);
    const got = Number(get(buf, BigInt(size)));
    if (got === -1) fail(call, path);
    return buf.subarray(0, got);
  };
  /** Opens the directory `name` relative to `dirFd` and reads its entries with getdents64(2). */
  const listDirectory = (dirFd: number, name: string, extraFlags: number): DirectoryListing => {
    const flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | extraFlags;
    const fd = sym.openat(dirFd, scratchCString(name), flags, 0);
    if (fd === -1) fail("opendir", name);
    const entries: DirectoryEntry[] = [];
    try {
      for (;;) {
        const got = Number(sym.getdents64(fd, direntBuffer, BigInt(DIRENT_BUFFER_BYTES)));
        if (got === -1) fail("getdents64", name);
        if (got === 0) break;
        for (let at = 0; at < got;) {
          const reclen = direntView.getUint16(at + DIRENT_RECLEN, true);
          const nameStart = at + DIRENT_NAME;
          const nameEnd = direntBuffer.indexOf(0, nameStart);
          const isDot = (nameEnd === nameStart + 1 && direntBuffer[nameStart] === 0x2e) ||
            (nameEnd === nameStart + 2 && direntBuffer[nameStart] === 0x2e &&
              direntBuffer[nameStart + 1] === 0x2e);
          if (!isDot) {
            entries.push({
              name: decoder.decode(direntBuffer.subarray(nameStart, nameEnd)),
              type: DIRENT_TYPES[direntBuffer[at + DIRENT_TYPE]] ?? "unknown",
            });
          }
          at += reclen;
        }
      }
    } catch (err) {
      sym.close(fd);
      throw err;
    }
    return { fd, entries, close: () => void sym.close(fd) };
  };
  return {
    mount(source, target, fstype, flags, data) {
      const rc = sym.mount(
        cString(source),
        cString(target),
        cString(fstype),
        BigInt(flags),
        data === "" ? null : cString(data),
      );
      if (rc === -1) fail("mount", target);
    },
    umount2(target, flags) {
      if (sym.umount2(cString(target), flags) === -1) fail("umount2", target);
    },
    prctl(option, arg) {
      if (sym.prctl(option, BigInt(arg), 0n, 0n, 0n) === -1) fail("prctl");
    },
    mknod(path, mode, major, minor) {
      const dev = (BigInt(major & 0xfff) << 8n) | BigInt(minor & 0xff) |
        (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n);
      if (sym.mknod(cString(path), mode, dev) === -1) fail("mknod", path);
    },
    lchown(path, uid, gid) {
      if (sym.lchown(cString(path), uid, gid) === -1) fail("lchown", path);
    },
    lsetxattr(path, name, value) {
      const rc = sym.lsetxattr(cString(path), cString(name), value, BigInt(value.length), 0);
      if (rc === -1) fail("lsetxattr", path);
    },
    lgetxattr(path, name) {
      const p = cString(path);
      const n = cString(name);
      return readXattr("lgetxattr", path, (buf, size) => sym.lgetxattr(p, n, buf, size));
    },
    fgetxattr(fd, name) {
      const n = cString(name);
      return readXattr("fgetxattr", undefined, (buf, size) => sym.fgetxattr(fd, n, buf, size));
    },
    llistxattr(path) {
      const size = Number(sym.llistxattr(scratchCString(path), xattrListBuffer, XATTR_LIST_BYTES));
      if (size === -1) {
        const code = errno();
        if (code === EOPNOTSUPP) return [];
        throw new SyscallError("llistxattr", code, errnoName(code), path);
      }
      return xattrNames(size);
    },
    flistxattr(fd) {
      const size = Number(sym.flistxattr(fd, xattrListBuffer, XATTR_LIST_BYTES));
      if (size === -1) {
        const code = errno();
        if (code === EOPNOTSUPP) return [];
        throw new SyscallError("flistxattr", code, errnoName(code));
      }
      return xattrNames(size);
    },
    readlink(name, dirFd = AT_FDCWD) {
      let buf = symlinkBuffer;
      for (;;) {
        const got = Number(sym.readlinkat(dirFd, scratchCString(name), buf, BigInt(buf.length)));
        if (got === -1) fail("readlink", name);
        if (got < buf.length) return decoder.decode(buf.subarray(0, got));
        buf = new Uint8Array(buf.length * 4); // possibly cut short: ask again with more room
      }
    },
    lstat(path, dirFd = AT_FDCWD) {
      const rc = sym.statx(
        dirFd,
        scratchCString(path),
        AT_SYMLINK_NOFOLLOW,
        ABI.STATX_BASIC_STATS,
        statxBuffer,
      );
      if (rc === -1) fail("statx", path);
      return decodeStatx(statxView);
    },
    fstat(fd) {
      const rc = sym.statx(fd, emptyPath, AT_EMPTY_PATH, ABI.STATX_BASIC_STATS, statxBuffer);
      if (rc === -1) fail("statx");
      return decodeStatx(statxView);
    },
    openRead(path, noFollow, dirFd = AT_FDCWD) {
      const flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (noFollow ? O_NOFOLLOW : 0);
      const fd = sym.openat(dirFd, scratchCString(path), flags, 0);
      if (fd === -1) fail("open", path);
      return fd;
    },
    openDirectory(path) {
      return listDirectory(AT_FDCWD, path, 0);
    },
    openDirectoryAt(name, dirFd) {
      return listDirectory(dirFd, name, O_NOFOLLOW);
    },
    openDirectoryPath(path, dirFd = AT_FDCWD, noFollow = false) {
      const flags = O_PATH | O_DIRECTORY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0);
      const fd = sym.openat(dirFd, scratchCString(path), flags, 0);
      if (fd === -1) fail("open", path);
      return fd;
    },
    fchdir(fd) {
      if (sym.fchdir(fd) === -1) fail("fchdir");
    },
    read(fd, buf, path) {
      const got = Number(sym.read(fd, buf, BigInt(buf.length)));
      if (got === -1) fail("read", path);
      return got;
    },
    lutimes(path, atimeSec, mtimeSec) {
      const times = new BigInt64Array(4);
      const split = (t: number, at: number) => {
        const whole = Math.floor(t);
        times[at] = BigInt(whole);
        times[at + 1] = BigInt(Math.round((t - whole) * 1e9));
      };
      split(atimeSec, 0);
      split(mtimeSec, 2);
      const rc = sym.utimensat(
        AT_FDCWD,
        cString(path),
        new Uint8Array(times.buffer),
        AT_SYMLINK_NOFOLLOW,
      );
      if (rc === -1) fail("utimensat", path);
    },
    getrlimit(resource) {
      const buf = new BigUint64Array(2);
      if (sym.getrlimit(resource, new Uint8Array(buf.buffer)) === -1) fail("getrlimit");
      const toNumber = (v: bigint) => v === 0xffffffffffffffffn ? Infinity : Number(v);
      return [toNumber(buf[0]), toNumber(buf[1])];
    },
    openLockfile(path) {
      const fd = sym.open(cString(path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600);
      if (fd === -1) fail("open", path);
      return fd;
    },
    tryFlock(fd, exclusive) {
      if (sym.flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
      const code = errno();
      if (code === EWOULDBLOCK) return false;
      throw new SyscallError("flock", code, errnoName(code));
    },
    close(fd) {
      sym.close(fd);
    },
  };
}
