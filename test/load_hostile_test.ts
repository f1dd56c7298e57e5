import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import zlib from "node:zlib";
import {
  cliPrefix,
  denopod,
  denopodOk,
  IS_ROOT,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { layerDirs } from "./helpers/denopod.ts";
import {
  DOCKER_FIXTURE,
  editedFixture,
  FIXTURE_DIFF_IDS,
  FIXTURE_ID,
  MULTI_FIXTURE,
  OCI_BLOB_DIGESTS,
  OCI_FIXTURE,
  run,
  writeArchiveFile,
} from "./helpers/archive_fixtures.ts";
import { rawEntry, tarBytes } from "./helpers/tar_build.ts";
import { sha256Bytes } from "./helpers/tar_fixtures.ts";
import { type SaveImage, writeDockerArchive } from "../lib/storage/archive/writer.ts";

const AS_ROOT = { ignore: !IS_ROOT };
const TOP_LAYER_TAR = `${FIXTURE_DIFF_IDS[1].slice(7)}.tar`;
const BASE_LAYER = FIXTURE_DIFF_IDS[0].slice(7);

/** Names in a directory, sorted; [] when it does not exist. */
async function namesIn(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** Rows of the state database's layers and images tables, read directly (no cleanup runs). */
function dbRows(roots: Roots): { layers: string[]; images: number } {
  const db = new DatabaseSync(join(roots.root, "state.db"), { readOnly: true });
  try {
    const layers = db.prepare("SELECT id, complete FROM layers ORDER BY id").all()
      .map((row) => `${row.id}${row.complete ? "" : " (incomplete)"}`);
    const images = Number(db.prepare("SELECT COUNT(*) AS n FROM images").get()!.n);
    return { layers, images };
  } finally {
    db.close();
  }
}

/**
 * Loads `archive` (from a file, or on stdin) expecting exit 125 and one `Error:` line matching
 * `pattern`; then checks, before any other command could clean up, that the root holds exactly
 * the layers in `layersLeft` (on disk and in the database), no image beyond `imagesLeft`, and
 * nothing in `<root>/tmp`; then that `images -q` agrees.
 */
async function assertLoadRefused(
  roots: Roots,
  archive: string,
  pattern: RegExp,
  options: { stdin?: boolean; layersLeft?: string[]; imagesLeft?: number } = {},
): Promise<void> {
  const result = options.stdin
    ? await denopod(roots, ["load"], { stdin: await Deno.readFile(archive) })
    : await denopod(roots, ["load", "-i", archive]);
  assert.equal(result.code, 125, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one stderr line: ${result.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
  const layersLeft = options.layersLeft ?? [];
  assert.deepEqual(layerDirs(roots), layersLeft, "layer directories");
  assert.deepEqual(dbRows(roots), { layers: layersLeft, images: options.imagesLeft ?? 0 });
  assert.deepEqual(await namesIn(join(roots.root, "tmp")), [], "scratch files left");
  const ids = (await denopodOk(roots, ["images", "-q"])).split("\n").filter(Boolean);
  assert.equal(ids.length, options.imagesLeft ?? 0);
}

/** Writes a docker-archive of one image made of `layers` (plain tar bytes) and returns its path. */
function craftArchive(dir: string, name: string, layers: Uint8Array[]): string {
  const images: SaveImage[] = [];
  const saveLayers = layers.map((bytes, i) => {
    const tarPath = join(dir, `${name}-layer${i}.tar`);
    Deno.writeFileSync(tarPath, bytes);
    return { diffId: sha256Bytes(bytes), tarPath, size: bytes.length };
  });
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: saveLayers.map((layer) => layer.diffId) },
  };
  images.push({
    names: [`localhost/${name}:1`],
    configBytes: new TextEncoder().encode(JSON.stringify(config)),
    layers: saveLayers,
  });
  const path = join(dir, `${name}.tar`);
  writeArchiveFile(path, (sink) => writeDockerArchive(images, sink));
  return path;
}

Deno.test(
  "load refuses a file that is not a tar archive, and an empty stdin",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const notes = join(roots.dir, "notes.txt");
      await Deno.writeTextFile(notes, "hello world\n".repeat(200));
      await assertLoadRefused(roots, notes, /not a tar archive/);
      await assertLoadRefused(roots, notes, /not a tar archive/, { stdin: true });
      const empty = join(roots.dir, "empty.tar");
      await Deno.writeFile(empty, new Uint8Array());
      await assertLoadRefused(roots, empty, /empty/, { stdin: true });
    }),
);

