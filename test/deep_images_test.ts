/**
 * Integration: images with many layers (60 and 125, where absolute lowerdir paths overflow the
 * one page mount(2) takes past ~41) run, mount and export, through the short `layers/l/` links;
 * a store without links (made before they existed) gets them on first use; removing the image
 * removes its links; nothing stays mounted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  busyboxRootfsTar,
  denopod,
  denopodOk,
  IS_ROOT,
  listDir,
  mountLinesUnder,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { writeArchiveFile } from "./helpers/archive_fixtures.ts";
import { rawEntry, tarBytes } from "./helpers/tar_build.ts";
import { sha256Bytes } from "./helpers/tar_fixtures.ts";
import { type SaveImage, writeDockerArchive } from "../lib/storage/archive/writer.ts";
import { mountFsFrom, unmount } from "../lib/sys/mount.ts";
import { SyscallError } from "../lib/errors.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const AS_ROOT = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** The file layer `i` (1-based above busybox) adds: `layers/007`. */
function layerFile(i: number): string {
  return `layers/${String(i).padStart(3, "0")}`;
}

/**
 * Writes a docker-archive of `name:1` made of busybox and `layerCount - 1` layers above it, the
 * i-th adding `layers/NNN` holding `i`; returns its path.
 */
async function layeredImage(dir: string, name: string, layerCount: number): Promise<string> {
  const layers: Uint8Array[] = [await Deno.readFile(await busyboxRootfsTar())];
  for (let i = 1; i < layerCount; i++) {
    layers.push(tarBytes([
      rawEntry({ name: "layers/", type: "5" }),
      rawEntry({ name: layerFile(i), body: `${i}\n` }),
    ]));
  }
  const saveLayers = layers.map((bytes, i) => {
    const tarPath = join(dir, `${name}-${i}.tar`);
    Deno.writeFileSync(tarPath, bytes);
    return { diffId: sha256Bytes(bytes), tarPath, size: bytes.length };
  });
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["sh"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: saveLayers.map((layer) => layer.diffId) },
  };
  const image: SaveImage = {
    names: [`localhost/${name}:1`],
    configBytes: new TextEncoder().encode(JSON.stringify(config)),
    layers: saveLayers,
  };
  const path = join(dir, `${name}.tar`);
  writeArchiveFile(path, (sink) => writeDockerArchive([image], sink));
  for (const layer of saveLayers) Deno.removeSync(layer.tarPath);
  return path;
}

/** The layer directories under `<root>/layers` (64-hex names). */
function layerIds(roots: Roots): string[] {
  return listDir(join(roots.root, "layers")).filter((name) => /^[0-9a-f]{64}$/.test(name));
}

/**
 * Asserts that each of `ids` records a short name in its `link` file, and that `l/NAME` is a
 * symlink to its `diff`; and that `l/` holds nothing else.
 */
function assertLinks(roots: Roots, ids: string[]): void {
  const layersDir = join(roots.root, "layers");
  const names: string[] = [];
  for (const id of ids) {
    const name = Deno.readTextFileSync(join(layersDir, id, "link"));
    assert.match(name, /^[A-Z2-7]{26}$/, `layer ${id}'s link`);
    assert.equal(Deno.readLinkSync(join(layersDir, "l", name)), `../${id}/diff`);
    assert.ok(Deno.statSync(join(layersDir, "l", name)).isDirectory, `l/${name} resolves`);
    names.push(name);
  }
  assert.deepEqual(listDir(join(layersDir, "l")), names.sort(), "l/ holds one link per layer");
}

