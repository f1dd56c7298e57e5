/**
 * Files read from a container's rootfs (`/etc/passwd`, `/etc/group` for `-u`) must be regular
 * files of bounded size: a FIFO there (which hangs podman) is refused at once with one `Error:`
 * line naming it, as is a directory, a symlink that resolves to a FIFO, or a huge file; nothing
 * stays mounted. A numeric user too (runc's init reads the file as well, and would hang). And the
 * reader, called directly, never blocks and never leaves the root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  busyboxRootfsTar,
  denopod,
  IS_ROOT,
  mountLinesUnder,
  type Roots,
  type RunResult,
  spawnDenopod,
  withRoots,
} from "./helpers/denopod.ts";
import { writeArchiveFile } from "./helpers/archive_fixtures.ts";
import { rawEntry, tarBytes } from "./helpers/tar_build.ts";
import { sha256Bytes } from "./helpers/tar_fixtures.ts";
import { withTempDir } from "./helpers/temp_dir.ts";
import { type SaveImage, writeDockerArchive } from "../lib/storage/archive/writer.ts";
import {
  MAX_ROOTFS_FILE_BYTES,
  readRootfsFile,
  resolveUser,
  RootfsFileError,
} from "../lib/container/user.ts";

const AS_ROOT = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** Loads `name:1`, busybox with `top` (raw tar entries) as a layer above it. */
async function loadImage(roots: Roots, name: string, top: Uint8Array[]): Promise<void> {
  const layers: Uint8Array[] = [await Deno.readFile(await busyboxRootfsTar()), tarBytes(top)];
  const saveLayers = layers.map((bytes, i) => {
    const tarPath = join(roots.dir, `${name}-${i}.tar`);
    Deno.writeFileSync(tarPath, bytes);
    return { diffId: sha256Bytes(bytes), tarPath, size: bytes.length };
  });
  const image: SaveImage = {
    names: [`localhost/${name}:1`],
    configBytes: new TextEncoder().encode(JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["sh"], Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: saveLayers.map((layer) => layer.diffId) },
    })),
    layers: saveLayers,
  };
  const path = join(roots.dir, `${name}.tar`);
  writeArchiveFile(path, (sink) => writeDockerArchive([image], sink));
  const load = await denopod(roots, ["load", "-q", "-i", path]);
  assert.equal(load.code, 0, load.stderr);
}

/** Runs the CLI, failing (and killing it) if it has not ended within 30 s: it must not hang. */
async function runBounded(roots: Roots, args: string[]): Promise<RunResult> {
  const child = spawnDenopod(roots, args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), 30_000);
  });
  const result = await Promise.race([child.done, timeout]);
  clearTimeout(timer);
  if (result === "hung") {
    Deno.kill(child.pid, "SIGKILL");
    await child.done;
    assert.fail(`denopod ${args.join(" ")} hung`);
  }
  return result;
}

/** Asserts a run was refused with exit 125 and one `Error:` line matching `pattern`. */
function assertRefused(result: RunResult, pattern: RegExp): void {
  assert.equal(result.code, 125, result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

const ETC = rawEntry({ name: "etc/", type: "5" });

Deno.test(
  "run with a FIFO at the image's /etc/passwd or /etc/group fails at once, naming it, with or without -u",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await loadImage(roots, "fifopasswd", [ETC, rawEntry({ name: "etc/passwd", type: "6" })]);
      await loadImage(roots, "fifogroup", [ETC, rawEntry({ name: "etc/group", type: "6" })]);

      const user = await runBounded(roots, ["run", "--rm", "-u", "nobody", "fifopasswd:1", "id"]);
      assertRefused(user, /\/etc\/passwd in the container is a FIFO, not a regular file/);
      assert.deepEqual(mountLinesUnder(roots.dir), [], "a refused run left a mount");

      const group = await runBounded(roots, [
        "run",
        "--rm",
        "-u",
        "0:nogroup",
        "fifogroup:1",
        "id",
      ]);
      assertRefused(group, /\/etc\/group in the container is a FIFO, not a regular file/);

      // numbers too: runc's init reads /etc/passwd as well, and would hang on the FIFO
      for (const args of [["-u", "65534"], []]) {
        assertRefused(
          await runBounded(roots, ["run", "--rm", ...args, "fifopasswd:1", "true"]),
          /\/etc\/passwd in the container is a FIFO, not a regular file/,
        );
      }
      assert.deepEqual(mountLinesUnder(roots.dir), [], "runs left a mount");
      assert.equal((await denopod(roots, ["ps", "-aq"])).stdout, "", "--rm containers left");
    }),
);

Deno.test(
  "run -u NAME refuses a directory, a symlink to a FIFO and an oversized file at /etc/passwd",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await loadImage(roots, "dirpasswd", [ETC, rawEntry({ name: "etc/passwd/", type: "5" })]);
      await loadImage(roots, "linkpasswd", [
        ETC,
        rawEntry({ name: "pipe", type: "6" }),
        rawEntry({ name: "etc/passwd", type: "2", linkname: "../pipe" }),
      ]);
      const big = "x".repeat(MAX_ROOTFS_FILE_BYTES) + "\nnobody:x:65534:65534::/:/bin/sh\n";
      await loadImage(roots, "bigpasswd", [ETC, rawEntry({ name: "etc/passwd", body: big })]);
      assertRefused(
        await runBounded(roots, ["run", "--rm", "-u", "nobody", "dirpasswd:1", "id"]),
        /\/etc\/passwd in the container is a directory, not a regular file/,
      );
      assertRefused(
        await runBounded(roots, ["run", "--rm", "-u", "nobody", "linkpasswd:1", "id"]),
        /\/etc\/passwd in the container is a FIFO, not a regular file/,
      );
      assertRefused(
        await runBounded(roots, ["run", "--rm", "-u", "nobody", "bigpasswd:1", "id"]),
        /\/etc\/passwd in the container is larger than 4194304 bytes/,
      );
      assert.deepEqual(mountLinesUnder(roots.dir), []);
    }),
);

Deno.test("readRootfsFile never blocks on a FIFO and stays inside the root", () =>
  withTempDir("denopod-rootfs-", async (root) => {
    await Deno.mkdir(join(root, "etc"));
    const mkfifo = await new Deno.Command("mkfifo", { args: [join(root, "etc/group")] }).output();
    assert.ok(mkfifo.success);
    assert.throws(() => readRootfsFile(root, "/etc/group"), RootfsFileError);
    // a symlink out of the root lands inside it: the host's /etc/passwd is never read
    Deno.symlinkSync("/etc/hostname", join(root, "etc/passwd"));
    assert.equal(readRootfsFile(root, "/etc/passwd"), undefined);
    await Deno.writeTextFile(join(root, "etc/hostname"), "inside\n");
    assert.equal(readRootfsFile(root, "/etc/passwd"), "inside\n");
    assert.equal(readRootfsFile(root, "/etc/missing"), undefined);
    await Deno.writeTextFile(join(root, "etc/hostname"), "app:x:1000:1000::/:/bin/sh\n");
    assert.throws(() => resolveUser(root, "app"), /etc\/group in the container is a FIFO/);
    await Deno.remove(join(root, "etc/group"));
    assert.deepEqual(resolveUser(root, "app"), { uid: 1000, gid: 1000, additionalGids: [] });
  }));
