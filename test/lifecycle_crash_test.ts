/**
 * Integration: state stays true through crashes and reboots, as root, in fresh roots, under
 * conmon and the built-in monitor. A monitor killed with -9 (and then its container): `ps` and
 * `inspect` show the container exited and `start` runs it again. A simulated reboot (processes
 * killed, everything under the roots unmounted, the runroot deleted): the first command refreshes,
 * `ps -a` shows the container exited with no mounts in its state, `--rm` leftovers are removed,
 * and `start` runs it again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

import {
  type Cli,
  inspectField,
  listDir,
  mountPointsUnder,
  pollFor,
  processAlive,
  psStatus,
  testEachMonitor,
} from "./helpers/running.ts";
import { unmount } from "../lib/sys/mount.ts";

/** The container's pid and its monitor's pid, from `inspect`. */
async function pidsOf(cli: Cli, name: string): Promise<{ pid: number; monitorPid: number }> {
  const [pid, monitorPid] = (await inspectField(cli, name, "{{.State.Pid}} {{.State.ConmonPid}}"))
    .split(" ").map(Number);
  assert.ok(processAlive(pid), `${name}'s pid ${pid} is alive`);
  assert.ok(processAlive(monitorPid), `${name}'s monitor ${monitorPid} is alive`);
  return { pid, monitorPid };
}

/** SIGKILLs the monitor first (so it cleans nothing up), then the container; waits until gone. */
async function killHard(pids: { pid: number; monitorPid: number }): Promise<void> {
  Deno.kill(pids.monitorPid, "SIGKILL");
  await pollFor("the monitor to die", () => processAlive(pids.monitorPid) ? undefined : true);
  Deno.kill(pids.pid, "SIGKILL");
  await pollFor("the container to die", () => processAlive(pids.pid) ? undefined : true);
}

/** Starts a long-running container `name` and waits until it has printed `ready`. */
async function runReady(cli: Cli, name: string, extra: string[] = []): Promise<void> {
  await cli.ok([
    "run",
    "-d",
    "--name",
    name,
    ...extra,
    "busybox",
    "sh",
    "-c",
    "echo ready; exec sleep 100",
  ]);
  await pollFor(`${name} to print ready`, async () => {
    return (await cli.ok(["logs", name])).includes("ready") ? true : undefined;
  });
}

testEachMonitor(
  "after kill -9 of the monitor and the container, ps and inspect show it exited and start works",
  async (cli, roots) => {
    await runReady(cli, "orphan");
    const pids = await pidsOf(cli, "orphan");
    await killHard(pids);

    assert.match(await psStatus(cli, "orphan"), /^Exited \(-1\) /);
    assert.equal(
      await inspectField(
        cli,
        "orphan",
        "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ConmonPid}} {{.State.ExitCode}}",
      ),
      "exited false 0 0 -1",
    );
    assert.equal(await cli.ok(["ps", "-q"]), "", "not listed as running");
    assert.deepEqual(mountPointsUnder(roots.dir), [], "its storage was unmounted");
    assert.equal((await cli.ok(["wait", "orphan"])).trim(), "-1");

    assert.equal(await cli.ok(["start", "orphan"]), "orphan\n");
    const again = await pidsOf(cli, "orphan");
    assert.notEqual(again.pid, pids.pid);
    assert.match(await psStatus(cli, "orphan"), /^Up /);
    await cli.ok(["stop", "-t", "0", "orphan"]);
    assert.match(await psStatus(cli, "orphan"), /^Exited \(137\)/);
  },
);

