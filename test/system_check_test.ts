/**
 * Integration: `system check [--repair] [--quick] [--force] [--format json]` against leftovers
 * made by hand, one class at a time, as root in fresh roots: exit 0 and no output when clean; one
 * line per finding and exit 1 when not repaired; `--repair` fixes and exits 0 (what is left is
 * checked on disk, in `/proc/self/mountinfo` and in the process table); a container whose lock
 * another process holds is neither reported nor touched; a damaged image layer needs `--force`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type Cli,
  cliFor,
  inspectField,
  mountPointsUnder,
  processAlive,
  ROOT_TEST,
} from "./helpers/running.ts";
import { importBusybox, listDir, type Roots, withRoots } from "./helpers/denopod.ts";
import { tryLock } from "../lib/sys/lockfile.ts";
import { mountFs, unmount } from "../lib/sys/mount.ts";
import { layerDirs } from "./helpers/denopod.ts";

/** Runs `fn` with fresh roots holding the busybox image, and the CLI under conmon. */
function checkTest(name: string, fn: (cli: Cli, roots: Roots) => Promise<void>): void {
  Deno.test(name, ROOT_TEST, () =>
    withRoots(async (roots) => {
      await importBusybox(roots);
      await fn(cliFor(roots, "conmon"), roots);
    }));
}

/** Runs `system check ARGS`; returns its exit code and output lines. */
async function check(cli: Cli, args: string[] = []): Promise<{ code: number; lines: string[] }> {
  const result = await cli.run(["system", "check", ...args]);
  assert.equal(result.stderr, "", "nothing on stderr");
  return { code: result.code, lines: result.stdout.split("\n").filter((l) => l !== "") };
}

function sql(roots: Roots, statement: string): void {
  const db = new DatabaseSync(join(roots.root, "state.db"));
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}

checkTest(
  "system check is silent and exits 0 on a clean store, with or without --quick",
  async (cli) => {
    await cli.ok(["create", "--name", "a", "busybox", "true"]);
    await cli.ok(["run", "-d", "--name", "b", "busybox", "sleep", "100"]);
    assert.deepEqual(await check(cli), { code: 0, lines: [] });
    assert.deepEqual(await check(cli, ["--quick"]), { code: 0, lines: [] });
    assert.deepEqual(await check(cli, ["--repair"]), { code: 0, lines: [] });
    const json = await cli.run(["system", "check", "--format", "json"]);
    assert.deepEqual(JSON.parse(json.stdout), { findings: [] });
    await cli.ok(["stop", "-t", "0", "b"]);
  },
);

checkTest(
  "system check finds layer directories without a row and --repair removes them",
  async (cli, roots) => {
    const layers = join(roots.root, "layers");
    const before = listDir(layers);
    await Deno.mkdir(join(layers, "tmp-del-0123456789abcdef", "diff"), { recursive: true });
    await Deno.mkdir(join(layers, "a".repeat(64), "diff"), { recursive: true });
    await Deno.mkdir(join(layers, "tmp-fedcba9876543210", "diff"), { recursive: true });
    const found = await check(cli, ["--quick"]);
    assert.equal(found.code, 1);
    assert.equal(found.lines.length, 3, found.lines.join("\n"));
    assert.ok(found.lines.every((l) => l.startsWith("layer: layers/")), found.lines.join("\n"));
    const json = JSON.parse(
      (await cli.run(["system", "check", "--quick", "--format", "json"])).stdout,
    );
    assert.deepEqual(
      json.findings.map((f: { subject: string }) => f.subject).sort(),
      ["a".repeat(64), "tmp-del-0123456789abcdef", "tmp-fedcba9876543210"],
    );
    const repaired = await check(cli, ["--quick", "--repair"]);
    assert.equal(repaired.code, 0, repaired.lines.join("\n"));
    assert.ok(repaired.lines.every((l) => l.endsWith("(repaired)")), repaired.lines.join("\n"));
    assert.deepEqual(listDir(layers), before);
    assert.deepEqual(await check(cli), { code: 0, lines: [] });
  },
);

checkTest(
  "system check finds a mount state does not record, and a recorded mount that is gone",
  async (cli, roots) => {
    const id = (await cli.ok(["create", "--name", "c", "busybox", "true"])).trim();
    const merged = join(roots.root, "layers", id, "merged");
    mountFs({ type: "tmpfs", source: "stray", target: merged, flags: 0, data: "size=1m" });
    try {
      const found = await check(cli, ["--quick"]);
      assert.equal(found.code, 1);
      assert.deepEqual(found.lines, [
        `mount: ${merged} is mounted but container c (${id.slice(0, 12)})'s state says it is not`,
      ]);
      assert.equal((await check(cli, ["--quick", "--repair"])).code, 0);
      assert.deepEqual(mountPointsUnder(roots.dir), [], "unmounted");
    } finally {
      unmount(merged, { detach: true, ignoreNotMounted: true });
    }
    // the other way round: state says mounted, the kernel says not
    await cli.ok(["mount", "c"]);
    unmount(merged, { detach: true });
    const found = await check(cli, ["--quick"]);
    assert.equal(found.code, 1);
    assert.match(
      found.lines[0],
      /^mount: container c .* is recorded as mounted \(1 users\) but .* is not mounted$/,
    );
    assert.equal((await check(cli, ["--quick", "--repair"])).code, 0);
    assert.equal(await cli.ok(["mount"]), "", "no longer listed as mounted");
    assert.deepEqual(await check(cli, ["--quick"]), { code: 0, lines: [] });
  },
);

