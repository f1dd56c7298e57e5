import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ArchiveError } from "../lib/errors.ts";
import { extractLayer, UnsafeArchiveEntryError } from "../lib/storage/tar/extract.ts";
import { fileStream } from "../lib/storage/tar/source.ts";
import { cleanArchivePath, resolveInRoot, UnsafePathError } from "../lib/storage/tar/resolve.ts";
import { concatBytes, paxEntry, rawEntry, streamOf, tarBytes } from "./helpers/tar_build.ts";
import { names, withSandbox } from "./helpers/tar_fixtures.ts";

const needsRoot = Deno.uid() !== 0;

/** Extracts `tar` into the sandbox's dest and returns the rejection, failing if there is none. */
async function refused(
  tar: Uint8Array,
  dest: string,
  options?: Parameters<typeof extractLayer>[2],
): Promise<Error> {
  try {
    await extractLayer(streamOf(tar), dest, options);
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(!err.message.includes("\n"), `one-line message: ${err.message}`);
    return err;
  }
  assert.fail("the archive was accepted");
}

function hostileTest(name: string, fn: Parameters<typeof withSandbox>[0]) {
  Deno.test({ name, ignore: needsRoot, fn: () => withSandbox(fn) });
}

hostileTest("extractLayer clamps ../ names inside the layer", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "../../../../escape.txt", body: "x" }),
    rawEntry({ name: "a/../../b/../../c.txt", body: "y" }),
  ]);
  await extractLayer(streamOf(tar), dest);
  assert.deepEqual(await names(dest), ["c.txt", "escape.txt"]);
});

hostileTest("extractLayer lands absolute names inside the layer", async ({ dest, outside }) => {
  const tar = tarBytes([rawEntry({ name: `${outside}/abs.txt`, body: "x" })]);
  await extractLayer(streamOf(tar), dest);
  assert.equal(Deno.readTextFileSync(`${dest}${outside}/abs.txt`), "x");
});

hostileTest(
  "extractLayer resolves a symlinked parent inside the layer, never on the host",
  async ({ dest, outside }) => {
    const tar = tarBytes([
      rawEntry({ name: "link", type: "2", linkname: outside }),
      rawEntry({ name: "link/file", body: "inside" }),
      rawEntry({ name: "link/canary", body: "overwritten?" }),
    ]);
    await extractLayer(streamOf(tar), dest);
    assert.equal(Deno.readLinkSync(`${dest}/link`), outside);
    assert.equal(Deno.readTextFileSync(`${dest}${outside}/file`), "inside");
    assert.equal(Deno.readTextFileSync(`${dest}${outside}/canary`), "overwritten?");
  },
);

hostileTest("extractLayer refuses a symlink chain that climbs out", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "a", type: "2", linkname: "b" }),
    rawEntry({ name: "b", type: "2", linkname: "c/../../../../../.." }),
    rawEntry({ name: "c/", type: "5" }),
    rawEntry({ name: "a/pwned", body: "x" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError, String(err));
  assert.match(err.message, /^archive entry "a\/pwned": .*climbs out of the root/);
});

hostileTest("extractLayer refuses a symlink loop", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "x", type: "2", linkname: "y" }),
    rawEntry({ name: "y", type: "2", linkname: "x" }),
    rawEntry({ name: "x/file", body: "x" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.match(err.message, /too many levels of symbolic links/);
});

hostileTest(
  "extractLayer replaces a symlink with a file instead of writing through it",
  async ({ dest, canary }) => {
    const tar = tarBytes([
      rawEntry({ name: "evil", type: "2", linkname: canary }),
      rawEntry({ name: "evil", body: "replaced", mode: 0o777 }),
      rawEntry({ name: "evildir", type: "2", linkname: canary }),
      rawEntry({ name: "evildir/", type: "5", mode: 0o700 }),
    ]);
    await extractLayer(streamOf(tar), dest);
    assert.ok(Deno.lstatSync(`${dest}/evil`).isFile);
    assert.equal(Deno.readTextFileSync(`${dest}/evil`), "replaced");
    assert.ok(Deno.lstatSync(`${dest}/evildir`).isDirectory);
    assert.equal(Deno.lstatSync(canary).mode! & 0o777, 0o644);
  },
);

