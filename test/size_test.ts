import assert from "node:assert/strict";
import { treeSize } from "../lib/storage/size.ts";
import { run } from "./helpers/tar_fixtures.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

async function duApparent(path: string): Promise<number> {
  return Number((await run("du", ["--apparent-size", "-s", "-B1", path])).split("\t")[0]);
}

function withWork(fn: (work: string) => void | Promise<void>): Promise<void> {
  return withTempDir("denopod-size-", fn);
}

Deno.test("treeSize counts a hard-linked inode once, exactly as du --apparent-size", async () => {
  await withWork(async (root) => {
    Deno.writeFileSync(`${root}/a`, new Uint8Array(1000));
    Deno.linkSync(`${root}/a`, `${root}/b`);
    Deno.mkdirSync(`${root}/d`);
    Deno.linkSync(`${root}/a`, `${root}/d/c`);
    Deno.writeFileSync(`${root}/d/small`, new Uint8Array(10));
    Deno.symlinkSync("a", `${root}/l`); // st_size 1: the target's length
    const dirs = Deno.lstatSync(root).size + Deno.lstatSync(`${root}/d`).size;
    assert.equal(treeSize(root), 1000 + 10 + 1 + dirs);
    assert.equal(treeSize(root), await duApparent(root));
  });
});

Deno.test("treeSize is within 1% of du --apparent-size on a generated tree", async () => {
  await withWork(async (root) => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const dirs = [root];
    for (let i = 0; i < 40; i++) {
      const dir = `${dirs[Math.floor(random() * dirs.length)]}/dir${i}`;
      Deno.mkdirSync(dir);
      dirs.push(dir);
    }
    const files: string[] = [];
    for (let i = 0; i < 400; i++) {
      const path = `${dirs[Math.floor(random() * dirs.length)]}/file${i}`;
      Deno.writeFileSync(path, new Uint8Array(Math.floor(random() * 50_000)));
      files.push(path);
      if (i % 10 === 0) Deno.linkSync(path, `${path}.hard`);
      if (i % 15 === 0) Deno.symlinkSync(`../${"x".repeat(i % 50)}`, `${path}.sym`);
    }
    const got = treeSize(root);
    const want = await duApparent(root);
    assert.ok(Math.abs(got - want) <= want * 0.01, `treeSize ${got} vs du ${want}`);
  });
});

Deno.test("treeSize of a missing root is 0, of a single file its size", async () => {
  assert.equal(treeSize("/nonexistent/denopod/size/test"), 0);
  await withWork((root) => {
    Deno.writeFileSync(`${root}/f`, new Uint8Array(123));
    assert.equal(treeSize(`${root}/f`), 123);
  });
});
