/**
 * Integration: the storage half of a container's life through the real CLI, as root, on real
 * overlayfs and SQLite in temporary roots: import → create → mount → write → ps --size → export →
 * umount → rm, checked against the disk, `tar`, `du` and /proc/self/mountinfo.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  mountLinesUnder,
  withRoots,
} from "./helpers/denopod.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

function tarListing(tarPath: string): string[] {
  const out = new Deno.Command("tar", { args: ["-tf", tarPath] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "")
    .map((l) => l.replace(/^\.\//, "").replace(/\/$/, "")).filter((l) => l !== "" && l !== ".")
    .sort();
}

function treeListing(dir: string): string[] {
  const out = new Deno.Command("find", { args: [dir, "-mindepth", "1"] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "")
    .map((l) => l.slice(dir.length + 1)).sort();
}

function duApparent(dir: string): number {
  const out = new Deno.Command("du", { args: ["--apparent-size", "-s", "-B1", dir] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).split(/\s/)[0]);
}

Deno.test(
  "import → create → mount → write → ps --size → export → umount → rm leaves nothing",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const imageId = await importBusybox(roots);
      assert.match(imageId, /^[0-9a-f]{64}$/);
      const images = await denopodOk(roots, [
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
      ]);
      assert.equal(images.trim(), `localhost/busybox:latest ${imageId.slice(0, 12)}`);

      const id = (await denopodOk(roots, ["create", "--name", "web", "busybox", "sleep", "100"]))
        .trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      const ps = await denopodOk(roots, [
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.Status}} {{.Command}}",
      ]);
      assert.equal(ps.trim(), "web Created sleep 100");

      const mountpoint = (await denopodOk(roots, ["mount", "web"])).trim();
      assert.ok(
        mountLinesUnder(mountpoint).some((l) => l.includes(" - overlay ")),
        "overlay in mountinfo",
      );
      assert.ok(Deno.statSync(join(mountpoint, "bin/busybox")).isFile);
      const payload = "x".repeat(100_000);
      await Deno.writeTextFile(join(mountpoint, "root/payload.txt"), payload);
      await Deno.mkdir(join(mountpoint, "root/dir"));
      await Deno.symlink("payload.txt", join(mountpoint, "root/link"));
      await Deno.link(join(mountpoint, "root/payload.txt"), join(mountpoint, "root/hard"));

      const listed = (await denopodOk(roots, ["mount"])).trim();
      assert.equal(listed, `${id.slice(0, 12)}  ${mountpoint}`);

      const sizeLine = await denopodOk(roots, ["ps", "-a", "--size", "--format", "{{.Size}}"]);
      const upper = join(roots.root, "layers", id, "diff");
      const rw = duApparent(upper);
      const inspect = JSON.parse(await denopodOk(roots, ["inspect", "--size", "web"]));
      assert.ok(
        Math.abs(inspect[0].SizeRw - rw) <= rw * 0.01,
        `SizeRw ${inspect[0].SizeRw} vs du ${rw}`,
      );
      assert.ok(inspect[0].SizeRw >= 100_000, "the payload is counted once");
      assert.ok(inspect[0].SizeRw < 200_000, "the hard link is not counted twice");
      assert.match(sizeLine.trim(), /^\d+(\.\d+)?[kM]?B \(virtual \d+(\.\d+)?[kM]?B\)$/);

      const exportPath = join(roots.dir, "web.tar");
      await denopodOk(roots, ["export", "-o", exportPath, "web"]);
      assert.deepEqual(tarListing(exportPath), treeListing(mountpoint));
      const extracted = join(roots.dir, "x");
      await Deno.mkdir(extracted);
      const untar = new Deno.Command("tar", { args: ["-xf", exportPath, "-C", extracted] })
        .outputSync();
      assert.ok(untar.success);
      assert.equal(await Deno.readTextFile(join(extracted, "root/payload.txt")), payload);
      assert.equal(await Deno.readLink(join(extracted, "root/link")), "payload.txt");
      assert.equal(
        Deno.statSync(join(extracted, "root/hard")).ino,
        Deno.statSync(join(extracted, "root/payload.txt")).ino,
      );

      assert.equal((await denopodOk(roots, ["umount", "web"])).trim(), "web");
      assert.deepEqual(mountLinesUnder(mountpoint), []);
      assert.equal((await denopodOk(roots, ["rm", "web"])).trim(), "web");
      assert.deepEqual(mountLinesUnder(roots.dir), []);
      assert.equal(await exists(join(roots.root, "layers", id)), false);
      assert.equal(await exists(join(roots.root, "containers", id)), false);
      assert.equal(await exists(join(roots.runRoot, "containers", id)), false);
      assert.equal((await denopodOk(roots, ["ps", "-aq"])).trim(), "");
    });
  },
);

Deno.test("export of an unmounted container mounts for the duration only", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
    const result = await denopod(roots, ["export", "c"]);
    assert.equal(result.code, 0);
    assert.ok(result.stdout.length > 0);
    assert.deepEqual(mountLinesUnder(roots.dir), []);
  });
});

Deno.test("export to a path that cannot be written leaves no partial file", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
    const result = await denopod(roots, ["export", "-o", join(roots.dir, "nodir", "out.tar"), "c"]);
    assert.equal(result.code, 125);
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.deepEqual(mountLinesUnder(roots.dir), []);
  });
});

Deno.test("export onto a full disk removes the partial file", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
    const small = join(roots.dir, "small");
    await Deno.mkdir(small);
    const mount = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small],
    })
      .outputSync();
    assert.ok(mount.success);
    try {
      const result = await denopod(roots, ["export", "-o", join(small, "out.tar"), "c"]);
      assert.equal(result.code, 125);
      assert.match(result.stderr, /^Error: .*(ENOSPC|No space left)/i);
      assert.deepEqual([...Deno.readDirSync(small)], []);
    } finally {
      new Deno.Command("umount", { args: [small] }).outputSync();
    }
  });
});

Deno.test("mounts are counted: the rootfs goes away with the last user", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
    const first = (await denopodOk(roots, ["mount", "c"])).trim();
    const second = (await denopodOk(roots, ["mount", "c"])).trim();
    assert.equal(first, second);
    await denopodOk(roots, ["umount", "c"]);
    assert.equal(mountLinesUnder(first).length, 1, "still mounted for the second user");
    await denopodOk(roots, ["umount", "c"]);
    assert.deepEqual(mountLinesUnder(first), []);
    await denopodOk(roots, ["mount", "c"]);
    await denopodOk(roots, ["mount", "c"]);
    await denopodOk(roots, ["umount", "-f", "c"]);
    assert.deepEqual(mountLinesUnder(first), []);
  });
});

Deno.test(
  "a --rm container's rootfs is mounted volatile (as podman's), a kept one's is not; it mounts again after an unmount",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const rootLine = ["grep", " / ", "/proc/mounts"];
      const removed = await denopodOk(roots, ["run", "--rm", "busybox", ...rootLine]);
      assert.match(removed, /^overlay \/ overlay .*volatile/);
      const kept = await denopodOk(roots, ["run", "--name", "kept", "busybox", ...rootLine]);
      assert.match(kept, /^overlay \/ overlay /);
      assert.doesNotMatch(kept, /volatile/);
      // the mark a volatile mount leaves in the work directory does not stop the next mount
      await denopodOk(roots, ["create", "--rm", "--name", "later", "busybox", "true"]);
      const merged = (await denopodOk(roots, ["mount", "later"])).trim();
      await denopodOk(roots, ["umount", "later"]);
      assert.equal((await denopodOk(roots, ["mount", "later"])).trim(), merged);
      assert.match(mountLinesUnder(merged).join("\n"), /volatile/);
      await denopodOk(roots, ["umount", "later"]);
      assert.deepEqual(mountLinesUnder(merged), []);
      await denopodOk(roots, ["rm", "kept", "later"]);
    });
  },
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
