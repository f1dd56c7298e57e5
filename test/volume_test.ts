/**
 * Named volumes: `volume create/ls/inspect/exists/rm/prune` in podman 4.3.1's shapes, a volume
 * made on first use with the image's content copied up, outliving its container, refused for
 * removal while in use, and anonymous volumes removed by `rm -v`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  listDir,
  withRoots,
} from "./helpers/denopod.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "volume create, ls, inspect, exists and rm, with podman's words for a taken or missing name",
  opts,
  async () => {
    await withRoots(async (roots) => {
      assert.equal(await denopodOk(roots, ["volume", "create", "--label", "a=b", "v1"]), "v1\n");
      const again = await denopod(roots, ["volume", "create", "v1"]);
      assert.deepEqual([again.code, again.stderr], [
        125,
        "Error: volume with name v1 already exists: volume already exists\n",
      ]);
      const bad = await denopod(roots, ["volume", "create", "b@d"]);
      assert.deepEqual([bad.code, bad.stderr], [
        125,
        "Error: running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument\n",
      ]);
      assert.deepEqual(listDir(join(roots.root, "volumes")), ["v1"]);
      assert.equal(
        await denopodOk(roots, ["volume", "ls"]),
        "DRIVER      VOLUME NAME\nlocal       v1\n",
      );
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "v1\n");
      const [inspected] = JSON.parse(await denopodOk(roots, ["volume", "inspect", "v1"]));
      assert.deepEqual(
        [inspected.Name, inspected.Driver, inspected.Mountpoint, inspected.Labels, inspected.Scope],
        ["v1", "local", join(roots.root, "volumes", "v1", "_data"), { a: "b" }, "local"],
      );
      assert.equal((await denopod(roots, ["volume", "exists", "v1"])).code, 0);
      assert.equal((await denopod(roots, ["volume", "exists", "nope"])).code, 1);
      const missing = await denopod(roots, ["volume", "rm", "nope"]);
      assert.deepEqual([missing.code, missing.stderr], [
        1,
        'Error: no volume with name "nope" found: no such volume\n',
      ]);
      assert.equal(await denopodOk(roots, ["volume", "rm", "v1"]), "v1\n");
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test(
  "-v NAME:/path makes the volume on first use, copies the image's content up, and the data outlives the container",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const out = await denopodOk(roots, [
        "run",
        "--name",
        "c1",
        "-v",
        "data:/etc",
        "busybox",
        "sh",
        "-c",
        "cat /etc/passwd | head -1; echo kept > /etc/new",
      ]);
      assert.equal(out, "root:x:0:0:root:/root:/bin/sh\n");
      const dataDir = join(roots.root, "volumes", "data", "_data");
      assert.ok(listDir(dataDir).includes("passwd"), "the image's /etc was copied up");
      // in use: refused (exit 2, podman's words), nothing removed
      const refused = await denopod(roots, ["volume", "rm", "data"]);
      const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "c1"])).trim();
      assert.deepEqual([refused.code, refused.stderr], [
        2,
        `Error: volume data is being used by the following container(s): ${id}: volume is being used\n`,
      ]);
      assert.equal(await denopodOk(roots, ["volume", "prune", "-f"]), "");
      await denopodOk(roots, ["rm", "c1"]);
      assert.equal(Deno.readTextFileSync(join(dataDir, "new")), "kept\n");
      // a second container sees the data, not a fresh copy of the image
      const second = await denopodOk(roots, [
        "run",
        "--rm",
        "-v",
        "data:/etc",
        "busybox",
        "cat",
        "/etc/new",
      ]);
      assert.equal(second, "kept\n");
      assert.equal(await denopodOk(roots, ["volume", "prune", "-f"]), "data\n");
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test("volume rm -f removes the containers using the volume first", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "user", "-v", "v:/data", "busybox", "true"]);
    assert.equal(await denopodOk(roots, ["volume", "rm", "-f", "v"]), "v\n");
    assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
    assert.deepEqual(listDir(join(roots.root, "volumes")), []);
  });
});

Deno.test(
  "an anonymous volume (-v /path) is removed by rm -v and kept by a plain rm",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const a = (await denopodOk(roots, ["create", "-v", "/data", "busybox", "true"])).trim();
      const b = (await denopodOk(roots, ["create", "-v", "/data", "busybox", "true"])).trim();
      const names = (await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n");
      assert.equal(names.length, 2);
      for (const name of names) assert.match(name, /^[0-9a-f]{64}$/);
      await denopodOk(roots, ["rm", "-v", a]);
      assert.equal((await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n").length, 1);
      await denopodOk(roots, ["rm", b]);
      assert.equal((await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n").length, 1);
    });
  },
);

Deno.test(
  "a create that fails after making a volume removes the volume it made",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const result = await denopod(roots, ["create", "-v", "fresh:/x", "busybox", "true"], {
        env: { DENOPOD_SECCOMP_PROFILE: "/nonexistent/seccomp.json" },
      });
      assert.equal(result.code, 125);
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
      assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
    });
  },
);

Deno.test(
  "system prune --volumes removes unused volumes in podman's section order; without it they stay",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["volume", "create", "unused"]);
      await denopodOk(roots, ["create", "--name", "keeper", "-v", "used:/data", "busybox", "true"]);
      await Deno.writeTextFile(
        join(roots.root, "volumes", "unused", "_data", "f"),
        "x".repeat(5000),
      );
      const kept = await denopodOk(roots, ["system", "prune", "-f"]);
      assert.doesNotMatch(kept, /Deleted Volumes/);
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "unused\nused\n");
      await denopodOk(roots, ["rm", "keeper"]).catch(() => {});
      const out = await denopodOk(roots, ["system", "prune", "-f", "--volumes"]);
      assert.match(out, /^Deleted Volumes\nunused\nused\nTotal reclaimed space: \d/);
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "");
    });
  },
);
