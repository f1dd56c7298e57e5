/**
 * Integration: a full disk under `--root` (a small tmpfs mounted as the root, unmounted in
 * `finally`). `ps`, `images`, `rm` and `rmi` still work, so the tool can free space; `system
 * check` stays clean; a compressed `load` and a compressed `import` that run out of space end
 * with a one-line `Error:` and exit 125, never a stack trace, and leave no layer behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliFor, mountPointsUnder, ROOT_TEST } from "./helpers/running.ts";
import { busyboxRootfsTar, withRoots } from "./helpers/denopod.ts";
import { mountFs, unmount } from "../lib/sys/mount.ts";
import { layerDirs } from "./helpers/denopod.ts";

/** Writes zeros to `path` until the filesystem is full (leaving `spare` bytes unwritten). */
async function fill(path: string, spare = 0): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    if (spare > 0) {
      // fill, then give back `spare` bytes
      for (;;) {
        try {
          file.writeSync(chunk);
        } catch {
          break;
        }
      }
      const size = (await file.stat()).size;
      await file.truncate(Math.max(0, size - spare));
      return;
    }
    for (;;) {
      try {
        file.writeSync(chunk);
      } catch {
        return;
      }
    }
  } finally {
    file.close();
  }
}

async function gzip(path: string): Promise<string> {
  const out = await new Deno.Command("gzip", { args: ["-kf", path] }).output();
  assert.ok(out.success);
  return `${path}.gz`;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A docker-archive holding one image whose one layer is the gzipped busybox rootfs. */
async function gzipLayerArchive(dir: string): Promise<string> {
  const plain = await busyboxRootfsTar();
  const diffId = await sha256Hex(await Deno.readFile(plain));
  const work = join(dir, "archive");
  await Deno.mkdir(work);
  await Deno.copyFile(await gzip(plain), join(work, "layer.tar.gz"));
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
  });
  const configId = await sha256Hex(new TextEncoder().encode(config));
  await Deno.writeTextFile(join(work, `${configId}.json`), config);
  await Deno.writeTextFile(
    join(work, "manifest.json"),
    JSON.stringify([{
      Config: `${configId}.json`,
      RepoTags: ["localhost/gz:1"],
      Layers: ["layer.tar.gz"],
    }]),
  );
  const archive = join(dir, "gz-archive.tar");
  const out = await new Deno.Command("tar", {
    args: ["-cf", archive, "-C", work, "manifest.json", `${configId}.json`, "layer.tar.gz"],
  }).output();
  assert.ok(out.success);
  return archive;
}

Deno.test(
  "a full disk under --root: ps, images, rm and rmi still work; check stays clean",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      await Deno.mkdir(roots.root, { recursive: true });
      mountFs({ type: "tmpfs", source: "full", target: roots.root, flags: 0, data: "size=16m" });
      try {
        const cli = cliFor(roots, "conmon");
        await cli.ok(["import", await busyboxRootfsTar(), "busybox"]);
        await cli.ok(["create", "--name", "one", "busybox", "true"]);
        assert.equal((await cli.run(["run", "--name", "two", "busybox", "true"])).code, 0);
        await fill(join(roots.root, "filler"));

        const ps = await cli.run(["ps", "-a", "--format", "{{.Names}}"]);
        assert.equal(ps.code, 0, ps.stderr);
        assert.deepEqual(ps.stdout.trim().split("\n").sort(), ["one", "two"]);
        const images = await cli.run(["images", "--format", "{{.Repository}}"]);
        assert.equal(images.code, 0, images.stderr);
        assert.equal(images.stdout, "localhost/busybox\n");

        const rm = await cli.run(["rm", "one"]);
        assert.equal(rm.code, 0, rm.stderr);
        assert.equal(rm.stdout, "one\n");
        const check = await cli.run(["system", "check", "--quick"]);
        assert.equal(check.code, 0, check.stdout);
        assert.equal((await cli.run(["rm", "two"])).code, 0);
        const rmi = await cli.run(["rmi", "busybox"]);
        assert.equal(rmi.code, 0, rmi.stderr);
        assert.equal(await cli.ok(["ps", "-aq"]), "");
        assert.equal(await cli.ok(["images", "-q"]), "");
        assert.deepEqual(layerDirs(roots), [], "the space is given back");
        assert.equal((await cli.run(["system", "check"])).code, 0);
      } finally {
        unmount(roots.root, { detach: true, ignoreNotMounted: true });
      }
      assert.deepEqual(mountPointsUnder(roots.root), []);
    }),
);

Deno.test(
  "a full disk during a compressed load or import: one-line Error, exit 125, no layer left",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      const archive = await gzipLayerArchive(roots.dir);
      const gzTar = await gzip(await busyboxRootfsTar());
      await Deno.mkdir(roots.root, { recursive: true });
      mountFs({ type: "tmpfs", source: "full", target: roots.root, flags: 0, data: "size=8m" });
      try {
        const cli = cliFor(roots, "conmon");
        assert.equal(await cli.ok(["images", "-q"]), "", "the store opens");
        await fill(join(roots.root, "filler"), 1024 * 1024); // room for the database, not the layer
        for (const args of [["load", "-i", archive], ["import", gzTar, "gz:2"]]) {
          const result = await cli.run(args);
          assert.equal(result.code, 125, `${args[0]}: ${result.stdout}${result.stderr}`);
          assert.match(result.stderr, /^Error: .*(no space left on device|disk .*full)/i);
          assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
          assert.doesNotMatch(result.stderr, /\n\s+at /);
          assert.equal(await cli.ok(["images", "-q"]), "");
          assert.deepEqual(layerDirs(roots), [], `${args[0]}: no layer left`);
        }
        const check = await cli.run(["system", "check"]);
        assert.equal(check.code, 0, check.stdout);
      } finally {
        unmount(roots.root, { detach: true, ignoreNotMounted: true });
      }
    }),
);
