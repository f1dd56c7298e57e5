import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { extractLayer } from "../lib/storage/tar/extract.ts";
import { fileStream } from "../lib/storage/tar/source.ts";
import {
  replayTarSplit,
  TAR_SPLIT_BODIES_DIR,
  TAR_SPLIT_FILE,
  TarSplitError,
  TarSplitRecorder,
} from "../lib/storage/tar/split.ts";
import { openImageArchive } from "../lib/storage/archive/reader.ts";
import {
  concatBytes,
  endOfArchive,
  paxEntry,
  rawEntry,
  streamOf,
  tarBytes,
} from "./helpers/tar_build.ts";
import { buildSampleTree, run, sha256Bytes } from "./helpers/tar_fixtures.ts";
import { DOCKER_FIXTURE, MULTI_FIXTURE, OCI_FIXTURE } from "./helpers/archive_fixtures.ts";
import { busyboxRootfsTar } from "./helpers/denopod.ts";

const AS_ROOT = { ignore: Deno.uid() !== 0 };

async function withLayerDir(fn: (layerDir: string) => Promise<void>): Promise<void> {
  const layerDir = await Deno.makeTempDir({ prefix: "denopod-split-" });
  try {
    await Deno.mkdir(join(layerDir, "diff"));
    await fn(layerDir);
  } finally {
    await Deno.remove(layerDir, { recursive: true });
  }
}

/** Extracts `source` with a recorder, replays the split and returns both diff IDs and the bytes. */
async function roundTrip(
  layerDir: string,
  source: ReadableStream<Uint8Array>,
): Promise<{ extracted: string; replayed: string; bytes: Uint8Array }> {
  const recorder = new TarSplitRecorder(layerDir);
  const { diffId } = await extractLayer(source, join(layerDir, "diff"), { recorder });
  recorder.finish();
  const chunks: Uint8Array[] = [];
  const result = await replayTarSplit(layerDir, (chunk) => chunks.push(chunk.slice()));
  const bytes = concatBytes(...chunks);
  assert.equal(result.size, bytes.length);
  assert.equal(result.diffId, sha256Bytes(bytes));
  return { extracted: diffId, replayed: result.diffId, bytes };
}

async function assertReproduces(tar: Uint8Array, chunkBytes = 4096): Promise<void> {
  await withLayerDir(async (layerDir) => {
    const { bytes } = await roundTrip(layerDir, streamOf(tar, chunkBytes));
    assert.deepEqual(bytes, tar);
  });
}

Deno.test(
  "every layer of the podman fixtures replays byte for byte, the whiteout layer too",
  AS_ROOT,
  async () => {
    for (const fixture of [DOCKER_FIXTURE, OCI_FIXTURE, MULTI_FIXTURE]) {
      const archive = await openImageArchive(fixture);
      try {
        for (const image of archive.images) {
          for (const layer of image.layers) {
            await withLayerDir(async (layerDir) => {
              const { extracted, replayed } = await roundTrip(layerDir, layer.open());
              assert.equal(extracted, layer.diffId);
              assert.equal(replayed, layer.diffId);
            });
          }
        }
      } finally {
        archive.close();
      }
    }
  },
);

