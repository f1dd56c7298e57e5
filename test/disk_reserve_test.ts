import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { InvalidArgError } from "../lib/errors.ts";
import { writeDockerArchive } from "../lib/storage/archive/writer.ts";
import { MIN_FREE_ENV, reserveBytes } from "../lib/storage/tar/disk_reserve.ts";
import { openGzipCompressor } from "../lib/sys/compression.ts";
import { mountFs, unmount } from "../lib/sys/mount.ts";
import { statfs } from "../lib/sys/statfs.ts";
import { denopod, IS_ROOT, layerDirs, listDir, type Roots, withRoots } from "./helpers/denopod.ts";

const MiB = 1024 * 1024;
const TMPFS_BYTES = 64 * MiB;
const RESERVE = "8M";

Deno.test("reserveBytes reads sizes and percentages, and defaults to 5% or 1 GiB", () => {
  assert.equal(reserveBytes(100 * MiB, undefined), 5 * MiB);
  assert.equal(reserveBytes(1024 * 1024 * MiB, undefined), 1024 * MiB);
  assert.equal(reserveBytes(100 * MiB, "8M"), 8 * MiB);
  assert.equal(reserveBytes(100 * MiB, "2GiB"), 2048 * MiB);
  assert.equal(reserveBytes(100 * MiB, "4096"), 4096);
  assert.equal(reserveBytes(100 * MiB, "10%"), 10 * MiB);
  assert.equal(reserveBytes(100 * MiB, "0"), 0);
  for (const bad of ["lots", "-1M", "150%", "1.5G"]) {
    assert.throws(() => reserveBytes(100 * MiB, bad), InvalidArgError);
  }
});

Deno.test("statfs reports the size and free space of a tmpfs", { ignore: !IS_ROOT }, async () => {
  await withTmpfs(async (dir) => {
    const before = statfs(dir);
    assert.equal(before.totalBytes, TMPFS_BYTES);
    await Deno.writeFile(join(dir, "f"), new Uint8Array(4 * MiB));
    assert.equal(statfs(dir).availableBytes, before.availableBytes - 4 * MiB);
  });
});

Deno.test(
  "import refuses a gzip bomb on a 64 MiB tmpfs root, leaving nothing, and imports a zero file that fits",
  { ignore: !IS_ROOT },
  () =>
    withTmpfsRoots(async (roots) => {
      const bomb = join(roots.dir, "bomb.tar.gz");
      await writeZeroLayer(bomb, 512 * MiB); // about 0.5 MB that inflates to 512 MiB
      assert.ok((await Deno.stat(bomb)).size < MiB);
      const refused = await denopod(roots, ["import", bomb, "bomb:1"], { env: reserveEnv() });
      assert.equal(refused.code, 125, refused.stderr);
      assert.equal(refused.stdout, "");
      assert.match(
        refused.stderr,
        new RegExp(
          `^Error: layer of ${bomb}: stopped with [0-9.]+ MiB free under ${roots.root}, below the reserve of 8 MiB \\(${MIN_FREE_ENV}\\)\\n$`,
        ),
      );
      await assertNothingLeft(roots);

      const fits = join(roots.dir, "fits.tar.gz");
      await writeZeroLayer(fits, 24 * MiB);
      const imported = await denopod(roots, ["import", fits, "fits:1"], { env: reserveEnv() });
      assert.equal(imported.code, 0, imported.stderr);
      const layers = layerDirs(roots);
      assert.equal(layers.length, 1);
      const zeros = await Deno.stat(join(roots.root, "layers", layers[0], "diff", "zeros"));
      assert.equal(zeros.size, 24 * MiB);
    }),
);