hostileTest("extractLayer refuses a hard link to /etc/passwd", async ({ dest }) => {
  const tar = tarBytes([rawEntry({ name: "passwd", type: "1", linkname: "/etc/passwd" })]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.equal(
    err.message,
    'archive entry "passwd": hard link target "/etc/passwd" is not an earlier entry of this layer',
  );
});

hostileTest("extractLayer refuses a hard link to ../x", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "x", body: "inside" }),
    rawEntry({ name: "link", type: "1", linkname: "../x" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.equal(err.message, 'archive entry "link": hard link target escapes the layer');
});

hostileTest("extractLayer refuses a hard link to a directory", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "d/", type: "5" }),
    rawEntry({ name: "link", type: "1", linkname: "d" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.match(err.message, /hard link target "d" is a directory/);
});

hostileTest("extractLayer refuses a hard link to a later entry", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "link", type: "1", linkname: "later" }),
    rawEntry({ name: "later", body: "x" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.match(err.message, /hard link target "later" is not an earlier entry of this layer/);
});

hostileTest(
  "extractLayer hard-links a symlink itself, never the host file it points to",
  async ({ dest, canary }) => {
    const tar = tarBytes([
      rawEntry({ name: "s", type: "2", linkname: canary }),
      rawEntry({ name: "link", type: "1", linkname: "s" }),
    ]);
    // "s" is an earlier entry, but a hard link to it links the symlink itself, never the canary.
    await extractLayer(streamOf(tar), dest);
    assert.ok(Deno.lstatSync(`${dest}/link`).isSymlink);
    assert.equal(Deno.lstatSync(canary).nlink, 1);
  },
);

hostileTest("extractLayer clamps a PAX path override with ..", async ({ dest }) => {
  const tar = tarBytes([
    paxEntry({ path: "../../../pax-escape.txt" }),
    rawEntry({ name: "harmless.txt", body: "x" }),
  ]);
  await extractLayer(streamOf(tar), dest);
  assert.deepEqual(await names(dest), ["pax-escape.txt"]);
});

hostileTest("extractLayer refuses the whiteout names .wh. and .wh..", async ({ dest }) => {
  for (const name of [".wh.", "a/.wh..", ".wh..."]) {
    const tar = tarBytes([rawEntry({ name })]);
    const err = await refused(tar, dest);
    assert.ok(err instanceof UnsafeArchiveEntryError, `${name}: ${err}`);
    assert.match(err.message, /invalid whiteout name/);
    await Deno.remove(dest, { recursive: true });
    await Deno.mkdir(dest);
  }
});

