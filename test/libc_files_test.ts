import assert from "node:assert/strict";
import { libc, S_IFCHR, S_IFIFO } from "../lib/sys/libc.ts";
import { SyscallError } from "../lib/errors.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const needsRoot = Deno.uid() !== 0;

function withWork(fn: (work: string) => void | Promise<void>): Promise<void> {
  return withTempDir("denopod-libc-files-", fn);
}

Deno.test({
  name: "libc lstat and fstat tell what Deno.lstatSync tells, for every kind of file",
  ignore: needsRoot,
  async fn() {
    await withWork((work) => {
      const c = libc();
      Deno.writeTextFileSync(`${work}/file`, "twelve bytes");
      Deno.chownSync(`${work}/file`, 1234, 5678); // before chmod: chown clears setuid
      Deno.chmodSync(`${work}/file`, 0o4751);
      Deno.utimeSync(`${work}/file`, 1_000_000_000, 1_234_567_890);
      Deno.linkSync(`${work}/file`, `${work}/hard`);
      Deno.mkdirSync(`${work}/dir`);
      Deno.symlinkSync("file", `${work}/link`);
      c.mknod(`${work}/fifo`, S_IFIFO | 0o600, 0, 0);
      c.mknod(`${work}/null`, S_IFCHR | 0o666, 1, 3);

      const file = c.lstat(`${work}/file`);
      const info = Deno.lstatSync(`${work}/file`);
      assert.equal(file.type, "file");
      assert.equal(file.mode, 0o4751);
      assert.equal(file.uid, 1234);
      assert.equal(file.gid, 5678);
      assert.equal(file.size, 12);
      assert.equal(file.mtime, 1_234_567_890);
      assert.equal(file.nlink, 2);
      assert.equal(file.mtime * 1000, info.mtime?.getTime());
      assert.equal(c.lstat(`${work}/hard`).identity, file.identity);
      assert.notEqual(c.lstat(`${work}/dir`).identity, file.identity);

      const fd = c.openRead(`${work}/file`, true);
      try {
        assert.deepEqual(c.fstat(fd), file);
        const buf = new Uint8Array(64);
        assert.equal(c.read(fd, buf), 12);
        assert.equal(new TextDecoder().decode(buf.subarray(0, 12)), "twelve bytes");
        assert.equal(c.read(fd, buf), 0);
      } finally {
        c.close(fd);
      }

      assert.equal(c.lstat(`${work}/dir`).type, "dir");
      const link = c.lstat(`${work}/link`);
      assert.equal(link.type, "symlink");
      assert.equal(link.size, "file".length);
      assert.equal(c.lstat(`${work}/fifo`).type, "fifo");
      const dev = c.lstat(`${work}/null`);
      assert.equal(dev.type, "char");
      assert.deepEqual([dev.rdevMajor, dev.rdevMinor], [1, 3]);
    });
  },
});

Deno.test("libc openRead refuses a symlink when asked not to follow, and names the path", async () => {
  await withWork((work) => {
    const c = libc();
    Deno.writeTextFileSync(`${work}/file`, "x");
    Deno.symlinkSync("file", `${work}/link`);
    c.close(c.openRead(`${work}/link`, false));
    assert.throws(
      () => c.openRead(`${work}/link`, true),
      (err) => err instanceof SyscallError && err.code === "ELOOP" && err.path === `${work}/link`,
    );
    assert.throws(
      () => c.lstat(`${work}/missing`),
      (err) => err instanceof SyscallError && err.code === "ENOENT",
    );
  });
});

Deno.test("libc flistxattr and llistxattr list the same names", {
  ignore: needsRoot,
}, async () => {
  await withWork((work) => {
    const c = libc();
    Deno.writeTextFileSync(`${work}/file`, "x");
    c.lsetxattr(`${work}/file`, "user.one", new Uint8Array([1]));
    c.lsetxattr(`${work}/file`, "trusted.two", new Uint8Array([2]));
    const fd = c.openRead(`${work}/file`, true);
    try {
      assert.deepEqual(c.flistxattr(fd).sort(), ["trusted.two", "user.one"]);
    } finally {
      c.close(fd);
    }
    assert.deepEqual(c.llistxattr(`${work}/file`).sort(), ["trusted.two", "user.one"]);
  });
});

Deno.test("libc openDirectory lists entries with their types, and opens them relative to it", async () => {
  await withWork((work) => {
    const c = libc();
    Deno.writeTextFileSync(`${work}/file`, "body");
    Deno.mkdirSync(`${work}/dir`);
    Deno.symlinkSync("file", `${work}/link`);
    const listing = c.openDirectory(work);
    try {
      const entries = listing.entries.map((e) => `${e.name}:${e.type}`).sort();
      assert.deepEqual(entries, ["dir:dir", "file:file", "link:symlink"]);
      const fd = c.openRead("file", true, listing.fd);
      try {
        assert.equal(c.fstat(fd).size, 4);
      } finally {
        c.close(fd);
      }
      assert.equal(c.lstat("link", listing.fd).type, "symlink");
      assert.throws(() => c.openRead("link", true, listing.fd), SyscallError);
    } finally {
      listing.close();
    }
    assert.throws(
      () => c.openDirectory(`${work}/file`),
      (err) => err instanceof SyscallError && err.code === "ENOTDIR",
    );
    assert.throws(
      () => c.openDirectory(`${work}/missing`),
      (err) =>
        err instanceof SyscallError && err.code === "ENOENT" && err.path === `${work}/missing`,
    );
  });
});
