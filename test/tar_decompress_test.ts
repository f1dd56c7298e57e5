import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ArchiveError } from "../lib/errors.ts";
import { decompressedChunks } from "../lib/storage/tar/decompress.ts";
import { fileChunks } from "../lib/storage/tar/source.ts";
import { openDecompressor, openGzipCompressor } from "../lib/sys/compression.ts";
import { concatBytes, streamOf } from "./helpers/tar_build.ts";
import { run } from "./helpers/tar_fixtures.ts";

/** Everything `decompressedChunks` gives for `bytes` fed in chunks of `chunkBytes`. */
async function inflate(bytes: Uint8Array, chunkBytes = 4096): Promise<Uint8Array> {
  const source = decompressedChunks(streamOf(bytes, chunkBytes));
  const parts: Uint8Array[] = [];
  for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
    parts.push(chunk.slice()); // a chunk is valid only until the next read
  }
  return concatBytes(...parts);
}

function sample(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7919) % 251);
}

Deno.test("the system's libz and libzstd are found here", () => {
  for (const kind of ["gzip", "zstd"] as const) {
    const decompressor = openDecompressor(kind);
    assert.ok(decompressor, `${kind} decompressor`);
    decompressor.close();
  }
  const compressor = openGzipCompressor(6);
  assert.ok(compressor);
  compressor.close();
});

Deno.test("gzip: one member, several members, tiny chunks, and trailing garbage", async () => {
  const a = sample(700_000);
  const b = sample(300_000).reverse();
  assert.deepEqual(await inflate(gzipSync(a)), a);
  assert.deepEqual(await inflate(concatBytes(gzipSync(a), gzipSync(b))), concatBytes(a, b));
  assert.deepEqual(await inflate(gzipSync(b), 3), b);
  // Bytes after the last member that do not start another one are ignored, as by gzip -d.
  assert.deepEqual(await inflate(concatBytes(gzipSync(b), new Uint8Array(512))), b);
});

Deno.test("gzip written by openGzipCompressor reads back", async () => {
  const data = sample(1_500_000);
  const gzip = openGzipCompressor(1)!;
  const out: Uint8Array[] = [];
  gzip.write(data.subarray(0, 1000), (bytes) => out.push(bytes.slice()));
  gzip.write(data.subarray(1000), (bytes) => out.push(bytes.slice()));
  gzip.finish((bytes) => out.push(bytes.slice()));
  assert.deepEqual(await inflate(concatBytes(...out)), data);
});

Deno.test("zstd: several frames read as one stream", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-zstd-" });
  try {
    const a = sample(400_000);
    const b = sample(100_000).reverse();
    await Deno.writeFile(`${dir}/a`, a);
    await Deno.writeFile(`${dir}/b`, b);
    await run("zstd", ["-q", `${dir}/a`, `${dir}/b`]);
    const frames = concatBytes(
      await Deno.readFile(`${dir}/a.zst`),
      await Deno.readFile(`${dir}/b.zst`),
    );
    assert.deepEqual(await inflate(frames, 1000), concatBytes(a, b));
    const fromFile = decompressedChunks(fileChunks(await Deno.open(`${dir}/a.zst`)));
    let total = 0;
    for (let chunk = await fromFile.read(); chunk !== null; chunk = await fromFile.read()) {
      total += chunk.length;
    }
    assert.equal(total, a.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("corrupt and truncated gzip and zstd fail with a one-line ArchiveError", async () => {
  const gz = new Uint8Array(gzipSync(sample(200_000))); // a Buffer's slice() would share memory
  const corrupt = gz.slice();
  corrupt.fill(0x55, 100, 200);
  for (
    const [bytes, pattern] of [
      [corrupt, /^corrupt gzip data: /],
      [gz.subarray(0, gz.length - 100), /^corrupt gzip data: unexpected end of file$/],
      [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5]), /^corrupt zstd data: /],
    ] as const
  ) {
    await assert.rejects(inflate(bytes), (err) => {
      assert.ok(err instanceof ArchiveError);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("plain bytes pass through untouched, even shorter than a magic number", async () => {
  assert.deepEqual(await inflate(new Uint8Array([1, 2])), new Uint8Array([1, 2]));
  const plain = sample(10_000);
  assert.deepEqual(await inflate(plain, 1), plain);
});
