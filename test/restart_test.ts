/**
 * `--restart`: applied by the cleanup the monitor runs when the container's process ends, counted
 * in `RestartCount`; a bad policy is refused at create; `stop` ends the restarts.
 */
import assert from "node:assert/strict";
import { denopod, importBusybox, IS_ROOT, listDir, withRoots } from "./helpers/denopod.ts";
import {
  type Cli,
  inspectField,
  mountPointsUnder,
  pollFor,
  processAlive,
  psStatus,
  testEachMonitor,
} from "./helpers/running.ts";
import { unmount } from "../lib/sys/mount.ts";
import { join } from "node:path";
import { parseRestartPolicy, shouldRestart } from "../lib/container/restart_policy.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

async function inspect(cli: Cli, id: string, template: string): Promise<string> {
  return (await cli.ok(["inspect", "--format", template, id])).trim();
}

async function waitFor(check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("gave up waiting");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

Deno.test("parseRestartPolicy and shouldRestart follow podman's policies", () => {
  assert.deepEqual(parseRestartPolicy("on-failure:2"), { name: "on-failure", maxRetries: 2 });
  assert.deepEqual(parseRestartPolicy("always"), { name: "always", maxRetries: 0 });
  assert.throws(
    () => parseRestartPolicy("sometimes"),
    /^InvalidArgError: running container create option: "sometimes" is not a valid restart policy: invalid argument$/,
  );
  const onFailure2 = parseRestartPolicy("on-failure:2");
  const facts = { exitCode: 1, restartCount: 0, stoppedByUser: false };
  assert.equal(shouldRestart(onFailure2, facts), true);
  assert.equal(shouldRestart(onFailure2, { ...facts, restartCount: 2 }), false);
  assert.equal(shouldRestart(onFailure2, { ...facts, exitCode: 0 }), false);
  assert.equal(
    shouldRestart(parseRestartPolicy("always"), { ...facts, stoppedByUser: true }),
    false,
  );
  assert.equal(shouldRestart(parseRestartPolicy("no"), facts), false);
});

testEachMonitor(
  "--restart on-failure:2 restarts a failing container twice: RestartCount 2, exited",
  async (cli) => {
    const id = (await cli.ok([
      "run",
      "-d",
      "--restart",
      "on-failure:2",
      "busybox",
      "sh",
      "-c",
      "echo run; exit 3",
    ])).trim();
    const fmt = "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}";
    await waitFor(async () => (await inspect(cli, id, fmt)) === "exited 2 3", 60);
    // no third restart comes
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await inspect(cli, id, fmt), "exited 2 3");
    assert.equal(await cli.ok(["logs", id]), "run\nrun\nrun\n");
    assert.equal(await inspect(cli, id, "{{.HostConfig.RestartPolicy.Name}}"), "on-failure");
  },
);

testEachMonitor("--restart always restarts after the process exits, until stop", async (cli) => {
  const id = (await cli.ok([
    "run",
    "-d",
    "--restart",
    "always",
    "busybox",
    "sh",
    "-c",
    "echo up; sleep 0.3",
  ])).trim();
  const count = async () => Number(await inspect(cli, id, "{{.RestartCount}}"));
  await waitFor(async () => (await count()) >= 2, 60);
  // each run prints its line: the process really ran again, not only the counter (the count is
  // raised as the restart begins, so the third run's line may come a moment after it)
  const runs = async () =>
    (await cli.ok(["logs", id])).split("\n").filter((l) => l === "up").length;
  await waitFor(async () => (await runs()) >= 3, 30);
  await cli.ok(["stop", "-t", "0", id]);
  const after = await count();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(await count(), after);
  assert.equal(await inspect(cli, id, "{{.State.Status}}"), "exited");
});