hostileTest("extractLayer refuses a whiteout under an escaping symlink", async ({ dest }) => {
  const tar = tarBytes([
    rawEntry({ name: "esc", type: "2", linkname: "../../../../etc" }),
    rawEntry({ name: "esc/.wh.passwd" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.match(err.message, /^archive entry "esc\/.wh.passwd": /);
});

hostileTest("extractLayer refuses a whiteout under any symlink", async ({ dest, outside }) => {
  const tar = tarBytes([
    rawEntry({ name: "abs", type: "2", linkname: outside }),
    rawEntry({ name: "abs/.wh.canary" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof UnsafeArchiveEntryError);
  assert.match(err.message, /goes through a symlink/);
});

hostileTest("extractLayer refuses a PAX header over the limit", async ({ dest }) => {
  const tar = tarBytes([
    paxEntry({ comment: "A".repeat(2 * 1024 * 1024) }),
    rawEntry({ name: "f", body: "x" }),
  ]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /PAX header of \d+ bytes is over the limit of 1048576/);
});

hostileTest("extractLayer refuses more entries than the limit", async ({ dest }) => {
  const tar = tarBytes(Array.from({ length: 5 }, (_, i) => rawEntry({ name: `f${i}` })));
  const err = await refused(tar, dest, { limits: { maxEntries: 3 } });
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /more than the limit of 3 entries/);
});

hostileTest("extractLayer refuses names and totals over the limits", async ({ dest }) => {
  const long = tarBytes([paxEntry({ path: "a/".repeat(3000) + "f" }), rawEntry({ name: "f" })]);
  assert.match((await refused(long, dest)).message, /name is longer than the limit of 4096/);
  const big = tarBytes([rawEntry({ name: "f", body: "x".repeat(2000) })]);
  const err = await refused(big, dest, { limits: { maxTotalBytes: 1000 } });
  assert.match(err.message, /more than the limit of 1000 bytes/);
});

hostileTest("extractLayer rejects a stream that is not tar", async ({ dest }) => {
  const text = new TextEncoder().encode("this is not a tarball\n".repeat(100));
  const err = await refused(text, dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /not a valid tar archive/);
  assert.match((await refused(new Uint8Array(0), dest)).message, /archive is empty/);
});

hostileTest("extractLayer rejects a tar cut in the middle of a body", async ({ dest }) => {
  const tar = tarBytes([rawEntry({ name: "f", body: "x".repeat(5000) })]);
  const err = await refused(tar.subarray(0, 512 + 3000), dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /truncated/);
});

hostileTest("extractLayer rejects a header with a bad checksum", async ({ dest }) => {
  const tar = tarBytes([rawEntry({ name: "f", body: "x" })]);
  tar[0] ^= 0x01;
  const err = await refused(tar, dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /not a valid tar archive/);
});

hostileTest("extractLayer rejects corrupt and truncated gzip", async ({ dest }) => {
  const corrupt = concatBytes(
    new Uint8Array([0x1f, 0x8b, 0x08, 0x00]),
    new Uint8Array(4096).fill(7),
  );
  const err = await refused(corrupt, dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /^corrupt gzip data/);
  const gz = gzipSync(tarBytes([rawEntry({ name: "f", body: "x".repeat(100_000) })]));
  const cut = await refused(gz.subarray(0, gz.length - 100), dest);
  assert.ok(cut instanceof ArchiveError);
});

hostileTest("extractLayer refuses unsupported entry types", async ({ dest }) => {
  const tar = tarBytes([rawEntry({ name: "sparse", type: "S", body: "x" })]);
  const err = await refused(tar, dest);
  assert.ok(err instanceof ArchiveError);
  assert.match(err.message, /unsupported entry type/);
});

hostileTest("extractLayer drops overlay and SELinux xattrs from archives", async ({ dest }) => {
  const tar = tarBytes([
    paxEntry({
      "SCHILY.xattr.trusted.overlay.opaque": "y",
      "SCHILY.xattr.user.overlay.opaque": "y",
      "SCHILY.xattr.security.selinux": "system_u:object_r:etc_t:s0",
      "SCHILY.xattr.user.kept": "yes",
    }),
    rawEntry({ name: "d/", type: "5" }),
  ]);
  await extractLayer(streamOf(tar), dest);
  const { libc } = await import("../lib/sys/libc.ts");
  assert.deepEqual(libc().llistxattr(`${dest}/d`).sort(), ["user.kept"]);
});

Deno.test({
  name: "extractLayer stops and cancels the source when the signal aborts",
  ignore: needsRoot,
  async fn() {
    await withSandbox(async ({ dest }) => {
      const controller = new AbortController();
      let cancelled = false;
      const first = rawEntry({ name: "f", body: "x" });
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(first);
        },
        pull() {
          controller.abort(new ArchiveError("stopped by the test"));
          return new Promise(() => {}); // never delivers more
        },
        cancel() {
          cancelled = true;
        },
      });
      const err = await extractLayer(source, dest, { signal: controller.signal }).then(
        () => assert.fail("the extraction finished"),
        (e) => e,
      );
      assert.equal(err.message, "stopped by the test");
      assert.ok(cancelled);
    });
  },
});

Deno.test({
  name: "extractLayer rejects with the AbortError when aborted in the middle of a body",
  ignore: needsRoot,
  async fn() {
    await withSandbox(async ({ dest }) => {
      const controller = new AbortController();
      const entry = rawEntry({ name: "big", body: new Uint8Array(100_000) });
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(entry.subarray(0, 50_000));
        },
        pull() {
          controller.abort();
          return new Promise(() => {});
        },
      });
      const err = await extractLayer(source, dest, { signal: controller.signal }).then(
        () => assert.fail("the extraction finished"),
        (e) => e,
      );
      assert.ok(err instanceof DOMException && err.name === "AbortError", String(err));
    });
  },
});