for (const format of ["gnu", "posix", "oldgnu"] as const) {
  Deno.test(
    `a GNU tar --format=${format} layer (long names, hard links, devices, xattrs) replays exactly, plain, gzip and zstd`,
    AS_ROOT,
    async () => {
      const work = await Deno.makeTempDir({ prefix: "denopod-split-src-" });
      try {
        const tree = join(work, "tree");
        await Deno.mkdir(tree);
        buildSampleTree(tree);
        const tar = join(work, "layer.tar");
        const args = format === "gnu"
          ? ["--format=gnu"]
          : format === "posix"
          ? ["--format=posix", "--xattrs", "--xattrs-include=user.*"]
          : ["--format=oldgnu"];
        await run("tar", [...args, "--numeric-owner", "-C", tree, "-cf", tar, "."]);
        const bytes = await Deno.readFile(tar);
        await assertReproduces(bytes);
        await assertReproduces(bytes, 7); // chunk boundaries everywhere
        for (const [tool, flags] of [["gzip", ["-kf"]], ["zstd", ["-qkf"]]] as const) {
          await run(tool, [...flags, tar]);
          const compressed = `${tar}.${tool === "gzip" ? "gz" : "zst"}`;
          await withLayerDir(async (layerDir) => {
            const result = await roundTrip(layerDir, fileStream(await Deno.open(compressed)));
            assert.deepEqual(result.bytes, bytes);
          });
        }
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  );
}

Deno.test("the busybox rootfs tarball (what import takes) replays exactly", AS_ROOT, async () => {
  const bytes = await Deno.readFile(await busyboxRootfsTar());
  await assertReproduces(bytes, 256 * 1024);
});

Deno.test(
  "a file that a later entry of the same layer replaces keeps its body aside",
  AS_ROOT,
  async () => {
    const tar = tarBytes([
      rawEntry({ name: "dir/", type: "5" }),
      rawEntry({ name: "dir/a", body: "first body\n" }),
      rawEntry({ name: "dir/link", type: "1", linkname: "dir/a" }),
      rawEntry({ name: "dir/a", body: "second body, longer\n" }),
      rawEntry({ name: "dir/b", body: "b".repeat(5000) }),
      rawEntry({ name: "dir/.wh.b", body: "" }),
      rawEntry({ name: "sub/deep/c", body: "c in a dir that becomes a file\n" }),
      rawEntry({ name: "sub", body: "now a file\n" }),
      rawEntry({ name: "x/.wh.gone", body: "a whiteout with content" }),
      rawEntry({ name: "sym", type: "2", linkname: "dir/a", size: 9, body: "sym body!" }),
      rawEntry({ name: "dir2/", type: "5", size: 0 }),
    ]);
    await withLayerDir(async (layerDir) => {
      const { bytes } = await roundTrip(layerDir, streamOf(tar, 100));
      assert.deepEqual(bytes, tar);
      assert.equal(await Deno.readTextFile(join(layerDir, "diff/dir/a")), "second body, longer\n");
      assert.equal(await Deno.readTextFile(join(layerDir, "diff/dir/link")), "first body\n");
      assert.equal(await Deno.readTextFile(join(layerDir, "diff/sub")), "now a file\n");
      const aside: string[] = [];
      for await (const e of Deno.readDir(join(layerDir, TAR_SPLIT_BODIES_DIR))) aside.push(e.name);
      assert.equal(aside.length, 4); // first a, b, c and the whiteout's content
    });
  },
);

Deno.test(
  "PAX size overrides, global headers and extra zero blocks after the end replay exactly",
  AS_ROOT,
  async () => {
    const body = new Uint8Array(3000).map((_, i) => i % 251);
    const tar = concatBytes(
      paxEntry({ comment: "global" }, "g"),
      paxEntry({ size: String(body.length), path: `${"p".repeat(150)}/${"q".repeat(150)}` }),
      rawEntry({ name: "short", size: 0, body }),
      rawEntry({ name: "empty", body: "" }),
      endOfArchive(),
      new Uint8Array(512 * 7),
    );
    await assertReproduces(tar, 333);
  },
);

Deno.test(
  "replay refuses a layer whose file changed size, and a layer without a split",
  AS_ROOT,
  async () => {
    const tar = tarBytes([rawEntry({ name: "f", body: "content\n" })]);
    await withLayerDir(async (layerDir) => {
      await roundTrip(layerDir, streamOf(tar));
      await Deno.writeTextFile(join(layerDir, "diff/f"), "changed, longer\n");
      await assert.rejects(replayTarSplit(layerDir, () => {}), TarSplitError);
      await Deno.remove(join(layerDir, TAR_SPLIT_FILE));
      await assert.rejects(replayTarSplit(layerDir, () => {}), /has no tar-split\.gz/);
    });
  },
);

Deno.test(
  "a layer of 6,000 entries replays exactly, also from a split stored as several gzip members",
  AS_ROOT,
  async () => {
    const entries: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      entries.push(rawEntry({ name: `d${i % 40}/`, type: "5" }));
      entries.push(rawEntry({ name: `d${i % 40}/f${i}`, body: i % 5 === 0 ? `body ${i}\n` : "" }));
    }
    const tar = tarBytes(entries);
    await withLayerDir(async (layerDir) => {
      const { bytes } = await roundTrip(layerDir, streamOf(tar, 64 * 1024));
      assert.deepEqual(bytes, tar);
      // Older splits (and the fallback without libz) are several gzip members: replay reads them.
      const plain = gunzipSync(await Deno.readFile(join(layerDir, TAR_SPLIT_FILE)));
      const half = Math.floor(plain.length / 2);
      await Deno.writeFile(
        join(layerDir, TAR_SPLIT_FILE),
        concatBytes(gzipSync(plain.subarray(0, half)), gzipSync(plain.subarray(half))),
      );
      const out: Uint8Array[] = [];
      await replayTarSplit(layerDir, (chunk) => out.push(chunk.slice()));
      assert.deepEqual(concatBytes(...out), tar);
    });
  },
);

Deno.test("a failed extraction leaves no split file behind", AS_ROOT, async () => {
  const tar = tarBytes([rawEntry({ name: "f", body: "content\n" })]).subarray(0, 700);
  await withLayerDir(async (layerDir) => {
    const recorder = new TarSplitRecorder(layerDir);
    await assert.rejects(extractLayer(streamOf(tar), join(layerDir, "diff"), { recorder }));
    recorder.abort();
    const names: string[] = [];
    for await (const e of Deno.readDir(layerDir)) names.push(e.name);
    assert.deepEqual(names, ["diff"]);
  });
});