testEachMonitor("stop during a restart's backoff ends the restarts", async (cli) => {
  const id = (await cli.ok(["run", "-d", "--restart", "always", "busybox", "true"])).trim();
  const fmt = "{{.State.Status}} {{.RestartCount}}";
  // from the 4th restart on the backoff is 1.6 s or more: the container waits, exited
  let seen = "";
  await waitFor(async () => {
    seen = await inspect(cli, id, fmt);
    const [status, count] = seen.split(" ");
    return status === "exited" && Number(count) >= 4;
  }, 60);
  await cli.ok(["stop", "-t", "0", id]);
  const after = await inspect(cli, id, "{{.RestartCount}}");
  assert.ok(Number(after) <= Number(seen.split(" ")[1]) + 1, `${seen} then ${after}`);
  // longer than the pending backoff (at most 5 s): no restart comes
  await new Promise((resolve) => setTimeout(resolve, 5500));
  assert.equal(await inspect(cli, id, fmt), `exited ${after}`);
});

Deno.test("a bad --restart is refused at create with nothing written", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    const result = await denopod(roots, ["create", "--restart", "sometimes", "busybox", "true"]);
    assert.deepEqual([result.code, result.stderr], [
      125,
      'Error: running container create option: "sometimes" is not a valid restart policy: invalid argument\n',
    ]);
    assert.deepEqual(listDir(join(roots.root, "containers")), []);
  });
});

/** A simulated reboot: monitors and containers SIGKILLed, every mount gone, the runroot gone. */
async function simulateReboot(cli: Cli, roots: { dir: string; runRoot: string }, names: string[]) {
  for (const name of names) {
    const [pid, monitorPid] = (await inspectField(cli, name, "{{.State.Pid}} {{.State.ConmonPid}}"))
      .split(" ").map(Number);
    Deno.kill(monitorPid, "SIGKILL");
    await pollFor("the monitor to die", () => processAlive(monitorPid) ? undefined : true);
    Deno.kill(pid, "SIGKILL");
    await pollFor("the container to die", () => processAlive(pid) ? undefined : true);
  }
  for (const path of mountPointsUnder(roots.dir).reverse()) {
    unmount(path, { detach: true, ignoreNotMounted: true });
  }
  await Deno.remove(roots.runRoot, { recursive: true });
}

testEachMonitor(
  "after a reboot, start --all --filter restart-policy=always starts the always containers only",
  async (cli, roots) => {
    const ids: Record<string, string> = {};
    for (
      const [name, extra] of [
        ["keeper", ["--restart", "always"]],
        ["plain", []],
        ["retry", ["--restart", "on-failure"]],
      ] as const
    ) {
      ids[name] = (await cli.ok(["run", "-d", "--name", name, ...extra, "busybox", "sleep", "100"]))
        .trim();
    }
    await simulateReboot(cli, roots, Object.keys(ids));

    // the first command refreshes: all exited, none started by the refresh itself (as podman)
    assert.equal(await cli.ok(["ps", "-q"]), "");
    assert.equal(
      await cli.ok(["ps", "-a", "--filter", "restart-policy=always", "--format", "{{.Names}}"]),
      "keeper\n",
    );
    assert.equal(
      await cli.ok(["ps", "-a", "--filter", "restart-policy=none", "--format", "{{.Names}}"]),
      "plain\n",
    );
    // what podman-restart.service runs at boot
    assert.equal(
      await cli.ok(["start", "--all", "--filter", "restart-policy=always"]),
      `${ids.keeper}\n`,
    );
    assert.match(await psStatus(cli, "keeper"), /^Up /);
    assert.match(await psStatus(cli, "plain"), /^Exited /);
    assert.match(await psStatus(cli, "retry"), /^Exited /);
    await cli.ok(["stop", "-t", "0", "keeper"]);
  },
);

Deno.test("start --filter restart-policy refuses an unknown policy", opts, async () => {
  await withRoots(async (roots) => {
    const result = await denopod(roots, ["start", "--all", "--filter", "restart-policy=never"]);
    assert.deepEqual([result.code, result.stderr], [
      125,
      "Error: never invalid restart policy\n",
    ]);
    const none = await denopod(roots, ["start"]);
    assert.deepEqual([none.code, none.stderr], [
      125,
      "Error: start requires at least one argument\n",
    ]);
  });
});
