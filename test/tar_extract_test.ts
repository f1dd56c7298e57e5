import assert from "node:assert/strict";
import { libc } from "../lib/sys/libc.ts";
import { extractLayer } from "../lib/storage/tar/extract.ts";
import { fileStream } from "../lib/storage/tar/source.ts";
import {
  BINARY_XATTR,
  buildSampleTree,
  LONG_DIR,
  LONG_FILE,
  names,
  run,
  sha256Bytes,
  sha256File,
  snapshotTree,
  toHex,
} from "./helpers/tar_fixtures.ts";
import { rawEntry, streamOf, tarBytes } from "./helpers/tar_build.ts";

const needsRoot = Deno.uid() !== 0;

/** Builds the sample tree, archives it with GNU tar in `format`, and hands both paths to `fn`. */
async function withGnuTarball(
  format: "posix" | "gnu",
  fn: (paths: { work: string; src: string; tar: string }) => Promise<void>,
): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "denopod-tar-extract-" });
  try {
    const src = `${work}/src`;
    Deno.mkdirSync(src);
    buildSampleTree(src);
    const tar = `${work}/layer.tar`;
    const xattrs = format === "posix" ? ["--xattrs", "--xattrs-include=*"] : [];
    await run("tar", [
      ...xattrs,
      `--format=${format}`,
      "--numeric-owner",
      "-C",
      src,
      "-cf",
      tar,
      ".",
    ]);
    await fn({ work, src, tar });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

async function extractFile(path: string, dest: string) {
  await Deno.mkdir(dest);
  return await extractLayer(fileStream(await Deno.open(path)), dest);
}

function assertSameTree(dest: string, src: string, options: { xattrs: boolean }) {
  const want = snapshotTree(src);
  const got = snapshotTree(dest);
  if (!options.xattrs) { for (const node of Object.values(want)) node.xattrs = {}; }
  assert.deepEqual(got, want);
}

Deno.test({
  name: "extractLayer restores everything a GNU tar (posix, --xattrs) archive holds",
  ignore: needsRoot,
  async fn() {
    await withGnuTarball("posix", async ({ work, src, tar }) => {
      const dest = `${work}/dest`;
      const result = await extractFile(tar, dest);
      assertSameTree(dest, src, { xattrs: true });
      // Spot checks of what the snapshot compares, the way a user would look.
      const file = Deno.lstatSync(`${dest}/dir/file.txt`);
      assert.equal(file.uid, 1234);
      assert.equal(file.gid, 1234);
      assert.equal(file.mode! & 0o7777, 0o640);
      assert.equal(Deno.lstatSync(`${dest}/dir/hard`).ino, file.ino);
      assert.equal(file.nlink, 2);
      assert.deepEqual(libc().lgetxattr(`${dest}/dir/file.txt`, "user.x"), BINARY_XATTR);
      assert.equal(Deno.lstatSync(`${dest}/suid`).mode! & 0o7777, 0o4755);
      assert.equal(Deno.lstatSync(`${dest}/shared`).mode! & 0o7777, 0o2775);
      assert.equal(Deno.lstatSync(`${dest}/tmp`).mode! & 0o7777, 0o1777);
      assert.ok(Deno.lstatSync(`${dest}/fifo`).isFifo);
      assert.equal(Deno.lstatSync(`${dest}/null`).rdev, Deno.lstatSync("/dev/null").rdev);
      assert.equal(Deno.readLinkSync(`${dest}/abs-dangling`), "/etc/nonexistent/target");
      assert.equal(Deno.readLinkSync(`${dest}/longlink`), "t".repeat(150));
      assert.equal(Deno.readTextFileSync(`${dest}/long/${LONG_DIR}/${LONG_FILE}`), "long\n");
      assert.equal(Deno.lstatSync(`${dest}/bigid`).uid, 3_000_000);
      assert.equal(
        Deno.lstatSync(`${dest}/dir`).mtime!.getTime(),
        Deno.lstatSync(`${src}/dir`).mtime!.getTime(),
      );

      assert.equal(result.diffId, await sha256File(tar));
      const du = await run("du", ["--apparent-size", "-s", "-B1", dest]);
      assert.equal(result.size, Number(du.split("\t")[0]));
      const listed = (await run("tar", ["-tf", tar])).trimEnd().split("\n");
      assert.equal(result.entries, listed.length);
    });
  },
});

Deno.test({
  name: "extractLayer reads GNU-format long names, long link targets and base-256 ids",
  ignore: needsRoot,
  async fn() {
    await withGnuTarball("gnu", async ({ work, src, tar }) => {
      const dest = `${work}/dest`;
      const result = await extractFile(tar, dest);
      assertSameTree(dest, src, { xattrs: false });
      assert.equal(result.diffId, await sha256File(tar));
    });
  },
});

Deno.test({
  name: "extractLayer gives the same tree and diff ID for gzip and zstd compressed layers",
  ignore: needsRoot,
  async fn() {
    await withGnuTarball("posix", async ({ work, src, tar }) => {
      await run("gzip", ["-k", tar]);
      await run("zstd", ["-q", "-k", tar]);
      const plainDiffId = await sha256File(tar);
      for (const [suffix, compressed] of [["gz", `${tar}.gz`], ["zst", `${tar}.zst`]]) {
        const dest = `${work}/dest-${suffix}`;
        const result = await extractFile(compressed, dest);
        assertSameTree(dest, src, { xattrs: true });
        assert.equal(result.diffId, plainDiffId, `${suffix}: diff ID is of the decompressed tar`);
        assert.notEqual(await sha256File(compressed), plainDiffId);
      }
    });
  },
});

Deno.test({
  name: "extractLayer turns .wh.NAME into a char 0:0 whiteout and .wh..wh..opq into an opaque dir",
  ignore: needsRoot,
  async fn() {
    const dest = await Deno.makeTempDir({ prefix: "denopod-tar-wh-" });
    try {
      const tar = tarBytes([
        rawEntry({ name: "a/", type: "5" }),
        rawEntry({ name: "a/keep", body: "stays\n" }),
        // The opaque marker comes after a file of the same layer: that file must stay.
        rawEntry({ name: "a/.wh..wh..opq" }),
        rawEntry({ name: ".wh.gone" }),
        // A whiteout in a directory the archive never listed: the directory is created.
        rawEntry({ name: "b/.wh.sub" }),
        // An opaque marker for a directory that has no entry of its own.
        rawEntry({ name: "c/.wh..wh..opq" }),
      ]);
      const result = await extractLayer(streamOf(tar), dest);
      assert.equal(result.diffId, sha256Bytes(tar));
      assert.deepEqual(await names(dest), ["a", "b", "c", "gone"]);
      assert.deepEqual(await names(`${dest}/a`), ["keep"]);
      assert.equal(Deno.readTextFileSync(`${dest}/a/keep`), "stays\n");
      for (const whiteout of [`${dest}/gone`, `${dest}/b/sub`]) {
        const info = Deno.lstatSync(whiteout);
        assert.ok(info.isCharDevice, `${whiteout} is a char device`);
        assert.equal(info.rdev, 0);
      }
      for (const dir of [`${dest}/a`, `${dest}/c`]) {
        const opaque = libc().lgetxattr(dir, "trusted.overlay.opaque");
        assert.equal(opaque === null ? null : toHex(opaque), toHex(new TextEncoder().encode("y")));
      }
      assert.equal(libc().lgetxattr(`${dest}/b`, "trusted.overlay.opaque"), null);
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  },
});

Deno.test({
  name: "extractLayer keeps .wh. files as plain files when overlayWhiteouts is false",
  ignore: needsRoot,
  async fn() {
    const dest = await Deno.makeTempDir({ prefix: "denopod-tar-wh-" });
    try {
      const tar = tarBytes([
        rawEntry({ name: "a/.wh..wh..opq" }),
        rawEntry({ name: ".wh.gone", body: "x" }),
      ]);
      await extractLayer(streamOf(tar), dest, { overlayWhiteouts: false });
      assert.deepEqual(await names(dest), [".wh.gone", "a"]);
      assert.deepEqual(await names(`${dest}/a`), [".wh..wh..opq"]);
      assert.equal(libc().lgetxattr(`${dest}/a`, "trusted.overlay.opaque"), null);
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  },
});

Deno.test({
  name: "extractLayer lets a later entry replace an earlier one and keeps dirs merged",
  ignore: needsRoot,
  async fn() {
    const dest = await Deno.makeTempDir({ prefix: "denopod-tar-replace-" });
    try {
      const tar = tarBytes([
        rawEntry({ name: "x", body: "first" }),
        rawEntry({ name: "x", type: "2", linkname: "elsewhere" }),
        rawEntry({ name: "x", body: "third" }),
        rawEntry({ name: "d/", type: "5", mode: 0o700 }),
        rawEntry({ name: "d/inner", body: "in" }),
        rawEntry({ name: "d/", type: "5", mode: 0o755, mtime: 1_234_567_890 }),
        rawEntry({ name: "f", body: "file" }),
        rawEntry({ name: "f/", type: "5" }),
      ]);
      const result = await extractLayer(streamOf(tar), dest);
      assert.equal(Deno.readTextFileSync(`${dest}/x`), "third");
      assert.ok(Deno.lstatSync(`${dest}/x`).isFile);
      assert.equal(Deno.readTextFileSync(`${dest}/d/inner`), "in");
      const d = Deno.lstatSync(`${dest}/d`);
      assert.equal(d.mode! & 0o7777, 0o755);
      assert.equal(d.mtime!.getTime(), 1_234_567_890_000);
      assert.ok(Deno.lstatSync(`${dest}/f`).isDirectory);
      const du = await run("du", ["--apparent-size", "-s", "-B1", dest]);
      assert.equal(result.size, Number(du.split("\t")[0]));
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  },
});

Deno.test({
  name: "extractLayer reads a stream cut into tiny chunks the same as a whole one",
  ignore: needsRoot,
  async fn() {
    const body = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    const tar = tarBytes([
      rawEntry({ name: "big", body }),
      rawEntry({ name: "small", body: "s" }),
    ]);
    for (const chunk of [1, 511, 513, 1 << 20]) {
      const dest = await Deno.makeTempDir({ prefix: "denopod-tar-chunks-" });
      try {
        const result = await extractLayer(streamOf(tar, chunk), dest);
        assert.deepEqual(Deno.readFileSync(`${dest}/big`), body);
        assert.equal(Deno.readTextFileSync(`${dest}/small`), "s");
        assert.equal(result.diffId, sha256Bytes(tar));
      } finally {
        await Deno.remove(dest, { recursive: true });
      }
    }
  },
});
