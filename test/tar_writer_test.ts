import assert from "node:assert/strict";
import { ArchiveError, InvalidArgError } from "../lib/errors.ts";
import { encodePaxRecords, parsePaxRecords } from "../lib/storage/tar/pax.ts";
import { libc, S_IFCHR } from "../lib/sys/libc.ts";
import { extractLayer } from "../lib/storage/tar/extract.ts";
import { fileStream } from "../lib/storage/tar/source.ts";
import { TarWriteError, TarWriter } from "../lib/storage/tar/writer.ts";
import { writeTree } from "../lib/storage/tar/tree.ts";
import {
  BINARY_XATTR,
  buildSampleTree,
  LONG_DIR,
  LONG_FILE,
  run,
  setMtime,
  snapshotTree,
} from "./helpers/tar_fixtures.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const needsRoot = Deno.uid() !== 0;

/** Writes `root` with writeTree into a tar file and returns its path. */
function writeTreeToFile(
  root: string,
  tar: string,
  options?: Parameters<typeof writeTree>[2],
): TarWriter {
  const out = Deno.openSync(tar, { write: true, create: true, truncate: true });
  try {
    const writer = new TarWriter((chunk) => {
      for (let at = 0; at < chunk.length;) at += out.writeSync(chunk.subarray(at));
    });
    writeTree(root, writer, options);
    writer.finish();
    return writer;
  } finally {
    out.close();
  }
}

function withWork(fn: (work: string) => void | Promise<void>): Promise<void> {
  return withTempDir("denopod-tar-writer-", fn);
}

/** GNU tar's verbose listing, with numeric owners and full times. */
async function listing(tar: string): Promise<string[]> {
  const out = await run("tar", ["--numeric-owner", "--full-time", "--utc", "-tvf", tar]);
  return out.trimEnd().split("\n");
}

Deno.test({
  name: "writeTree output lists in GNU tar exactly like GNU tar's own archive of the tree",
  ignore: needsRoot,
  async fn() {
    await withWork(async (work) => {
      const src = `${work}/src`;
      Deno.mkdirSync(src);
      buildSampleTree(src);
      const ours = `${work}/ours.tar`;
      const writer = writeTreeToFile(src, ours);
      assert.equal(writer.bytesWritten, Deno.statSync(ours).size);
      const gnu = `${work}/gnu.tar`;
      await run("tar", ["--sort=name", "--numeric-owner", "-C", src, "-cf", gnu, "."]);
      // GNU tar emits the root as "./" and prefixes every name with "./"; we do neither.
      const expected = (await listing(gnu))
        .filter((line) => !line.endsWith(" ./"))
        .map((line) => line.replaceAll(" ./", " "));
      assert.deepEqual(await listing(ours), expected);
      assert.ok(expected.some((l) => l.includes(`${LONG_DIR}/${LONG_FILE}`)));
      assert.ok(expected.some((l) => l.includes("dir/hard link to dir/file.txt")));
    });
  },
});

Deno.test({
  name: "writeTree output extracts with GNU tar to the same tree, xattrs and hard links included",
  ignore: needsRoot,
  async fn() {
    await withWork(async (work) => {
      const src = `${work}/src`;
      Deno.mkdirSync(src);
      buildSampleTree(src);
      const tar = `${work}/ours.tar`;
      writeTreeToFile(src, tar);
      const out = `${work}/out`;
      Deno.mkdirSync(out);
      await run("tar", [
        "--xattrs",
        "--xattrs-include=*",
        "--numeric-owner",
        "-xpf",
        tar,
        "-C",
        out,
      ]);
      assert.deepEqual(snapshotTree(out), snapshotTree(src));
      assert.equal(
        Deno.lstatSync(`${out}/dir/hard`).ino,
        Deno.lstatSync(`${out}/dir/file.txt`).ino,
      );
      assert.deepEqual(libc().lgetxattr(`${out}/dir/file.txt`, "user.x"), BINARY_XATTR);
      assert.equal(Deno.lstatSync(`${out}/suid`).mode! & 0o7777, 0o4755);
      assert.equal(Deno.lstatSync(`${out}/bigid`).uid, 3_000_000);
    });
  },
});

Deno.test({
  name: "writeTree output extracts with extractLayer to the same tree and diff ID",
  ignore: needsRoot,
  async fn() {
    await withWork(async (work) => {
      const src = `${work}/src`;
      Deno.mkdirSync(src);
      buildSampleTree(src);
      const tar = `${work}/ours.tar`;
      writeTreeToFile(src, tar);
      const out = `${work}/out`;
      Deno.mkdirSync(out);
      const result = await extractLayer(fileStream(Deno.openSync(tar)), out);
      assert.deepEqual(snapshotTree(out), snapshotTree(src));
      assert.equal(result.diffId, `sha256:${(await run("sha256sum", [tar])).split(" ")[0]}`);
    });
  },
});