testEachMonitor(
  "after kill -9 of the monitor alone, stop still ends the container",
  async (cli) => {
    await runReady(cli, "headless");
    const pids = await pidsOf(cli, "headless");
    Deno.kill(pids.monitorPid, "SIGKILL");
    await pollFor("the monitor to die", () => processAlive(pids.monitorPid) ? undefined : true);
    assert.match(await psStatus(cli, "headless"), /^Up /, "the container itself still runs");
    const stop = await cli.run(["stop", "-t", "1", "headless"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!processAlive(pids.pid), "the container's process is gone");
    assert.match(await psStatus(cli, "headless"), /^Exited /);
    await cli.ok(["start", "headless"]);
    await cli.ok(["rm", "-f", "-t", "0", "headless"]);
    assert.equal(await cli.ok(["ps", "-aq"]), "");
  },
);

testEachMonitor(
  "after a simulated reboot ps -a shows containers stopped and start runs them",
  async (cli, roots) => {
    await runReady(cli, "survivor");
    await runReady(cli, "temporary", ["--rm"]);
    await cli.ok(["create", "--name", "fresh", "busybox", "true"]);
    assert.equal(
      (await cli.run(["run", "--name", "done", "busybox", "sh", "-c", "exit 3"])).code,
      3,
    );
    await cli.ok(["mount", "done"]);
    const killed = [await pidsOf(cli, "survivor"), await pidsOf(cli, "temporary")];
    const survivorId = await inspectField(cli, "survivor", "{{.Id}}");

    // the reboot: every process gone, every mount gone, the runroot (a tmpfs) gone
    for (const pids of killed) await killHard(pids);
    for (const path of mountPointsUnder(roots.dir).reverse()) {
      unmount(path, { detach: true, ignoreNotMounted: true });
    }
    assert.deepEqual(mountPointsUnder(roots.dir), []);
    await Deno.remove(roots.runRoot, { recursive: true });

    const rows = await cli.ok(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    const status = Object.fromEntries(
      rows.trim().split("\n").map((line) => {
        const space = line.indexOf(" ");
        return [line.slice(0, space), line.slice(space + 1)];
      }),
    );
    assert.deepEqual(Object.keys(status).sort(), ["done", "fresh", "survivor"], rows);
    assert.match(status.survivor, /^Exited /);
    assert.equal(status.fresh, "Created");
    assert.match(status.done, /^Exited \(3\) /);
    assert.equal(
      await inspectField(
        cli,
        "survivor",
        "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ConmonPid}}",
      ),
      "exited false 0 0",
    );
    const driver = JSON.parse(await inspectField(cli, "survivor", "{{json .GraphDriver.Data}}"));
    assert.equal(driver.MergedDir, undefined, "no mount left in its state");
    assert.ok(listDir(join(roots.runRoot, "containers")).includes(survivorId), "rundir remade");
    assert.ok(listDir(roots.runRoot).includes("alive"), "alive marker written");

    assert.equal(await cli.ok(["start", "survivor"]), "survivor\n");
    await pollFor("survivor to print ready again", async () => {
      const log = await cli.ok(["logs", "survivor"]);
      return log.split("ready").length === 3 ? true : undefined;
    });
    assert.match(await psStatus(cli, "survivor"), /^Up /);
    assert.equal(await cli.ok(["start", "-a", "fresh"]), "");
    assert.match(await psStatus(cli, "fresh"), /^Exited \(0\)/);
    await cli.ok(["stop", "-t", "0", "survivor"]);
    assert.match(await psStatus(cli, "survivor"), /^Exited \(137\)/);
    assert.deepEqual(mountPointsUnder(roots.dir), []);
  },
);

testEachMonitor(
  "system refresh --force on a live runroot resets exited state and keeps containers startable",
  async (cli) => {
    assert.equal(
      (await cli.run(["run", "--name", "one", "busybox", "sh", "-c", "exit 2"])).code,
      2,
    );
    await cli.ok(["create", "--name", "two", "busybox", "true"]);
    const refresh = await cli.run(["system", "refresh", "--force"]);
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.match(await psStatus(cli, "one"), /^Exited \(2\)/);
    assert.equal(await psStatus(cli, "two"), "Created");
    assert.equal((await cli.run(["start", "-a", "one"])).code, 2);
  },
);

testEachMonitor(
  "system refresh on a live boot refuses, and --force stops running containers before resetting",
  async (cli, roots) => {
    await runReady(cli, "live", ["--stop-timeout", "1"]);
    const pids = await pidsOf(cli, "live");

    const refused = await cli.run(["system", "refresh"]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /^Error: refusing to refresh: .*--force/);
    assert.equal(refused.stderr.trim().split("\n").length, 1);
    assert.match(await psStatus(cli, "live"), /^Up /, "still running, still recorded so");
    assert.ok(processAlive(pids.pid) && processAlive(pids.monitorPid));

    const forced = await cli.run(["system", "refresh", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(!processAlive(pids.pid), "the container's process was stopped");
    await pollFor("the monitor to end", () => processAlive(pids.monitorPid) ? undefined : true);
    assert.match(await psStatus(cli, "live"), /^Exited /);
    assert.deepEqual(listDir(join(roots.runRoot, "runc")), [], "no runc state left");
    assert.deepEqual(mountPointsUnder(roots.dir), [], "nothing left mounted");
    const check = await cli.run(["system", "check", "--quick"]);
    assert.equal(check.code, 0, check.stdout);
    await cli.ok(["start", "live"]);
    assert.match(await psStatus(cli, "live"), /^Up /);
    await cli.ok(["stop", "-t", "0", "live"]);
  },
);