Deno.test(
  "load refuses a docker-archive whose layer is a gzip bomb, naming the layer, leaving nothing",
  { ignore: !IS_ROOT },
  () =>
    withTmpfsRoots(async (roots) => {
      const layer = join(roots.dir, "bomb.tar.gz");
      const diffId = await writeZeroLayer(layer, 512 * MiB);
      const archive = join(roots.dir, "bomb-archive.tar");
      const config = new TextEncoder().encode(JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [diffId] },
      }));
      const out = Deno.openSync(archive, { write: true, create: true, truncate: true });
      try {
        writeDockerArchive(
          [{
            names: ["localhost/bomb:1"],
            configBytes: config,
            layers: [{ diffId, tarPath: layer, size: Deno.statSync(layer).size }],
          }],
          (bytes) => {
            for (let at = 0; at < bytes.length;) at += out.writeSync(bytes.subarray(at));
          },
          { verifyLayers: false },
        );
      } finally {
        out.close();
      }
      const refused = await denopod(roots, ["load", "-q", "-i", archive], { env: reserveEnv() });
      assert.equal(refused.code, 125, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(
          `^Error: layer ${diffId}: stopped with [0-9.]+ MiB free under ${roots.root}, below the reserve of 8 MiB \\(${MIN_FREE_ENV}\\)\\n$`,
        ),
      );
      await assertNothingLeft(roots);
    }),
);

function reserveEnv(): Record<string, string> {
  return { [MIN_FREE_ENV]: RESERVE };
}

/** No layer directory, no layer or image row, no scratch file; the tmpfs is empty again. */
async function assertNothingLeft(roots: Roots): Promise<void> {
  const layersDir = join(roots.root, "layers");
  assert.deepEqual(listDirOrEmpty(layersDir).filter((name) => name !== "l"), []);
  assert.deepEqual(listDirOrEmpty(join(roots.root, "tmp")), []);
  const images = await denopod(roots, ["images", "-q"]);
  assert.equal(images.code, 0, images.stderr);
  assert.equal(images.stdout, "");
  // What is left is the database and directories: a few hundred KiB at most.
  assert.ok(statfs(roots.root).availableBytes > TMPFS_BYTES - 2 * MiB);
}

function listDirOrEmpty(path: string): string[] {
  try {
    return listDir(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** Fresh roots whose `--root` is a 64 MiB tmpfs, unmounted afterwards whatever happens. */
function withTmpfsRoots(fn: (roots: Roots) => Promise<void>): Promise<void> {
  return withRoots(async (roots) => {
    await Deno.mkdir(roots.root, { recursive: true });
    mountFs({
      type: "tmpfs",
      source: "tmpfs",
      target: roots.root,
      flags: 0,
      data: `size=${TMPFS_BYTES},mode=0700`,
    });
    try {
      await fn(roots);
    } finally {
      unmount(roots.root, { detach: true, ignoreNotMounted: true });
    }
  });
}

async function withTmpfs(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-statfs-" });
  try {
    mountFs({ type: "tmpfs", source: "tmpfs", target: dir, flags: 0, data: `size=${TMPFS_BYTES}` });
    try {
      await fn(dir);
    } finally {
      unmount(dir, { detach: true, ignoreNotMounted: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Writes a gzip layer holding one file, `zeros`, of `size` zero bytes (a well-compressing layer,
 * or a bomb when it is far larger than the disk) and returns its diff ID.
 */
async function writeZeroLayer(path: string, size: number): Promise<string> {
  const gzip = openGzipCompressor(9);
  assert.ok(gzip, "libz is needed to build the test layer");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const hash = createHash("sha256");
  const sink = (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
  };
  const put = (bytes: Uint8Array) => {
    hash.update(bytes);
    gzip.write(bytes, sink);
  };
  try {
    put(fileHeader("zeros", size));
    const zeros = new Uint8Array(MiB);
    for (let left = size; left > 0; left -= MiB) put(zeros.subarray(0, Math.min(MiB, left)));
    put(new Uint8Array((512 - size % 512) % 512 + 1024)); // padding, end of archive
    gzip.finish(sink);
  } finally {
    file.close();
  }
  return `sha256:${hash.digest("hex")}`;
}

/** A ustar header block for a regular file. */
function fileHeader(name: string, size: number): Uint8Array {
  const block = new Uint8Array(512);
  const put = (offset: number, text: string) => block.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, "00000000000\0");
  block[156] = 0x30;
  put(257, "ustar\x0000");
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}