Deno.test({
  name:
    "writeTree with overlayWhiteouts saves whiteouts and opaque dirs that extractLayer restores",
  ignore: needsRoot,
  async fn() {
    await withWork(async (work) => {
      const diff = `${work}/diff`;
      Deno.mkdirSync(`${diff}/etc/opaque`, { recursive: true });
      Deno.writeTextFileSync(`${diff}/etc/opaque/new`, "new\n");
      libc().lsetxattr(
        `${diff}/etc/opaque`,
        "trusted.overlay.opaque",
        new TextEncoder().encode("y"),
      );
      libc().mknod(`${diff}/etc/gone`, S_IFCHR, 0, 0);
      libc().mknod(`${diff}/etc/null`, S_IFCHR | 0o666, 1, 3);
      const tar = `${work}/layer.tar`;
      writeTreeToFile(diff, tar, { overlayWhiteouts: true });
      const names = (await run("tar", ["-tf", tar])).trimEnd().split("\n");
      assert.deepEqual(names, [
        "etc/",
        "etc/.wh.gone",
        "etc/null",
        "etc/opaque/",
        "etc/opaque/.wh..wh..opq",
        "etc/opaque/new",
      ]);
      const verbose = await run("tar", ["--xattrs", "-tvvf", tar]);
      assert.ok(!verbose.includes("trusted.overlay"), "no overlay xattr in the archive");

      const out = `${work}/out`;
      Deno.mkdirSync(out);
      await extractLayer(fileStream(Deno.openSync(tar)), out);
      const gone = Deno.lstatSync(`${out}/etc/gone`);
      assert.ok(gone.isCharDevice);
      assert.equal(gone.rdev, 0);
      assert.equal(Deno.lstatSync(`${out}/etc/null`).rdev, Deno.lstatSync("/dev/null").rdev);
      assert.deepEqual(
        libc().lgetxattr(`${out}/etc/opaque`, "trusted.overlay.opaque"),
        new TextEncoder().encode("y"),
      );
      assert.equal(Deno.readTextFileSync(`${out}/etc/opaque/new`), "new\n");

      // Without the conversion the device stays a device and the xattr is left out.
      const plain = `${work}/plain.tar`;
      writeTreeToFile(diff, plain);
      const plainNames = (await run("tar", ["-tf", plain])).trimEnd().split("\n");
      assert.ok(plainNames.includes("etc/gone"));
      assert.ok(!plainNames.some((n) => n.includes(".wh.")));
    });
  },
});

Deno.test("TarWriter entries with long, non-ASCII names and big ids read back in GNU tar", async () => {
  await withWork(async (work) => {
    const tar = `${work}/api.tar`;
    const out = Deno.openSync(tar, { write: true, create: true });
    const writer = new TarWriter((c) => {
      for (let at = 0; at < c.length;) at += out.writeSync(c.subarray(at));
    }, 4096);
    const base = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
    const longName = `${"x".repeat(200)}/${"y".repeat(200)}`;
    const body = new Uint8Array(10_000).map((_, i) => i & 0xff);
    writer.addEntry({ ...base, name: "d", type: "dir", mode: 0o755 });
    writer.addEntry({ ...base, name: "d/small", type: "file" }, new TextEncoder().encode("hi\n"));
    writer.addEntry({ ...base, name: longName, type: "file" }, body);
    writer.addEntry({ ...base, name: "d/\u00e9t\u00e9", type: "file", uid: 5_000_000 });
    writer.addEntry({ ...base, name: "d/l", type: "symlink", linkname: "z".repeat(300) });
    writer.finish();
    out.close();
    assert.equal(writer.bytesWritten, Deno.statSync(tar).size);
    assert.equal(writer.bytesWritten % 512, 0);
    const lines = await listing(tar);
    assert.equal(lines.length, 5);
    assert.match(lines[0], /^drwxr-xr-x 0\/0 +0 2023-11-14 22:13:20 d\/$/);
    assert.ok(lines[2].endsWith(` ${longName}`), lines[2]);
    assert.match(lines[3], /^-rw-r--r-- 5000000\/0 /);
    assert.ok(lines[4].endsWith(`d/l -> ${"z".repeat(300)}`));
    const x = `${work}/x`;
    Deno.mkdirSync(x);
    await run("tar", ["-xf", tar, "-C", x]);
    assert.deepEqual(Deno.readFileSync(`${x}/${longName}`), body);
    assert.equal(Deno.readTextFileSync(`${x}/d/small`), "hi\n");
    assert.ok(Deno.lstatSync(`${x}/d/\u00e9t\u00e9`).isFile);
  });
});

