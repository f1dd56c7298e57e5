/**
 * Integration: `rm -f` stops a running container as `stop` does — its stop signal, then SIGKILL
 * after `-t` seconds (default: its `--stop-timeout`), as podman 4.3.1 does — and `rm -t` needs
 * `-f` (podman's words). Each test checks what a user sees: stderr, a file the container's
 * signal trap wrote into a bind mount, the process gone, nothing left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Roots } from "./helpers/denopod.ts";
import {
  assertNoContainerLeft,
  type Cli,
  inspectField,
  pollFor,
  processAlive,
  testEachMonitor,
} from "./helpers/running.ts";
import { layerDirs } from "./helpers/denopod.ts";

/** Runs `sh -c script` detached as `name` and waits until it printed `ready`; returns its PID. */
async function runReady(cli: Cli, name: string, flags: string[], script: string) {
  await cli.ok(["run", "-d", "--name", name, ...flags, "busybox", "sh", "-c", script]);
  await pollFor(`${name} to be ready`, async () => {
    return (await cli.ok(["logs", name])).includes("ready") ? true : undefined;
  });
  return Number(await inspectField(cli, name, "{{.State.Pid}}"));
}

const WARNING = (name: string, seconds: number) =>
  new RegExp(
    `StopSignal SIGTERM failed to stop container ${name} in ${seconds} seconds, resorting to SIGKILL`,
  );

function layersOf(roots: Roots): string[] {
  return layerDirs(roots);
}

testEachMonitor(
  "rm -f sends the stop signal first: a TERM trap runs before the container goes",
  async (cli, roots) => {
    const layers = layersOf(roots);
    const out = join(roots.dir, "out");
    await Deno.mkdir(out);
    const pid = await runReady(
      cli,
      "graceful",
      ["-v", `${out}:/out`],
      'trap "echo bye > /out/trap; exit 7" TERM; echo ready; while :; do sleep 0.1; done',
    );
    const rm = await cli.run(["rm", "-f", "-t", "30", "graceful"]);
    assert.deepEqual([rm.code, rm.stdout], [0, "graceful\n"], rm.stderr);
    assert.doesNotMatch(rm.stderr, /resorting to SIGKILL/);
    assert.equal(Deno.readTextFileSync(join(out, "trap")), "bye\n", "the trap ran");
    assert.ok(!processAlive(pid));
    // a --rm container's monitor may remove it as it ends: rm -f still succeeds, once
    const auto = await runReady(
      cli,
      "auto",
      ["--rm"],
      'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done',
    );
    const rmAuto = await cli.run(["rm", "-f", "auto"]);
    assert.deepEqual([rmAuto.code, rmAuto.stdout, rmAuto.stderr], [0, "auto\n", ""]);
    assert.ok(!processAlive(auto));
    await assertNoContainerLeft(cli, roots, layers);
  },
);

testEachMonitor(
  "rm -f -t N waits N seconds, then warns and kills; without -t the stop timeout counts",
  async (cli, roots) => {
    const layers = layersOf(roots);
    const stubborn = 'trap "" TERM; echo ready; sleep 100';
    const first = await runReady(cli, "stubborn", [], stubborn);
    const noForce = await cli.run(["rm", "-t", "1", "stubborn"]);
    assert.deepEqual(
      [noForce.code, noForce.stdout, noForce.stderr],
      [125, "", "Error: --force option must be specified to use the --time option\n"],
    );
    assert.ok(processAlive(first), "rm -t without -f touched nothing");
    const rm = await cli.run(["rm", "-f", "-t", "1", "stubborn"]);
    assert.deepEqual([rm.code, rm.stdout], [0, "stubborn\n"], rm.stderr);
    assert.match(rm.stderr, WARNING("stubborn", 1));
    assert.ok(!processAlive(first));

    const second = await runReady(cli, "timeout", ["--stop-timeout", "1"], stubborn);
    const byDefault = await cli.run(["rm", "-f", "timeout"]);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stderr, WARNING("timeout", 1), "the container's --stop-timeout");
    assert.ok(!processAlive(second));

    const third = await runReady(cli, "at-once", [], stubborn);
    const now = await cli.run(["rm", "-f", "-t", "0", "at-once"]);
    assert.deepEqual([now.code, now.stdout, now.stderr], [0, "at-once\n", ""]);
    assert.ok(!processAlive(third));
    const bad = await cli.run(["rm", "-f", "-t", "-1", "x"]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^Error: .*"-1".*--time/);
    await assertNoContainerLeft(cli, roots, layers);
  },
);
