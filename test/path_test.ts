/** lib/util/path.ts gives node:path's answers (and fileURLToPath node:url's) for POSIX paths. */
import assert from "node:assert/strict";
import * as node from "node:path";
import { fileURLToPath as nodeFileURLToPath } from "node:url";
import * as ours from "../lib/util/path.ts";

const SAMPLES = [
  "",
  ".",
  "..",
  "/",
  "//",
  "a",
  "a/",
  "/a",
  "/a/",
  "a//b",
  "a/./b",
  "a/../b",
  "../a",
  "../../a/..",
  "/../a",
  "/a/b/../../..",
  "a/b/c/",
  "./",
  "a/..",
  "a/../",
  "/var/lib//denopod/./x/",
  "x.tar.gz",
  "/dir/x.tar",
];

Deno.test("normalize, dirname, basename, isAbsolute match node:path", () => {
  for (const path of SAMPLES) {
    assert.equal(ours.normalize(path), node.posix.normalize(path), `normalize ${path}`);
    assert.equal(ours.dirname(path), node.posix.dirname(path), `dirname ${path}`);
    assert.equal(ours.basename(path), node.posix.basename(path), `basename ${path}`);
    assert.equal(ours.basename(path, ".tar"), node.posix.basename(path, ".tar"), `ext ${path}`);
    assert.equal(ours.isAbsolute(path), node.posix.isAbsolute(path), `isAbsolute ${path}`);
  }
});

Deno.test("join and resolve match node:path", () => {
  for (const a of SAMPLES) {
    for (const b of ["", "b", "/b", "../b", "b/", "./b/.."]) {
      assert.equal(ours.join(a, b), node.posix.join(a, b), `join ${a} ${b}`);
      assert.equal(ours.resolve(a, b), node.posix.resolve(a, b), `resolve ${a} ${b}`);
    }
  }
  assert.equal(ours.resolve(), node.posix.resolve());
});

Deno.test("fileURLToPath matches node:url", () => {
  for (const url of ["file:///a/b.ts", "file:///a%20b/c", "file:///"]) {
    assert.equal(ours.fileURLToPath(url), nodeFileURLToPath(url));
  }
  assert.throws(() => ours.fileURLToPath("https://x/y"), TypeError);
});
