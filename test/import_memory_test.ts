/**
 * `import` streams a layer: its peak resident memory does not grow with the layer's bytes. Peak
 * memory is the process's maximum RSS as `/usr/bin/time` reports it (VmHWM), compared between a
 * 4 MiB and a 128 MiB single-file layer; no timing is asserted (the benchmark,
 * `scripts/bench.ts transport`, prints figures beside podman's).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliPrefix, IS_ROOT, withRoots } from "./helpers/denopod.ts";

const TIME = "/usr/bin/time";
const HAS_TIME = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** A tarball holding one file of `size` zero bytes (made sparse; tar writes the zeros). */
async function oneFileTar(dir: string, size: number): Promise<string> {
  const src = join(dir, `src-${size}`);
  await Deno.mkdir(src);
  const file = await Deno.open(join(src, "f"), { write: true, create: true });
  await file.truncate(size);
  file.close();
  const tar = join(dir, `layer-${size}.tar`);
  const out = await new Deno.Command("tar", { args: ["-C", src, "-cf", tar, "f"] }).output();
  assert.equal(out.code, 0, "tar failed");
  await Deno.remove(src, { recursive: true });
  return tar;
}

/** Peak RSS in MiB of `denopod import TAR`, in fresh roots; asserts that it succeeded. */
async function importPeakMiB(tar: string): Promise<number> {
  let peak = 0;
  await withRoots(async (roots) => {
    const out = await new Deno.Command(TIME, {
      args: ["-f", "peak-kb %M", Deno.execPath(), ...cliPrefix(roots), "import", tar, "big:1"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(new TextDecoder().decode(out.stdout), /^sha256:[0-9a-f]{64}\n$/);
    const match = /peak-kb (\d+)\s*$/.exec(stderr);
    assert.ok(match, `no peak in: ${stderr}`);
    peak = Number(match[1]) / 1024;
  });
  return peak;
}

Deno.test({
  name: "import of a 128 MiB layer peaks within 8 MiB of a 4 MiB one (the layer is streamed)",
  ignore: !IS_ROOT || !HAS_TIME,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denopod-memory-" });
    try {
      const small = await importPeakMiB(await oneFileTar(dir, 4 << 20));
      const big = await importPeakMiB(await oneFileTar(dir, 128 << 20));
      assert.ok(
        big <= small + 8,
        `peak RSS ${big.toFixed(1)} MiB for 128 MiB against ${small.toFixed(1)} MiB for 4 MiB`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
