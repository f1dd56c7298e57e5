/**
 * Integration: two processes at once, as root, in fresh roots. A command on a container waits for
 * another process holding its flock (seen as a blocked waiter in /proc/locks, never by timing);
 * two `create --name x` give one container and one clear error; two imports of one tarball share
 * one layer; two `rm` of one container print its name once and "no such container" once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Background,
  busyboxRootfsTar,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  mountLinesUnder,
  type Roots,
  type RunResult,
  spawnDenopod,
  withRoots,
} from "./helpers/denopod.ts";
import { layerDirs, listDir } from "./helpers/denopod.ts";
import { holdLock } from "./helpers/lock_holder.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** PIDs of processes waiting (blocked) for a flock on the file at `path`, from /proc/locks. */
function blockedWaiters(path: string): number[] {
  const inode = Deno.statSync(path).ino;
  const pids: number[] = [];
  for (const line of Deno.readTextFileSync("/proc/locks").split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== "->" || fields[2] !== "FLOCK") continue;
    const [pid, device] = [fields[5], fields[6]];
    if (device?.split(":")[2] === String(inode)) pids.push(Number(pid));
  }
  return pids;
}

/** Polls until every process in `pids` is blocked waiting for the flock on `path`. */
async function untilBlocked(path: string, processes: Background[]): Promise<void> {
  for (let attempt = 0; attempt < 3000; attempt++) {
    const waiting = blockedWaiters(path);
    if (processes.every((p) => waiting.includes(p.pid))) return;
    const gone = processes.find((p) => p.exited());
    if (gone) {
      const result = await gone.done;
      assert.fail(`pid ${gone.pid} exited ${result.code} instead of waiting: ${result.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`${processes.map((p) => p.pid)} never blocked on ${path}`);
}

const lockPathOf = (roots: Roots, id: string) => join(roots.runRoot, "locks", `${id}.lock`);

Deno.test("mount waits while another process holds the container's lock", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    const id = (await denopodOk(roots, ["create", "--name", "held", "busybox", "true"])).trim();
    const merged = join(roots.root, "layers", id, "merged");
    const holder = await holdLock(lockPathOf(roots, id));
    let mount: Background | undefined;
    try {
      mount = spawnDenopod(roots, ["mount", id]);
      await untilBlocked(lockPathOf(roots, id), [mount]);
      // Blocked on the lock: it has not exited and has mounted nothing yet.
      assert.equal(mount.exited(), false);
      assert.deepEqual(mountLinesUnder(merged), []);
    } finally {
      await holder.release();
    }
    const result = await mount.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${merged}\n`);
    assert.equal(mountLinesUnder(merged).length, 1, "mounted once the lock was released");
    await denopodOk(roots, ["umount", id]);
    assert.deepEqual(mountLinesUnder(merged), []);
  });
});

Deno.test("two create --name x at once give one container and one clear error", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([
        denopod(roots, ["create", "--name", "x", "busybox", "true"]),
        denopod(roots, ["create", "--name", "x", "busybox", "true"]),
      ]);
      const won = results.filter((r) => r.code === 0);
      const lost = results.filter((r) => r.code !== 0);
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.stderr)}`);
      assert.equal(lost.length, 1);
      const id = won[0].stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(lost[0].code, 125);
      assert.equal(lost[0].stdout, "");
      assert.equal(
        lost[0].stderr,
        `Error: the container name "x" is already in use by ${id}. You have to remove that container to be able to reuse that name: that name is already in use\n`,
      );
      assert.equal(await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]), "x\n");
      assert.deepEqual(listDir(join(roots.root, "containers")), [id]);
      assert.deepEqual(listDir(join(roots.runRoot, "containers")), [id]);
      assert.equal(await denopodOk(roots, ["rm", "x"]), "x\n");
    }
  });
});

Deno.test("two imports of one tarball at once both succeed and share one layer", opts, async () => {
  const tar = await busyboxRootfsTar();
  for (let round = 0; round < 2; round++) {
    await withRoots(async (roots) => {
      const results = await Promise.all([
        denopod(roots, ["import", tar, "one"]),
        denopod(roots, ["import", tar, "two"]),
      ]);
      for (const r of results) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
      }
      const layers = layerDirs(roots);
      assert.equal(layers.length, 1, `one layer dir, no tmp-: ${layers}`);
      assert.match(layers[0], /^[0-9a-f]{64}$/);
      const images = await denopodOk(roots, [
        "images",
        "--format",
        "{{.Repository}} {{.ID}}",
      ]);
      assert.deepEqual(
        images.trim().split("\n").sort(),
        [
          `localhost/one ${results[0].stdout.slice(7, 19)}`,
          `localhost/two ${results[1].stdout.slice(7, 19)}`,
        ].sort(),
      );
      assert.deepEqual(listDir(join(roots.runRoot, "locks")).filter((n) => n !== "alive.lock"), []);
    });
  }
});

/** Asserts that of two `rm NAME` results, one printed the name and the other no such container. */
function assertOneRemoved(results: RunResult[], name: string): void {
  const won = results.filter((r) => r.code === 0);
  const lost = results.filter((r) => r.code !== 0);
  assert.equal(won.length, 1, JSON.stringify(results));
  assert.equal(won[0].stdout, `${name}\n`);
  assert.equal(won[0].stderr, "");
  assert.equal(lost.length, 1);
  assert.equal(lost[0].code, 1, "podman-rm(1): 1 when the container does not exist");
  assert.equal(lost[0].stdout, "");
  assert.equal(
    lost[0].stderr,
    `Error: no container with name or ID "${name}" found: no such container\n`,
  );
}

async function assertNothingLeft(roots: Roots): Promise<void> {
  assert.equal(await denopodOk(roots, ["ps", "-aq"]), "");
  assert.deepEqual(listDir(join(roots.root, "containers")), []);
  assert.deepEqual(listDir(join(roots.runRoot, "containers")), []);
  assert.equal(layerDirs(roots).length, 1, "only the image layer");
  assert.deepEqual(listDir(join(roots.runRoot, "locks")), ["alive.lock"]);
  assert.deepEqual(mountLinesUnder(roots.dir), []);
}

Deno.test(
  "two rm of one container at once: one removes it, the other finds none",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      for (let round = 0; round < 3; round++) {
        await denopodOk(roots, ["create", "--name", "gone", "busybox", "true"]);
        await denopodOk(roots, ["mount", "gone"]);
        const results = await Promise.all([
          denopod(roots, ["rm", "gone"]),
          denopod(roots, ["rm", "gone"]),
        ]);
        assertOneRemoved(results, "gone");
        await assertNothingLeft(roots);
      }
    });
  },
);

Deno.test(
  "two rm that both found the container before either removed it: one wins, one no such",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const id = (await denopodOk(roots, ["create", "--name", "raced", "busybox", "true"])).trim();
      const holder = await holdLock(lockPathOf(roots, id));
      let removers: Background[] = [];
      try {
        removers = [spawnDenopod(roots, ["rm", "raced"]), spawnDenopod(roots, ["rm", "raced"])];
        // Both have looked the container up and wait for its lock.
        await untilBlocked(lockPathOf(roots, id), removers);
      } finally {
        await holder.release();
      }
      assertOneRemoved(await Promise.all(removers.map((r) => r.done)), "raced");
      await assertNothingLeft(roots);
    });
  },
);