/** Runs, mounts and exports a container of an image of `layerCount` layers; see the module doc. */
async function exerciseLayeredImage(roots: Roots, layerCount: number): Promise<void> {
  const name = `deep${layerCount}`;
  const image = `localhost/${name}:1`;
  const top = layerFile(layerCount - 1);
  await denopodOk(roots, ["load", "-i", await layeredImage(roots.dir, name, layerCount)]);
  const ids = layerIds(roots);
  assert.equal(ids.length, layerCount);
  assertLinks(roots, ids);

  const run = await denopod(roots, [
    "run",
    "--name",
    "c",
    "--network",
    "none",
    image,
    "sh",
    "-c",
    `ls /layers | wc -l; cat /${top}; cat /bin/busybox >/dev/null && echo busybox`,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.replace(/ +/g, ""), `${layerCount - 1}\n${layerCount - 1}\nbusybox\n`);
  assert.deepEqual(mountLinesUnder(roots.dir), [], "run left a mount");

  const mountpoint = (await denopodOk(roots, ["mount", "c"])).trim();
  assert.equal(Deno.readTextFileSync(join(mountpoint, top)), `${layerCount - 1}\n`);
  assert.equal(Deno.readTextFileSync(join(mountpoint, layerFile(1))), "1\n");
  const overlay = mountLinesUnder(roots.dir).filter((line) => line.includes(" overlay "));
  assert.equal(overlay.length, 1, `one overlay mount: ${overlay}`);
  assert.match(overlay[0], /lowerdir=l\/[A-Z2-7]{26}:l\//, "lowers named by their short links");
  await denopodOk(roots, ["umount", "c"]);
  assert.deepEqual(mountLinesUnder(roots.dir), [], "umount left a mount");

  const tarPath = join(roots.dir, "c.tar");
  await denopodOk(roots, ["export", "-o", tarPath, "c"]);
  const listing = await new Deno.Command("tar", { args: ["-tf", tarPath], stdout: "piped" })
    .output();
  assert.ok(listing.success);
  const names = new TextDecoder().decode(listing.stdout).split("\n");
  assert.ok(names.includes(top), `export lists ${top}`);
  assert.ok(names.includes(layerFile(1)), `export lists ${layerFile(1)}`);
  assert.ok(names.includes("bin/busybox"), "export lists bin/busybox");
  assert.deepEqual(mountLinesUnder(roots.dir), [], "export left a mount");

  await denopodOk(roots, ["rm", "c"]);
  await denopodOk(roots, ["rmi", image]);
  assert.deepEqual(layerIds(roots), [], "layers left after rmi");
  assert.deepEqual(listDir(join(roots.root, "layers", "l")), [], "links left after rmi");
  assert.deepEqual(mountLinesUnder(roots.dir), []);
}

Deno.test(
  "an image of 60 layers runs, mounts and exports, leaving no mount",
  AS_ROOT,
  () => withRoots((roots) => exerciseLayeredImage(roots, 60)),
);

Deno.test(
  "an image of 125 layers runs, mounts and exports, leaving no mount",
  AS_ROOT,
  () => withRoots((roots) => exerciseLayeredImage(roots, 125)),
);

Deno.test(
  "layers of a store made before short links get them when first mounted",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", await layeredImage(roots.dir, "old", 3)]);
      const ids = layerIds(roots);
      // the store as an older denopod left it: no `link` files, no `l/`
      for (const id of ids) Deno.removeSync(join(roots.root, "layers", id, "link"));
      Deno.removeSync(join(roots.root, "layers", "l"), { recursive: true });
      await denopodOk(roots, ["create", "--name", "c", "localhost/old:1"]);
      const mountpoint = (await denopodOk(roots, ["mount", "c"])).trim();
      assert.equal(Deno.readTextFileSync(join(mountpoint, layerFile(2))), "2\n");
      assertLinks(roots, ids);
      // a link that went missing is made again under the recorded name
      const name = Deno.readTextFileSync(join(roots.root, "layers", ids[0], "link"));
      await denopodOk(roots, ["umount", "c"]);
      Deno.removeSync(join(roots.root, "layers", "l", name));
      await denopodOk(roots, ["mount", "c"]);
      assertLinks(roots, ids);
      await denopodOk(roots, ["umount", "c"]);
      assert.deepEqual(mountLinesUnder(roots.dir), []);
    }),
);

Deno.test(
  "mountFsFrom takes relative overlay paths from the directory given and restores the cwd",
  AS_ROOT,
  () =>
    withTempDir("denopod-relmount-", async (dir) => {
      for (const sub of ["lower/a", "lower/b", "upper", "work", "merged"]) {
        await Deno.mkdir(join(dir, sub), { recursive: true });
      }
      await Deno.writeTextFile(join(dir, "lower/a/from-a"), "a");
      await Deno.writeTextFile(join(dir, "lower/b/from-b"), "b");
      const cwd = Deno.cwd();
      const merged = join(dir, "merged");
      const spec = (lowers: string) => ({
        type: "overlay",
        source: "overlay",
        target: merged,
        flags: 0,
        data: `lowerdir=${lowers},upperdir=upper,workdir=work`,
      });
      try {
        mountFsFrom(dir, spec("lower/a:lower/b"));
        assert.equal(Deno.cwd(), cwd, "the working directory is back");
        assert.equal(Deno.readTextFileSync(join(merged, "from-a")), "a");
        assert.equal(Deno.readTextFileSync(join(merged, "from-b")), "b");
        assert.match(mountLinesUnder(dir).join("\n"), /lowerdir=lower\/a:lower\/b,upperdir=upper/);
      } finally {
        unmount(merged, { detach: true, ignoreNotMounted: true });
      }
      // a failed mount restores it too
      assert.throws(() => mountFsFrom(dir, spec("lower/missing")), SyscallError);
      assert.equal(Deno.cwd(), cwd);
      assert.deepEqual(mountLinesUnder(dir), []);
    }),
);
