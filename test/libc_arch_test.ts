/**
 * The per-architecture ABI table (`lib/sys/abi.ts`) against the C headers. On this machine a tiny
 * C program, compiled here with gcc, prints every value and layout the table holds for this
 * architecture (from glibc's `<fcntl.h>`, `<sys/stat.h>`, `<sys/mount.h>`, ... and, for the open
 * flags glibc rewrites, the kernel's own `<asm/fcntl.h>`), and they must agree.
 *
 * The other architecture cannot be compiled for here (no cross compiler or arm64 headers), so its
 * open flags are checked against the values as written in the kernel's headers:
 * `arch/arm64/include/uapi/asm/fcntl.h` (O_DIRECTORY 040000, O_NOFOLLOW 0100000, O_DIRECT
 * 0200000, O_LARGEFILE 0400000) and, for x86_64, `include/uapi/asm-generic/fcntl.h` (O_DIRECT
 * 040000, O_LARGEFILE 0100000, O_DIRECTORY 0200000, O_NOFOLLOW 0400000); the rest of both tables
 * is asm-generic's, which arm64 uses unchanged (as do `struct statx` and
 * `struct linux_dirent64`, built from fixed-size fields only).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LINUX_ABI, type LinuxAbi } from "../lib/sys/abi.ts";
import { errnoName, libc } from "../lib/sys/libc.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const HAS_GCC = (() => {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** The errno names `libc.ts` reports, each checked against `<errno.h>`. */
const ERRNOS = [
  "EPERM",
  "ENOENT",
  "ESRCH",
  "EINTR",
  "EIO",
  "EBADF",
  "EAGAIN",
  "ENOMEM",
  "EACCES",
  "EBUSY",
  "EEXIST",
  "EXDEV",
  "ENODEV",
  "ENOTDIR",
  "EISDIR",
  "EINVAL",
  "EMFILE",
  "ENOSPC",
  "EROFS",
  "ERANGE",
  "ENAMETOOLONG",
  "ENOTEMPTY",
  "ELOOP",
  "ENODATA",
  "EOPNOTSUPP",
];

/** Open flags whose values glibc does not pass through as the kernel's (O_LARGEFILE is 0). */
const KERNEL_OPEN_FLAGS = ["O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW"];

/** The C source that prints `NAME VALUE` for every plain number of the table. */
function glibcProgram(table: LinuxAbi): string {
  const prints: string[] = [];
  for (const [name, value] of Object.entries(table)) {
    if (typeof value !== "number" || name === "O_LARGEFILE") continue;
    prints.push(`  printf("%s %ld\\n", "${name}", (long)(${name}));`);
  }
  for (const field of Object.keys(table.dirent64)) {
    prints.push(
      `  printf("dirent64.%s %ld\\n", "${field}", (long)offsetof(struct dirent64, ${field}));`,
    );
  }
  for (const field of Object.keys(table.statx)) {
    const value = field === "size" ? "sizeof(struct statx)" : `offsetof(struct statx, ${field})`;
    prints.push(`  printf("statx.%s %ld\\n", "${field}", (long)(${value}));`);
  }
  for (const name of ERRNOS) prints.push(`  printf("errno.%s %d\\n", "${name}", ${name});`);
  return `#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
int main(void) {
${prints.join("\n")}
  return 0;
}
`;
}

/** The C source that prints the kernel's own values of {@linkcode KERNEL_OPEN_FLAGS}. */
function kernelProgram(): string {
  return `#include <asm/fcntl.h>
#include <stdio.h>
int main(void) {
${KERNEL_OPEN_FLAGS.map((name) => `  printf("%s %ld\\n", "${name}", (long)${name});`).join("\n")}
  return 0;
}
`;
}

/** Compiles and runs `source`; returns what it printed as name → value. */
async function runC(dir: string, name: string, source: string): Promise<Map<string, number>> {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  await Deno.writeTextFile(c, source);
  const built = await new Deno.Command("gcc", { args: ["-o", exe, c], stderr: "piped" }).output();
  assert.ok(built.success, new TextDecoder().decode(built.stderr));
  const ran = await new Deno.Command(exe, { stdout: "piped" }).output();
  assert.ok(ran.success);
  const values = new Map<string, number>();
  for (const line of new TextDecoder().decode(ran.stdout).trim().split("\n")) {
    const [key, value] = line.split(" ");
    values.set(key, Number(value));
  }
  return values;
}