Deno.test(
  "load refuses a truncated archive, from a file and from stdin, plain and gzip",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const bytes = await Deno.readFile(DOCKER_FIXTURE);
      const half = join(roots.dir, "half.tar");
      await Deno.writeFile(half, bytes.subarray(0, bytes.length / 2));
      await assertLoadRefused(roots, half, /truncated/);
      await assertLoadRefused(roots, half, /truncated/, { stdin: true });
      const gz = zlib.gzipSync(bytes);
      const halfGz = join(roots.dir, "half.tar.gz");
      await Deno.writeFile(halfGz, gz.subarray(0, gz.length / 2));
      await assertLoadRefused(roots, halfGz, /gzip/);
      await assertLoadRefused(roots, halfGz, /gzip/, { stdin: true });
    }),
);

Deno.test(
  "load refuses a manifest.json that is not JSON",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const path = await editedFixture(
        roots.dir,
        DOCKER_FIXTURE,
        "badjson",
        (dir) => Deno.writeTextFile(`${dir}/manifest.json`, '[{"Config": '),
      );
      await assertLoadRefused(roots, path, /manifest\.json: Unexpected end of JSON input/);
    }),
);

Deno.test(
  "load refuses a missing layer: a docker-archive layer tar, an OCI blob",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const docker = await editedFixture(
        roots.dir,
        DOCKER_FIXTURE,
        "nolayer",
        (dir) => Deno.remove(`${dir}/${TOP_LAYER_TAR}`),
      );
      await assertLoadRefused(roots, docker, new RegExp(`"${TOP_LAYER_TAR}" missing`));
      const oci = await editedFixture(
        roots.dir,
        OCI_FIXTURE,
        "noblob",
        (dir) => Deno.remove(`${dir}/blobs/sha256/${OCI_BLOB_DIGESTS[1].slice(7)}`),
      );
      await assertLoadRefused(roots, oci, new RegExp(`blob ${OCI_BLOB_DIGESTS[1]} missing`));
    }),
);

Deno.test(
  "load refuses a config whose sha256 is not its name",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const path = await editedFixture(roots.dir, DOCKER_FIXTURE, "confighash", async (dir) => {
        const file = `${dir}/${FIXTURE_ID}.json`;
        const config = await Deno.readTextFile(file);
        await Deno.chmod(file, 0o644);
        await Deno.writeTextFile(file, config.replace("amd64", "amd65"));
      });
      await assertLoadRefused(roots, path, /content has sha256:[0-9a-f]{64}, but its name says/);
    }),
);

Deno.test(
  "load refuses an OCI layer blob with a bad digest and drops the layer it committed before",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const blob = OCI_BLOB_DIGESTS[1];
      const path = await editedFixture(roots.dir, OCI_FIXTURE, "tampered", async (dir) => {
        const file = `${dir}/blobs/sha256/${blob.slice(7)}`;
        const bytes = await Deno.readFile(file);
        bytes[bytes.length - 20] ^= 0x01;
        await Deno.writeFile(file, bytes);
      });
      await assertLoadRefused(
        roots,
        path,
        /blob sha256:af2649f2[0-9a-f]*: content has sha256:[0-9a-f]{64}, expected/,
      );
    }),
);

Deno.test(
  "load refuses a layer whose diff ID differs from the config's, dropping the base it committed",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const other = join(roots.dir, "other.tar");
      await Deno.writeFile(other, tarBytes([rawEntry({ name: "etc/motd", body: "forged\n" })]));
      const path = await editedFixture(roots.dir, DOCKER_FIXTURE, "diffid", async (dir) => {
        await Deno.chmod(`${dir}/${TOP_LAYER_TAR}`, 0o644);
        await Deno.copyFile(other, `${dir}/${TOP_LAYER_TAR}`);
      });
      await assertLoadRefused(
        roots,
        path,
        new RegExp(`layer diff ID mismatch: the image config says ${FIXTURE_DIFF_IDS[1]}`),
      );
    }),
);

