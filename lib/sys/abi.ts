/**
 * The numbers of the Linux ABI that `libc.ts` passes to the kernel or reads back from it, per
 * architecture (`Deno.build.arch`): open(2) flags, `*at` flags, mount flags, and the layouts of
 * `struct linux_dirent64` and `struct statx`. Most are the same everywhere (asm-generic); the
 * open flags are not: arm64 defines `O_DIRECTORY`, `O_NOFOLLOW`, `O_DIRECT` and `O_LARGEFILE` in
 * its own `asm/fcntl.h`, so x86-64's `O_NOFOLLOW` (0400000) is arm64's `O_LARGEFILE` and a
 * hard-coded value would silently lose "do not follow" there.
 *
 * The values are the kernel's (what the system call sees), which glibc passes through unchanged;
 * glibc alone defines `O_LARGEFILE` as 0 on 64-bit targets, the kernel forcing it there anyway.
 * `test/libc_arch_test.ts` checks this machine's table against the C headers, and the aarch64
 * table against the values written in the kernel's arm64 headers.
 *
 * @example
 * ```ts
 * import { abi } from "./abi.ts";
 * const flags = abi().O_RDONLY | abi().O_NOFOLLOW; // 0o400000 on x86_64, 0o100000 on aarch64
 * ```
 * @module
 */

/** The architectures Deno runs on, as `Deno.build.arch` names them. */
export type LinuxArch = typeof Deno.build.arch;

/** Byte offsets (and sizes) in a kernel structure. */
export type Layout<K extends string> = Readonly<Record<K, number>>;

/** One architecture's ABI numbers; see the module doc. */
export interface LinuxAbi {
  // open(2) flags
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_TRUNC: number;
  readonly O_APPEND: number;
  readonly O_NONBLOCK: number;
  readonly O_DIRECT: number;
  readonly O_LARGEFILE: number;
  readonly O_DIRECTORY: number;
  readonly O_NOFOLLOW: number;
  readonly O_CLOEXEC: number;
  readonly O_PATH: number;
  // *at(2) flags
  readonly AT_FDCWD: number;
  readonly AT_SYMLINK_NOFOLLOW: number;
  readonly AT_EMPTY_PATH: number;
  // mount(2) and umount2(2)
  readonly MS_RDONLY: number;
  readonly MS_NOSUID: number;
  readonly MS_NODEV: number;
  readonly MS_NOEXEC: number;
  readonly MS_BIND: number;
  readonly MS_REC: number;
  readonly MS_PRIVATE: number;
  readonly MNT_FORCE: number;
  readonly MNT_DETACH: number;
  // flock(2), prctl(2), getrlimit(2)
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_NB: number;
  readonly PR_SET_PDEATHSIG: number;
  readonly PR_SET_CHILD_SUBREAPER: number;
  readonly RLIMIT_NPROC: number;
  readonly RLIMIT_NOFILE: number;
  // file type bits of st_mode
  readonly S_IFMT: number;
  readonly S_IFIFO: number;
  readonly S_IFCHR: number;
  readonly S_IFDIR: number;
  readonly S_IFBLK: number;
  readonly S_IFREG: number;
  readonly S_IFLNK: number;
  readonly S_IFSOCK: number;
  // statx(2)
  readonly STATX_BASIC_STATS: number;
  /** `struct linux_dirent64`, what getdents64(2) fills in. */
  readonly dirent64: Layout<"d_ino" | "d_off" | "d_reclen" | "d_type" | "d_name">;
  /** `struct statx`: the fields denopod reads, and the structure's size. */
  readonly statx: Layout<
    | "size"
    | "stx_nlink"
    | "stx_uid"
    | "stx_gid"
    | "stx_mode"
    | "stx_ino"
    | "stx_size"
    | "stx_mtime"
    | "stx_rdev_major"
    | "stx_rdev_minor"
    | "stx_dev_major"
    | "stx_dev_minor"
  >;
}

/** What asm-generic defines and x86_64 and aarch64 share. */
const GENERIC = {
  O_RDONLY: 0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  O_PATH: 0o10000000,
  AT_FDCWD: -100,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_EMPTY_PATH: 0x1000,
  MS_RDONLY: 1,
  MS_NOSUID: 2,
  MS_NODEV: 4,
  MS_NOEXEC: 8,
  MS_BIND: 4096,
  MS_REC: 16384,
  MS_PRIVATE: 1 << 18,
  MNT_FORCE: 1,
  MNT_DETACH: 2,
  LOCK_SH: 1,
  LOCK_EX: 2,
  LOCK_NB: 4,
  PR_SET_PDEATHSIG: 1,
  PR_SET_CHILD_SUBREAPER: 36,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  S_IFMT: 0o170000,
  S_IFIFO: 0o010000,
  S_IFCHR: 0o020000,
  S_IFDIR: 0o040000,
  S_IFBLK: 0o060000,
  S_IFREG: 0o100000,
  S_IFLNK: 0o120000,
  S_IFSOCK: 0o140000,
  STATX_BASIC_STATS: 0x7ff,
  // The same on every architecture: both structures are defined with fixed-size types only.
  dirent64: { d_ino: 0, d_off: 8, d_reclen: 16, d_type: 18, d_name: 19 },
  statx: {
    size: 256,
    stx_nlink: 16,
    stx_uid: 20,
    stx_gid: 24,
    stx_mode: 28,
    stx_ino: 32,
    stx_size: 40,
    stx_mtime: 112,
    stx_rdev_major: 128,
    stx_rdev_minor: 132,
    stx_dev_major: 136,
    stx_dev_minor: 140,
  },
} as const;

/** Every architecture's table. */
export const LINUX_ABI: Readonly<Record<LinuxArch, LinuxAbi>> = {
  // arch/x86/include/uapi/asm/fcntl.h includes asm-generic/fcntl.h unchanged
  x86_64: {
    ...GENERIC,
    O_DIRECT: 0o40000,
    O_LARGEFILE: 0o100000,
    O_DIRECTORY: 0o200000,
    O_NOFOLLOW: 0o400000,
  },
  // arch/arm64/include/uapi/asm/fcntl.h defines these four before including asm-generic/fcntl.h
  aarch64: {
    ...GENERIC,
    O_DIRECTORY: 0o40000,
    O_NOFOLLOW: 0o100000,
    O_DIRECT: 0o200000,
    O_LARGEFILE: 0o400000,
  },
};

/** This machine's table (by `Deno.build.arch`). */
export function abi(): LinuxAbi {
  return LINUX_ABI[Deno.build.arch];
}