Deno.test("TarWriter refuses bodies that do not match the entry", () => {
  const writer = new TarWriter(() => {});
  const base = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };
  assert.throws(
    () => writer.addEntry({ ...base, name: "f", type: "file", size: 3 }, new Uint8Array(2)),
    InvalidArgError,
  );
  assert.throws(
    () => writer.addEntry({ ...base, name: "f", type: "file", size: 3 }),
    InvalidArgError,
  );
  assert.throws(
    () => writer.addEntry({ ...base, name: "l", type: "symlink" }, new Uint8Array(1)),
    InvalidArgError,
  );
  writer.finish();
  assert.throws(() => writer.addEntry({ ...base, name: "late", type: "dir" }), InvalidArgError);
});

Deno.test("TarWriter.addFileFromPath throws when the file is shorter than its header says", async () => {
  await withWork((work) => {
    Deno.writeTextFileSync(`${work}/f`, "short");
    const writer = new TarWriter(() => {});
    const header = { name: "f", type: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: 0 };
    assert.throws(
      () => writer.addFileFromPath({ ...header, size: 100 }, `${work}/f`),
      (err) => err instanceof TarWriteError && /shrank while being read/.test(err.message),
    );
    assert.throws(
      () => writer.addFileFromPath({ ...header, size: 5 }, `${work}/missing`),
      (err) => err instanceof TarWriteError && /cannot archive "f"/.test(err.message),
    );
    // An identity no file has: what an lstat of a file since replaced would have returned.
    const before = libc().lstat(`${work}/f`);
    assert.throws(
      () => writer.addFileFromPath({ ...header, size: 5 }, `${work}/f`, `${before.identity}0`),
      (err) => err instanceof TarWriteError && /changed while being read/.test(err.message),
    );
  });
});

Deno.test("writeTree never follows a symlink to a directory", async () => {
  await withWork(async (work) => {
    const src = `${work}/src`;
    Deno.mkdirSync(`${work}/elsewhere`);
    Deno.writeTextFileSync(`${work}/elsewhere/secret`, "secret");
    Deno.mkdirSync(src);
    Deno.symlinkSync(`${work}/elsewhere`, `${src}/link`);
    setMtime(`${src}/link`, 1_000_000_000);
    const tar = `${work}/t.tar`;
    writeTreeToFile(src, tar);
    const names = (await run("tar", ["-tf", tar])).trimEnd().split("\n");
    assert.deepEqual(names, ["link"]);
  });
});

Deno.test("PAX records round-trip binary values and lengths that gain a digit", () => {
  const value = new Uint8Array([0, 0xff, 0x0a, 0x3d, 0x20]);
  const records: [string, string | Uint8Array][] = [
    ["SCHILY.xattr.security.capability", value],
    ["path", "p".repeat(91)], // " path=" + 91 + "\n" = 98 bytes: the length field makes it 100
    ["linkpath", "\u00e9"],
  ];
  const parsed = parsePaxRecords(encodePaxRecords(records));
  assert.deepEqual(parsed.get("SCHILY.xattr.security.capability"), value);
  assert.equal(new TextDecoder().decode(parsed.get("path")), "p".repeat(91));
  assert.equal(new TextDecoder().decode(parsed.get("linkpath")), "\u00e9");
  assert.throws(() => parsePaxRecords(new TextEncoder().encode("99 path=x\n")), ArchiveError);
  assert.throws(() => parsePaxRecords(new TextEncoder().encode("6 abc\n")), ArchiveError);
});

Deno.test("writeTree reports growing progress up to the archive size", async () => {
  await withWork((work) => {
    for (let i = 0; i < 5; i++) Deno.writeFileSync(`${work}/f${i}`, new Uint8Array(3000));
    const seen: number[] = [];
    const writer = new TarWriter(() => {});
    writeTree(work, writer, { onProgress: (bytes) => seen.push(bytes) });
    writer.finish();
    assert.equal(seen.length, 5);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen);
    assert.equal(seen.at(-1), 5 * (512 + 3072));
    assert.equal(writer.bytesWritten, 5 * (512 + 3072) + 1024);
  });
});
