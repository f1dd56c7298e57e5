/**
 * The kill-at-every-step harness: each of `run -d`, `start`, `create`, `rm`, `rmi`, `import`,
 * `load`, `save` and `export` is killed with SIGKILL at each of its named crash points (the
 * `DENOPOD_CRASH_AT` seam of `lib/util/crash.ts`), then the next ordinary command (`ps -a`) or
 * `system check --repair` runs (then, with no seam, `run -d`, `rmi` and `load` killed at fixed
 * delays after they start), and every invariant of the housekeeping design page is asserted
 * from the outside: `system check` exits 0 with no output; no intent is left; no layer directory
 * without a row (`tmp-*`, `tmp-del-*`, orphans) and no row without its directory; every container
 * row has its RW layer and bundle; no runc state, monitor or mount beyond the running
 * containers'; no partial output file; the database opens. The steps that run containers do it
 * under both monitors at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type Cli, mountPointsUnder, pollFor, testEachMonitor } from "./helpers/running.ts";
import {
  busyboxRootfsTar,
  denopod,
  listDir,
  REPO,
  type Roots,
  spawnDenopod,
} from "./helpers/denopod.ts";
import { layerDirs } from "./helpers/denopod.ts";

const DOCKER_ARCHIVE = join(REPO, "test/fixtures/images/fixture-docker-archive.tar");

/** One kill: the command, where it dies, and what must exist for it first. */
interface KillCase {
  point: string;
  args: (out: string) => string[];
  setup?: (cli: Cli, out: string) => Promise<void>;
  /** Runs under the built-in monitor too (the case starts or stops a container). */
  bothMonitors?: boolean;
}

const CASES: KillCase[] = [
  ...["create:inserted", "create:storage", "start:mounted", "start:created", "start:started"]
    .map((point) => ({
      point,
      args: () => ["run", "-d", "--name", "k", "busybox", "sleep", "100"],
      bothMonitors: true,
    })),
  ...["start:created", "start:started"].map((point) => ({
    point,
    setup: async (cli: Cli) =>
      void await cli.ok(["create", "--name", "k", "busybox", "sleep", "100"]),
    args: () => ["start", "k"],
    bothMonitors: true,
  })),
  ...["create:inserted", "create:storage"].map((point) => ({
    point,
    args: () => ["create", "--name", "k", "busybox", "true"],
  })),
  ...["remove:intent", "remove:layer"].map((point) => ({
    point,
    setup: async (cli: Cli) =>
      void await cli.ok(["run", "-d", "--name", "k", "busybox", "sleep", "100"]),
    args: () => ["rm", "-f", "-t", "0", "k"],
    bothMonitors: true,
  })),
  ...["rmi:committed", "rmi:renamed"].map((point) => ({
    point,
    setup: async (cli: Cli) => void await cli.ok(["load", "-i", DOCKER_ARCHIVE]),
    args: () => ["rmi", "fixture:2"],
  })),
  {
    point: "layer:extracted",
    args: () => ["import", "IMPORT_TAR", "other"],
  },
  ...["layer:extracted", "load:layers"].map((point) => ({
    point,
    args: () => ["load", "-i", DOCKER_ARCHIVE],
  })),
  {
    point: "save:written",
    args: (out: string) => ["save", "-o", join(out, "image.tar"), "busybox"],
  },
  ...["export:mounted", "export:written"].map((point) => ({
    point,
    setup: async (cli: Cli) => void await cli.ok(["create", "--name", "k", "busybox", "true"]),
    args: (out: string) => ["export", "-o", join(out, "rootfs.tar"), "k"],
  })),
];

/** Kills at fixed delays after the start (no seam): wherever the command happens to be. */
const TIMED: Array<KillCase & { delays: number[] }> = [
  {
    point: "timed",
    args: () => ["run", "-d", "--name", "t", "busybox", "sleep", "100"],
    bothMonitors: true,
    delays: [300, 550],
  },
  {
    point: "timed",
    setup: async (cli: Cli) => void await cli.ok(["load", "-i", DOCKER_ARCHIVE]),
    args: () => ["rmi", "fixture:2"],
    delays: [400],
  },
  { point: "timed", args: () => ["load", "-i", DOCKER_ARCHIVE], delays: [300, 500] },
];

/**
 * Whether the step of `monitor` runs case `i`: every case that starts or stops a container runs
 * under both monitors; the others are shared out between the two steps, which run side by side.
 */
function mine(c: KillCase, i: number, monitor: string): boolean {
  return c.bothMonitors === true || (i % 2 === 0) === (monitor === "conmon");
}

/** The rows of the store, read from the database file itself. */
function readRows(roots: Roots): { layers: string[]; containers: string[]; intents: number } {
  const db = new DatabaseSync(join(roots.root, "state.db"), { readOnly: true });
  try {
    const ids = (sql: string) => (db.prepare(sql).all() as Array<{ id: string }>).map((r) => r.id);
    return {
      layers: ids("SELECT id FROM layers"),
      containers: ids("SELECT id FROM containers"),
      intents: Number((db.prepare("SELECT count(*) AS n FROM intents").get() as { n: number }).n),
    };
  } finally {
    db.close();
  }
}

/** PIDs of monitors (conmon, `__monitor`) whose command line names this runroot. */
function monitorsOf(runRoot: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (
        cmd.includes(runRoot) && (cmd.startsWith("/usr/bin/conmon") || cmd.includes("__monitor"))
      ) {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        if (!/\) Z /.test(stat)) found.push(entry.name);
      }
    } catch {
      // gone
    }
  }
  return found;
}