Deno.test(
  "a failed load keeps the layer another image uses",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      await denopodOk(roots, ["rmi", "localhost/fixture:2"]);
      const other = join(roots.dir, "other.tar");
      await Deno.writeFile(other, tarBytes([rawEntry({ name: "x", body: "x\n" })]));
      const path = await editedFixture(roots.dir, DOCKER_FIXTURE, "bad", async (dir) => {
        await Deno.chmod(`${dir}/${TOP_LAYER_TAR}`, 0o644);
        await Deno.copyFile(other, `${dir}/${TOP_LAYER_TAR}`);
      });
      await assertLoadRefused(roots, path, /layer diff ID mismatch/, {
        layersLeft: [BASE_LAYER],
        imagesLeft: 1,
      });
      assert.equal(
        await denopodOk(roots, ["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        "localhost/fixture-base:1\n",
      );
    }),
);

Deno.test(
  "load refuses a layer with a hard link out of the layer, leaving nothing",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      const good = tarBytes([
        rawEntry({ name: "etc/", type: "5" }),
        rawEntry({ name: "etc/a", body: "a\n" }),
      ]);
      const evil = tarBytes([
        rawEntry({ name: "passwd", type: "1", linkname: "../../../../etc/passwd" }),
      ]);
      const path = craftArchive(roots.dir, "evil", [good, evil]);
      await assertLoadRefused(
        roots,
        path,
        /archive entry "passwd": hard link target escapes the layer/,
      );
    }),
);

Deno.test(
  "kill -9 during a load leaves nothing the next command does not remove",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      // A small first layer (committed quickly) and a ~100 MB random one (killed while extracted).
      const src = join(roots.dir, "big");
      await Deno.mkdir(src);
      for (let i = 0; i < 25; i++) {
        const file = await Deno.open(join(src, `r${i}`), { write: true, create: true });
        const chunk = new Uint8Array(1024 * 1024);
        for (let m = 0; m < 4; m++) {
          for (let at = 0; at < chunk.length; at += 65536) {
            crypto.getRandomValues(chunk.subarray(at, at + 65536));
          }
          for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
        }
        file.close();
      }
      const bigTar = join(roots.dir, "big-layer.tar");
      await run("tar", ["--numeric-owner", "-C", src, "-cf", bigTar, "."]);
      await Deno.remove(src, { recursive: true });
      const small = tarBytes([rawEntry({ name: "hello", body: "hello\n" })]);
      const path = craftArchive(roots.dir, "big", [small, await Deno.readFile(bigTar)]);
      await Deno.remove(bigTar);
      const smallId = sha256Bytes(small).slice(7);

      await denopodOk(roots, ["images"]); // create the roots
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          ...cliPrefix(roots),
          "load",
          "-i",
          path,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const deadline = Date.now() + 60_000;
      let seen: string[] = [];
      while (Date.now() < deadline) {
        seen = layerDirs(roots);
        // The first layer is in and the second is being extracted.
        if (seen.includes(smallId) && seen.some((name) => name.startsWith("tmp-"))) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      assert.ok(seen.some((name) => name.startsWith("tmp-")), `never saw the big layer: ${seen}`);

      assert.equal(await denopodOk(roots, ["images", "-q"]), "");
      assert.deepEqual(layerDirs(roots), [], "layers left after the next command");
      assert.deepEqual(dbRows(roots), { layers: [], images: 0 });
      assert.deepEqual(await namesIn(join(roots.root, "tmp")), []);

      assert.equal(
        await denopodOk(roots, ["load", "-q", "-i", path]),
        "Loaded image: localhost/big:1\n",
      );
      assert.equal(layerDirs(roots).length, 2);
      assert.equal(dbRows(roots).layers.length, 2);
    }),
);