Deno.test(
  `the ABI table for this machine (${Deno.build.arch}) holds what its C headers say`,
  { ignore: !HAS_GCC },
  () =>
    withTempDir("denopod-abi-", async (dir) => {
      const table = LINUX_ABI[Deno.build.arch];
      const fromGlibc = await runC(dir, "glibc", glibcProgram(table));
      const fromKernel = await runC(dir, "kernel", kernelProgram());
      for (const [name, value] of Object.entries(table)) {
        if (typeof value === "number") {
          const header = KERNEL_OPEN_FLAGS.includes(name) ? fromKernel : fromGlibc;
          assert.equal(value, header.get(name), `${name}`);
        } else {
          for (const [field, offset] of Object.entries(value as Record<string, number>)) {
            assert.equal(offset, fromGlibc.get(`${name}.${field}`), `${name}.${field}`);
          }
        }
      }
      // glibc passes the flags it defines straight through: they must be the kernel's
      for (const name of ["O_DIRECT", "O_DIRECTORY", "O_NOFOLLOW"]) {
        assert.equal(fromGlibc.get(name), fromKernel.get(name), name);
      }
      for (const name of ERRNOS) assert.equal(errnoName(fromGlibc.get(`errno.${name}`)!), name);
    }),
);

Deno.test("the aarch64 and x86_64 open flags are the ones their kernel headers define", () => {
  // arch/arm64/include/uapi/asm/fcntl.h
  assert.equal(LINUX_ABI.aarch64.O_DIRECTORY, 0o40000);
  assert.equal(LINUX_ABI.aarch64.O_NOFOLLOW, 0o100000);
  assert.equal(LINUX_ABI.aarch64.O_DIRECT, 0o200000);
  assert.equal(LINUX_ABI.aarch64.O_LARGEFILE, 0o400000);
  // include/uapi/asm-generic/fcntl.h, which x86 includes unchanged
  assert.equal(LINUX_ABI.x86_64.O_DIRECT, 0o40000);
  assert.equal(LINUX_ABI.x86_64.O_LARGEFILE, 0o100000);
  assert.equal(LINUX_ABI.x86_64.O_DIRECTORY, 0o200000);
  assert.equal(LINUX_ABI.x86_64.O_NOFOLLOW, 0o400000);
  // x86_64's "do not follow" is arm64's O_LARGEFILE: a hard-coded value would lose it there
  assert.equal(LINUX_ABI.x86_64.O_NOFOLLOW, LINUX_ABI.aarch64.O_LARGEFILE);
  // everything else is asm-generic's on both (and so are the two structures' layouts)
  const rest = (abi: LinuxAbi) => {
    const copy: Record<string, unknown> = { ...abi };
    for (const name of ["O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW"]) delete copy[name];
    return copy;
  };
  assert.deepEqual(rest(LINUX_ABI.aarch64), rest(LINUX_ABI.x86_64));
  assert.equal(LINUX_ABI.aarch64.O_CREAT, 0o100);
  assert.equal(LINUX_ABI.aarch64.O_NONBLOCK, 0o4000);
  assert.equal(LINUX_ABI.aarch64.O_CLOEXEC, 0o2000000);
  assert.equal(LINUX_ABI.aarch64.O_PATH, 0o10000000);
  assert.equal(LINUX_ABI.aarch64.AT_SYMLINK_NOFOLLOW, 0x100);
});

Deno.test("libc refuses to follow a symlink with this machine's O_NOFOLLOW", () =>
  withTempDir("denopod-abi-", async (dir) => {
    await Deno.writeTextFile(join(dir, "target"), "x");
    await Deno.symlink("target", join(dir, "link"));
    const c = libc();
    c.close(c.openRead(join(dir, "link"), false));
    assert.throws(() => c.openRead(join(dir, "link"), true), /ELOOP/);
    // a directory entry opened as a directory without following: a symlink is refused
    await Deno.symlink(".", join(dir, "dirlink"));
    const listing = c.openDirectory(dir);
    try {
      assert.throws(() => c.openDirectoryAt("dirlink", listing.fd), /ELOOP|ENOTDIR/);
    } finally {
      listing.close();
    }
  }));