/** PIDs of live `container cleanup` commands (the monitors' exit commands) of this runroot. */
function cleanupsOf(runRoot: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      const at = args.indexOf("container");
      if (args.includes(runRoot) && at >= 0 && args[at + 1] === "cleanup") found.push(entry.name);
    } catch {
      // gone
    }
  }
  return found;
}

/** Waits until no `container cleanup` of this runroot runs. */
async function waitForExitCommands(roots: Roots, label: string): Promise<void> {
  await pollFor(
    `${label}: the exit commands to end`,
    () => cleanupsOf(roots.runRoot).length === 0 ? true : undefined,
  );
}

/** Every invariant of the design page, checked from outside. */
async function assertInvariants(cli: Cli, roots: Roots, out: string, label: string) {
  // a kill that made the container exit (rm -f stops it first) leaves its monitor's exit command
  // running a while: it finishes what the next command had to skip while it held the lock
  await waitForExitCommands(roots, label);
  const check = await cli.run(["system", "check"]);
  assert.equal(check.code, 0, `${label}: system check exits 0: ${check.stdout}${check.stderr}`);
  assert.equal(check.stdout, "", `${label}: system check finds nothing`);
  const rows = readRows(roots);
  assert.equal(rows.intents, 0, `${label}: no intent left`);
  const owned = new Set([...rows.layers, ...rows.containers]);
  for (const name of layerDirs(roots)) {
    assert.ok(owned.has(name), `${label}: layers/${name} has a row`);
  }
  for (const id of rows.layers) {
    assert.ok(listDir(join(roots.root, "layers", id)).includes("diff"), `${label}: layer ${id}`);
  }
  for (const id of rows.containers) {
    assert.ok(listDir(join(roots.root, "layers", id)).includes("diff"), `${label}: RW layer`);
    assert.ok(listDir(join(roots.root, "containers", id)).includes("userdata"), `${label}: bundle`);
  }
  const running = (await cli.ok(["ps", "-q", "--no-trunc"])).split("\n").filter((l) => l !== "");
  for (const id of listDir(join(roots.runRoot, "runc"))) {
    assert.ok(running.includes(id), `${label}: runc state of ${id} belongs to a running container`);
  }
  assert.equal(monitorsOf(roots.runRoot).length, running.length, `${label}: one monitor each`);
  for (const point of mountPointsUnder(roots.dir)) {
    assert.ok(running.some((id) => point.includes(id)), `${label}: ${point} is a running one's`);
  }
  assert.deepEqual(
    listDir(out).filter((name) => name.includes(".denopod-")),
    [],
    `${label}: no partial output file`,
  );
  // back to a clean store for the next case
  await cli.ok(["stop", "-a", "-t", "0"]);
  await cli.ok(["rm", "-a"]);
  const images = await cli.ok(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}"]);
  for (const line of images.split("\n").filter((l) => l !== "" && !l.includes("/busybox"))) {
    await cli.ok(["rmi", "-f", line.split(" ")[0]]);
  }
  assert.deepEqual(mountPointsUnder(roots.dir), [], `${label}: nothing mounted after rm -a`);
  assert.deepEqual(listDir(join(roots.runRoot, "runc")), [], `${label}: no runc state after rm -a`);
  assert.deepEqual(monitorsOf(roots.runRoot), [], `${label}: no monitor after rm -a`);
}

testEachMonitor(
  "after kill -9 at every step, the next command or check --repair leaves nothing behind",
  async (cli, roots, monitor) => {
    const out = join(roots.dir, "out");
    await Deno.mkdir(out);
    const importTar = await busyboxRootfsTar();
    let n = 0;
    for (const [i, c] of CASES.entries()) {
      if (!mine(c, i, monitor)) continue;
      const label = `${c.point} (${c.args(out)[0]})`;
      await c.setup?.(cli, out);
      const args = c.args(out).map((a) => a === "IMPORT_TAR" ? importTar : a);
      const crashed = await denopod(roots, args, {
        env: { DENOPOD_MONITOR: monitor, DENOPOD_CRASH_AT: c.point },
      });
      assert.equal(crashed.code, 137, `${label}: killed at its crash point: ${crashed.stderr}`);
      // a kill after a stop leaves the monitor's exit command running; while it holds the
      // container's lock, the replay and --repair leave that container alone (another process is
      // at work on it): recovery is judged once it has ended
      await waitForExitCommands(roots, label);
      // half the cases recover through the next ordinary command, half through check --repair
      if (n++ % 2 === 0) {
        const ps = await cli.run(["ps", "-a"]);
        assert.equal(ps.code, 0, `${label}: ps after the kill: ${ps.stderr}`);
      } else {
        const repair = await cli.run(["system", "check", "--repair"]);
        assert.equal(repair.code, 0, `${label}: check --repair: ${repair.stdout}${repair.stderr}`);
      }
      await assertInvariants(cli, roots, out, label);
    }
    for (const [i, c] of TIMED.entries()) {
      if (!mine(c, i, monitor)) continue;
      for (const delay of c.delays) {
        const label = `kill after ${delay} ms (${c.args(out)[0]})`;
        await c.setup?.(cli, out);
        const child = spawnDenopod(roots, c.args(out), { DENOPOD_MONITOR: monitor });
        await new Promise((resolve) => setTimeout(resolve, delay));
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch {
          // it finished first: the invariants hold all the same
        }
        await child.done;
        const ps = await cli.run(["ps", "-a"]);
        assert.equal(ps.code, 0, `${label}: ps after the kill: ${ps.stderr}`);
        await assertInvariants(cli, roots, out, label);
      }
    }
  },
);
