/**
 * Integration: the crash windows named in issue 8, each reproduced (the command SIGKILLed at the
 * step the issue names, through the `DENOPOD_CRASH_AT` seam) and asserted as the user sees it
 * afterwards, under both monitors where a container runs. Also: the replay never touches a
 * container whose lock another process holds, and an intent whose writer is alive is not stale.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type Cli,
  cliFor,
  mountPointsUnder,
  pollFor,
  processAlive,
  psStatus,
  ROOT_TEST,
  testEachMonitor,
} from "./helpers/running.ts";
import {
  denopod,
  importBusybox,
  listDir,
  REPO,
  type Roots,
  spawnDenopod,
  withRoots,
} from "./helpers/denopod.ts";
import { tryLock } from "../lib/sys/lockfile.ts";
import { layerDirs } from "./helpers/denopod.ts";

/** Runs `args` with the crash point set; asserts it died of SIGKILL. */
async function crashAt(roots: Roots, monitor: string, point: string, args: string[]) {
  const result = await denopod(roots, args, {
    env: { DENOPOD_MONITOR: monitor, DENOPOD_CRASH_AT: point },
  });
  assert.equal(result.code, 137, `killed at ${point}: ${result.stderr}`);
}

function intentCount(roots: Roots): number {
  const db = new DatabaseSync(join(roots.root, "state.db"), { readOnly: true });
  try {
    return Number((db.prepare("SELECT count(*) AS n FROM intents").get() as { n: number }).n);
  } finally {
    db.close();
  }
}

/** PIDs of live processes whose command line names `dir` (monitors, `container cleanup`). */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes(dir) && processAlive(Number(entry.name))) found.push(entry.name);
    } catch {
      // gone
    }
  }
  return found;
}

async function assertNothingLeft(cli: Cli, roots: Roots): Promise<void> {
  // conmon runs its exit command (`container cleanup`) when the container it held ends: after an
  // `rm -f` that command may still be finding the container gone. Wait for it, then look.
  await pollFor(
    "the monitors' exit commands to end",
    () => processesOf(roots.runRoot).length === 0 ? true : undefined,
  );
  assert.equal(await cli.ok(["ps", "-aq"]), "");
  assert.deepEqual(listDir(join(roots.runRoot, "runc")), [], "no runc state");
  assert.deepEqual(mountPointsUnder(roots.dir), [], "no mount");
  assert.deepEqual(processesOf(roots.runRoot), [], "no monitor or container process");
  assert.equal((await cli.run(["system", "check"])).code, 0);
}

testEachMonitor(
  "run -d killed after runc create: the next command undoes it, start runs it, rm -f leaves nothing",
  async (cli, roots, monitor) => {
    await crashAt(roots, monitor, "start:created", [
      "run",
      "-d",
      "--name",
      "k",
      "busybox",
      "sleep",
      "100",
    ]);
    // the issue: the container ran while its row said Created; start failed; rm left the monitor
    assert.equal(await psStatus(cli, "k"), "Created");
    assert.deepEqual(
      listDir(join(roots.runRoot, "runc")),
      [],
      "the half-started container is gone",
    );
    assert.deepEqual(processesOf(join(roots.runRoot, "containers")), [], "no monitor left");
    assert.equal(intentCount(roots), 0);
    assert.equal(await cli.ok(["start", "k"]), "k\n");
    assert.match(await psStatus(cli, "k"), /^Up /);
    await cli.ok(["rm", "-f", "-t", "0", "k"]);
    await assertNothingLeft(cli, roots);
  },
);

Deno.test(
  "create killed mid-way leaves no row without its userdata; the name is free again",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      await importBusybox(roots);
      const cli = cliFor(roots, "conmon");
      await crashAt(roots, "conmon", "create:storage", [
        "create",
        "--name",
        "half",
        "busybox",
        "true",
      ]);
      assert.equal(await cli.ok(["ps", "-aq"]), "", "the half-made container is removed");
      assert.deepEqual(listDir(join(roots.root, "containers")), []);
      await cli.ok(["create", "--name", "half", "busybox", "true"]);
      assert.equal((await cli.run(["start", "-a", "half"])).code, 0);
      await cli.ok(["rm", "half"]);
      await assertNothingLeft(cli, roots);
    }),
);