checkTest(
  "system check finds runc state and a monitor no row accounts for, and --repair ends them",
  async (cli, roots) => {
    const id = (await cli.ok(["run", "-d", "--name", "ghost", "busybox", "sleep", "100"])).trim();
    const pid = Number(await inspectField(cli, "ghost", "{{.State.Pid}}"));
    const monitorPid = Number(await inspectField(cli, "ghost", "{{.State.ConmonPid}}"));
    sql(roots, `DELETE FROM containers WHERE id = '${id}'`);
    const found = await check(cli, ["--quick"]);
    assert.equal(found.code, 1);
    assert.ok(
      found.lines.some((l) => l.startsWith(`runc-state: runc has state for ${id.slice(0, 12)}`)),
      found.lines.join("\n"),
    );
    const repaired = await check(cli, ["--quick", "--repair"]);
    assert.equal(repaired.code, 0, repaired.lines.join("\n"));
    assert.ok(!processAlive(pid), "the container's process is gone");
    assert.ok(!processAlive(monitorPid), "its monitor is gone");
    assert.deepEqual(listDir(join(roots.runRoot, "runc")), []);
    assert.deepEqual(mountPointsUnder(roots.dir), [], "its mounts are gone");
    assert.deepEqual(await check(cli), { code: 0, lines: [] });
  },
);

checkTest(
  "system check removes a container whose layer is gone, but never one locked by another process",
  async (cli, roots) => {
    const broken = (await cli.ok(["create", "--name", "broken", "busybox", "true"])).trim();
    const held = (await cli.ok(["create", "--name", "held", "busybox", "true"])).trim();
    await Deno.remove(join(roots.root, "layers", broken), { recursive: true });
    await Deno.remove(join(roots.root, "layers", held), { recursive: true });
    const lock = tryLock(join(roots.runRoot, "locks", `${held}.lock`));
    assert.ok(lock, "the test holds held's lock");
    try {
      const found = await check(cli, ["--quick"]);
      assert.equal(found.code, 1);
      assert.deepEqual(found.lines, [
        `container: container broken (${broken.slice(0, 12)}) has no RW layer`,
      ]);
      assert.equal((await check(cli, ["--quick", "--repair"])).code, 0);
      const names = await cli.ok(["ps", "-a", "--format", "{{.Names}}"]);
      assert.equal(names, "held\n", "broken removed, held untouched");
      assert.ok(listDir(join(roots.root, "containers")).includes(held));
    } finally {
      lock.release();
    }
    const later = await check(cli, ["--quick"]);
    assert.equal(later.code, 1, "once released, held is reported");
  },
);

checkTest(
  "system check re-hashes image layers unless --quick; repairing a damaged image needs --force",
  async (cli, roots) => {
    const layerIds = layerDirs(roots);
    assert.equal(layerIds.length, 1);
    await Deno.writeTextFile(
      join(roots.root, "layers", layerIds[0], "diff", "bin", "busybox"),
      "not busybox",
    );
    assert.deepEqual(await check(cli, ["--quick"]), { code: 0, lines: [] });
    const found = await check(cli);
    assert.equal(found.code, 1);
    assert.match(
      found.lines[0],
      /^image: layer [0-9a-f]{12} is damaged on disk .*: images [0-9a-f]{12}$/,
    );
    const unforced = await check(cli, ["--repair"]);
    assert.equal(unforced.code, 1);
    assert.match(unforced.lines[0], /\(not repaired: needs --force \(removes images\)\)$/);
    assert.equal((await check(cli, ["--repair", "--force"])).code, 0);
    assert.equal(await cli.ok(["images", "-q"]), "");
    assert.deepEqual(layerDirs(roots), []);
  },
);

checkTest("system check rejects a bad --format and --max with a one-line error", async (cli) => {
  for (const args of [["--format", "yaml"], ["--max", "soon"]]) {
    const result = await cli.run(["system", "check", ...args]);
    assert.equal(result.code, 125);
    assert.match(result.stderr, /^Error: .+\n$/);
  }
});

checkTest(
  "system check --max: a layer no image uses, older than the limit, is a cancelled import",
  async (cli, roots) => {
    const layer = layerDirs(roots)[0];
    sql(roots, "DELETE FROM image_names; DELETE FROM images;");
    assert.deepEqual(await check(cli, ["--quick"]), { code: 0, lines: [] }, "younger than 24h");
    const found = await check(cli, ["--quick", "--max", "0s"]);
    assert.equal(found.code, 1);
    assert.deepEqual(found.lines, [
      `layer: layer ${layer.slice(0, 12)} is used by no image (a cancelled import or load)`,
    ]);
    assert.equal((await check(cli, ["--quick", "--max", "0s", "--repair"])).code, 0);
    assert.deepEqual(layerDirs(roots), []);
    assert.deepEqual(await check(cli, ["--max", "0s"]), { code: 0, lines: [] });
  },
);