Deno.test({
  name: "extractLayer closes the archive file when a corrupt or truncated one is refused",
  ignore: needsRoot,
  async fn() {
    await withSandbox(async ({ dest, outside }) => {
      const good = tarBytes([rawEntry({ name: "f", body: "x".repeat(100_000) })]);
      const cases: [string, Uint8Array][] = [
        ["truncated.tar", good.subarray(0, 20_000)],
        ["corrupt.tar.gz", concatBytes(gzipSync(good).subarray(0, 50), new Uint8Array(500))],
        ["truncated.tar.gz", gzipSync(good).subarray(0, 60)],
        // Failing long before the end: the file must be closed by cancelling the stream.
        ["garbage.tar", new Uint8Array(3 * 1024 * 1024).fill(0x41)],
        [
          "garbage.tar.gz",
          concatBytes(new Uint8Array([0x1f, 0x8b, 8, 0]), new Uint8Array(3 << 20)),
        ],
        ["bad-entry.tar", tarBytes([rawEntry({ name: "a", type: "1", linkname: "b" }), good])],
      ];
      for (const [name, bytes] of cases) {
        const path = `${outside}/${name}`;
        Deno.writeFileSync(path, bytes);
        const err = await refused(bytes, dest);
        assert.ok(err instanceof ArchiveError, `${name}: ${err}`);
        await Deno.remove(dest, { recursive: true });
        await Deno.mkdir(dest);
        const fdsBefore = openDescriptors();
        const viaFile = await extractLayer(fileStream(Deno.openSync(path)), `${dest}`).then(
          () => assert.fail(`${name} was accepted`),
          (e) => e,
        );
        assert.ok(viaFile instanceof ArchiveError, `${name}: ${viaFile}`);
        assert.deepEqual(openDescriptors(), fdsBefore, `${name}: the archive file was left open`);
        Deno.removeSync(path);
        await Deno.remove(dest, { recursive: true });
        await Deno.mkdir(dest);
      }
    });
  },
});

/** The file descriptors this process holds open, by number, and what they point at. */
function openDescriptors(): string[] {
  const fds: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      fds.push(`${e.name} -> ${Deno.readLinkSync(`/proc/self/fd/${e.name}`)}`);
    } catch {
      // the descriptor readDirSync itself used is gone already
    }
  }
  return fds.sort();
}

Deno.test("resolveInRoot expands symlinks within the root and refuses climbs and loops", async () => {
  const root = await Deno.makeTempDir({ prefix: "denopod-resolve-" });
  try {
    Deno.mkdirSync(`${root}/usr/lib`, { recursive: true });
    Deno.symlinkSync("usr/lib", `${root}/lib`);
    Deno.symlinkSync("/usr", `${root}/abs`);
    Deno.symlinkSync("../..", `${root}/usr/up`);
    Deno.symlinkSync("loop2", `${root}/loop1`);
    Deno.symlinkSync("loop1", `${root}/loop2`);
    Deno.writeTextFileSync(`${root}/file`, "");
    assert.equal(resolveInRoot(root, "lib/libc.so").path, `${root}/usr/lib/libc.so`);
    assert.equal(resolveInRoot(root, "/abs/lib/x").path, `${root}/usr/lib/x`);
    assert.equal(resolveInRoot(root, "../../lib").path, `${root}/lib`);
    assert.equal(resolveInRoot(root, "lib", { followFinal: true }).path, `${root}/usr/lib`);
    assert.deepEqual(cleanArchivePath("../a/./b/../c/"), {
      components: ["a", "c"],
      climbedAboveRoot: true,
    });
    const kind = (name: string) => {
      try {
        resolveInRoot(root, name);
        return "resolved";
      } catch (err) {
        assert.ok(err instanceof UnsafePathError);
        return err.kind;
      }
    };
    assert.equal(kind("usr/up/x"), "escape");
    assert.equal(kind("loop1/x"), "loop");
    assert.equal(kind("file/x"), "not-a-directory");
    assert.equal(kind("missing/x"), "missing");
    const made = resolveInRoot(root, "new/deeper/x", { createParents: true });
    assert.deepEqual(made.createdDirectories, ["new", "new/deeper"]);
    assert.ok(Deno.lstatSync(`${root}/new/deeper`).isDirectory);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