Deno.test(
  "rmi killed after setting layers aside leaves no layers/tmp-del-* behind",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      const cli = cliFor(roots, "conmon");
      await cli.ok(["load", "-i", join(REPO, "test/fixtures/images/fixture-docker-archive.tar")]);
      await crashAt(roots, "conmon", "rmi:renamed", ["rmi", "fixture:2"]);
      assert.ok(
        layerDirs(roots).some((n) => n.startsWith("tmp-del-")),
        "the kill left a directory set aside",
      );
      assert.equal(await cli.ok(["images", "-q"]), "", "the next command runs");
      assert.deepEqual(layerDirs(roots), [], "and finished the deletion");
      assert.equal((await cli.run(["system", "check"])).code, 0);
    }),
);

Deno.test(
  "export -o and save -o killed leave no partial file and no mounted overlay",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      await importBusybox(roots);
      const cli = cliFor(roots, "conmon");
      const out = join(roots.dir, "out");
      await Deno.mkdir(out);
      await cli.ok(["create", "--name", "x", "busybox", "true"]);
      await crashAt(roots, "conmon", "export:written", ["export", "-o", join(out, "x.tar"), "x"]);
      assert.equal(listDir(out).length, 1, "the kill left the partial file");
      assert.equal(mountPointsUnder(roots.root).length, 1, "and the overlay mounted");
      const check = await cli.run(["system", "check"]);
      assert.equal(check.code, 1, "system check reports it");
      assert.match(check.stdout, /^intent: unfinished export of container .* \(partial file .*\)/);
      assert.equal((await cli.run(["system", "check", "--repair"])).code, 0);
      assert.deepEqual(listDir(out), [], "no partial file");
      assert.deepEqual(mountPointsUnder(roots.dir), [], "no mount");
      assert.equal(await cli.ok(["mount"]), "");

      await crashAt(roots, "conmon", "save:written", ["save", "-o", join(out, "b.tar"), "busybox"]);
      assert.equal(listDir(out).length, 1, "the kill left the partial file");
      await cli.ok(["ps", "-a"]);
      assert.deepEqual(listDir(out), [], "the next command deleted it");
      await cli.ok(["export", "-o", join(out, "x.tar"), "x"]);
      assert.deepEqual(listDir(out), ["x.tar"]);
    }),
);

testEachMonitor(
  "the replay leaves a container whose lock another process holds alone until it is released",
  async (cli, roots, monitor) => {
    await crashAt(roots, monitor, "start:started", [
      "run",
      "-d",
      "--name",
      "k",
      "busybox",
      "sleep",
      "100",
    ]);
    const id = listDir(join(roots.root, "containers"))[0];
    const lock = tryLock(join(roots.runRoot, "locks", `${id}.lock`));
    assert.ok(lock);
    try {
      const ps = await cli.run(["ps", "-a", "--format", "{{.Names}}"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(intentCount(roots), 1, "the intent stays");
      assert.deepEqual(listDir(join(roots.runRoot, "runc")), [id], "the container is not touched");
      const check = await cli.run(["system", "check", "--repair"]);
      assert.equal(check.stdout, "", "nor reported or repaired by check");
    } finally {
      lock.release();
    }
    await cli.ok(["ps", "-a"]);
    assert.equal(intentCount(roots), 0, "replayed once the lock is free");
    assert.equal(await psStatus(cli, "k"), "Created", "the start was undone");
    assert.deepEqual(listDir(join(roots.runRoot, "runc")), []);
    await cli.ok(["rm", "k"]);
    await assertNothingLeft(cli, roots);
  },
);

Deno.test(
  "an export still writing is not taken for an interrupted one",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      await importBusybox(roots);
      const cli = cliFor(roots, "conmon");
      await cli.ok(["create", "--name", "x", "busybox", "true"]);
      const fifo = join(roots.dir, "pipe");
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.ok(made.success);
      const exporting = spawnDenopod(roots, ["export", "-o", fifo, "x"]);
      // the export blocks opening the FIFO: nobody reads it yet; its intent is written first
      const deadline = Date.now() + 15_000;
      while (intentCount(roots) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(intentCount(roots), 1, "the export recorded its intent");
      const check = await cli.run(["system", "check", "--repair"]);
      assert.deepEqual([check.code, check.stdout], [0, ""], "a live intent is not stale");
      assert.equal(intentCount(roots), 1);
      const reader = await Deno.open(fifo, { read: true });
      let bytes = 0;
      for await (const chunk of reader.readable) bytes += chunk.length;
      const done = await exporting.done;
      assert.equal(done.code, 0, done.stderr);
      assert.ok(bytes > 1024, "the export completed");
      assert.equal(intentCount(roots), 0);
      assert.deepEqual(mountPointsUnder(roots.dir), []);
    }),
);
