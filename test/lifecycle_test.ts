/**
 * Integration: running containers, as root, in fresh roots, each scenario under conmon and under
 * the built-in monitor. Attached `run` streams and returns the container's exit code; `run --rm`
 * leaves nothing; 126/127; `stop` (timeout, SIGKILL warning, the `stopping` state seen while it
 * waits, the image's StopSignal); logs (order, timestamps, tail, since, follow); exec; pause;
 * wait; kill; restart; `rm -f`; what `ps` and `inspect` show at each step.
 */
import assert from "node:assert/strict";
import { busyboxRootfsTar, type Roots } from "./helpers/denopod.ts";
import {
  assertNoContainerLeft,
  type Cli,
  inspectField,
  mountPointsUnder,
  pollFor,
  processAlive,
  processCmdline,
  psStatus,
  testEachMonitor,
} from "./helpers/running.ts";
import { layerDirs } from "./helpers/denopod.ts";

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** The layer directories the image brought (everything under `<root>/layers` right now). */
function imageLayers(roots: Roots): string[] {
  return layerDirs(roots);
}

/** Waits until `ps` shows the container `name` exited, and returns its status text. */
function untilExited(cli: Cli, name: string): Promise<string> {
  return pollFor(`${name} to exit`, async () => {
    const status = await psStatus(cli, name);
    return status.startsWith("Exited") ? status : undefined;
  });
}

testEachMonitor(
  "attached run streams stdout and stderr apart and returns exit 7 as 7",
  async (cli) => {
    const result = await cli.run([
      "run",
      "--name",
      "seven",
      "busybox",
      "sh",
      "-c",
      "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 7",
    ]);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout, "out1\nout2\n");
    assert.equal(result.stderr, "err1\nerr2\n");
    assert.match(await psStatus(cli, "seven"), /^Exited \(7\) .* ago$/);
    assert.equal(await inspectField(cli, "seven", "{{.State.ExitCode}}"), "7");
    assert.equal((await cli.run(["start", "-a", "seven"])).code, 7, "start -a returns it too");
  },
);

testEachMonitor(
  "run --rm, attached and detached, leaves no row, layer, rundir or mount",
  async (cli, roots) => {
    const layers = imageLayers(roots);
    const attached = await cli.run(["run", "--rm", "busybox", "sh", "-c", "echo hi; exit 3"]);
    assert.equal(attached.code, 3, attached.stderr);
    assert.equal(attached.stdout, "hi\n");
    await assertNoContainerLeft(cli, roots, layers);

    const id = (await cli.ok(["run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.3"])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await pollFor("the --rm container to be removed by its monitor", async () => {
      return (await cli.ok(["ps", "-aq"])) === "" ? true : undefined;
    });
    assert.equal((await cli.ok(["wait", id])).trim(), "0", "wait answers after removal");
    await assertNoContainerLeft(cli, roots, layers);
  },
);

testEachMonitor(
  "a command that cannot be invoked exits 126, one that is missing 127",
  async (cli, roots) => {
    const dir = await cli.run(["run", "--name", "dir", "busybox", "/etc"]);
    assert.equal(dir.code, 126, dir.stderr);
    assert.equal(dir.stdout, "");
    assert.match(dir.stderr, /^Error: .*"\/etc": permission denied.*\n$/);
    assert.equal(dir.stderr.split("\n").length, 2, "one line");

    const missing = await cli.run(["run", "--name", "missing", "busybox", "/no/such"]);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /^Error: .*\/no\/such.*no such file or directory.*\n$/);
    assert.equal(missing.stderr.split("\n").length, 2, "one line");

    const notOnPath = await cli.run(["run", "--rm", "busybox", "nosuchcommand"]);
    assert.equal(notOnPath.code, 127, notOnPath.stderr);
    assert.match(notOnPath.stderr, /nosuchcommand/);

    assert.match(await psStatus(cli, "dir"), /^Exited \(126\)/);
    assert.match(await psStatus(cli, "missing"), /^Exited \(127\)/);
    assert.equal((await cli.ok(["wait", "missing"])).trim(), "127");
    assert.deepEqual(mountPointsUnder(roots.dir), [], "failed starts leave no mount");
  },
);

testEachMonitor(
  "stop -t 1 of a process ignoring SIGTERM warns and ends it with 137",
  async (cli, roots) => {
    await cli.ok([
      "run",
      "-d",
      "--name",
      "stubborn",
      "busybox",
      "sh",
      "-c",
      'trap "" TERM; echo ready; sleep 100',
    ]);
    await pollFor("the trap to be set", async () => {
      return (await cli.ok(["logs", "stubborn"])).includes("ready") ? true : undefined;
    });
    const stop = await cli.run(["stop", "-t", "1", "stubborn"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, "stubborn\n");
    assert.match(
      stop.stderr,
      /StopSignal SIGTERM failed to stop container stubborn in 1 seconds, resorting to SIGKILL/,
    );
    assert.match(await psStatus(cli, "stubborn"), /^Exited \(137\) .* ago$/);
    assert.equal(
      await inspectField(cli, "stubborn", "{{.State.Status}} {{.State.ExitCode}}"),
      "exited 137",
    );
    assert.equal((await cli.ok(["wait", "stubborn"])).trim(), "137");
    assert.deepEqual(mountPointsUnder(roots.dir), [], "storage unmounted after stop");
  },
);

testEachMonitor(
  "ps and inspect answer during a 10-second stop and show it stopping",
  async (cli) => {
    await cli.ok([
      "run",
      "-d",
      "--name",
      "slow",
      "busybox",
      "sh",
      "-c",
      'trap "" TERM; echo ready; sleep 100',
    ]);
    await pollFor("the trap to be set", async () => {
      return (await cli.ok(["logs", "slow"])).includes("ready") ? true : undefined;
    });
    const stop = cli.spawn(["stop", "-t", "10", "slow"]);
    try {
      await pollFor("ps -a to show Stopping", async () => {
        return (await psStatus(cli, "slow")) === "Stopping" ? true : undefined;
      });
      assert.equal(
        await inspectField(cli, "slow", "{{.State.Status}} {{.State.Running}}"),
        "stopping true",
      );
      assert.equal(stop.exited(), false, "stop returned before the container ended");
    } finally {
      await cli.run(["kill", "slow"]);
    }
    const result = await stop.done;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /resorting to SIGKILL/);
    assert.match(await psStatus(cli, "slow"), /^Exited \(137\)/);
  },
);

testEachMonitor(
  "stop sends the image's StopSignal, or --stop-signal",
  async (cli) => {
    await cli.ok(["import", "--change", "STOPSIGNAL=SIGUSR1", await busyboxRootfsTar(), "bb1"]);
    const trapping = (signal: string) =>
      `trap 'echo caught ${signal}; exit 0' ${signal}; echo ready; ` +
      `while :; do sleep 0.1; done`;
    await cli.ok(["run", "-d", "--name", "usr1", "bb1", "sh", "-c", trapping("USR1")]);
    await cli.ok([
      "run",
      "-d",
      "--name",
      "usr2",
      "--stop-signal",
      "SIGUSR2",
      "busybox",
      "sh",
      "-c",
      trapping("USR2"),
    ]);
    for (const name of ["usr1", "usr2"]) {
      await pollFor(`${name} to set its trap`, async () => {
        return (await cli.ok(["logs", name])).includes("ready") ? true : undefined;
      });
    }
    assert.equal(await inspectField(cli, "usr1", "{{.Config.StopSignal}}"), "10");
    const stop = await cli.run(["stop", "-t", "20", "usr1", "usr2"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, "usr1\nusr2\n");
    assert.doesNotMatch(stop.stderr, /SIGKILL/);
    assert.equal(await inspectField(cli, "usr1", "{{.State.ExitCode}}"), "0");
    assert.equal(await inspectField(cli, "usr2", "{{.State.ExitCode}}"), "0");
    assert.equal(await cli.ok(["logs", "usr1"]), "ready\ncaught USR1\n");
    assert.equal(await cli.ok(["logs", "usr2"]), "ready\ncaught USR2\n");
  },
);

testEachMonitor(
  "logs keep each stream's order, with RFC 3339 timestamps, --tail and --since",
  async (cli) => {
    const code = await cli.run([
      "run",
      "--name",
      "counter",
      "busybox",
      "sh",
      "-c",
      "for i in $(seq 1 50); do echo out$i; echo err$i >&2; done",
    ]);
    assert.equal(code.code, 0, code.stderr);
    const outs = Array.from({ length: 50 }, (_, i) => `out${i + 1}\n`).join("");
    const errs = Array.from({ length: 50 }, (_, i) => `err${i + 1}\n`).join("");
    const logs = await cli.run(["logs", "counter"]);
    assert.equal(logs.code, 0);
    assert.equal(logs.stdout, outs);
    assert.equal(logs.stderr, errs);

    const stamped = await cli.run(["logs", "-t", "counter"]);
    const lines = [
      ...stamped.stdout.trimEnd().split("\n"),
      ...stamped.stderr.trimEnd().split("\n"),
    ];
    assert.equal(lines.length, 100);
    const times: number[] = [];
    for (const line of stamped.stdout.trimEnd().split("\n")) {
      const [stamp, text] = line.split(" ");
      assert.match(stamp, RFC3339, line);
      assert.match(text, /^out\d+$/);
      times.push(Date.parse(stamp));
    }
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "stdout stamps in order");
    for (const line of stamped.stderr.trimEnd().split("\n")) {
      assert.match(line, /^\S+ err\d+$/);
      assert.match(line.split(" ")[0], RFC3339);
    }

    await cli.ok(["run", "--name", "lines", "busybox", "seq", "1", "50"]);
    assert.equal(await cli.ok(["logs", "--tail", "3", "lines"]), "48\n49\n50\n");
    assert.equal(await cli.ok(["logs", "--tail", "0", "lines"]), "");

    await cli.ok([
      "run",
      "--name",
      "timed",
      "busybox",
      "sh",
      "-c",
      "echo early; sleep 0.3; echo late",
    ]);
    const timed = (await cli.ok(["logs", "-t", "timed"])).trimEnd().split("\n");
    assert.equal(timed.length, 2);
    const lateStamp = timed[1].split(" ")[0];
    assert.equal(await cli.ok(["logs", "--since", lateStamp, "timed"]), "late\n");
    assert.equal(await cli.ok(["logs", "--since", "10m", "timed"]), "early\nlate\n");
  },
);

testEachMonitor(
  "logs -f follows a running container and returns when it exits",
  async (cli) => {
    await cli.ok([
      "run",
      "-d",
      "--name",
      "ticker",
      "busybox",
      "sh",
      "-c",
      "echo one; sleep 1; echo two >&2; sleep 0.2; echo three",
    ]);
    const follow = await cli.run(["logs", "-f", "ticker"]);
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(follow.stdout, "one\nthree\n");
    assert.equal(follow.stderr, "two\n");
    assert.match(await psStatus(cli, "ticker"), /^Exited \(0\)/);
  },
);

testEachMonitor(
  "exec passes output and exit code through, with -e, -w and -u",
  async (cli) => {
    await cli.ok(["run", "-d", "--name", "box", "busybox", "sleep", "100"]);
    const three = await cli.run(["exec", "box", "sh", "-c", "echo x; echo y >&2; exit 3"]);
    assert.equal(three.code, 3);
    assert.equal(three.stdout, "x\n");
    assert.equal(three.stderr, "y\n");
    assert.equal(
      await cli.ok(["exec", "-e", "GREETING=hello", "box", "sh", "-c", "echo $GREETING"]),
      "hello\n",
    );
    assert.equal(await cli.ok(["exec", "-w", "/tmp", "box", "pwd"]), "/tmp\n");
    assert.equal(await cli.ok(["exec", "-u", "1234:5678", "box", "id", "-u"]), "1234\n");
    // names resolve in the container's own files, as podman 4.3.1 does (`exec -u nobody CTR id`)
    assert.equal(
      await cli.ok(["exec", "-u", "nobody", "box", "id"]),
      "uid=65534(nobody) gid=65534(nogroup)\n",
    );
    assert.equal(await cli.ok(["exec", "-u", "65534", "box", "id", "-g"]), "65534\n");
    await cli.ok(["exec", "box", "sh", "-c", "echo extra:x:4242:nobody >> /etc/group"]);
    assert.equal(await cli.ok(["exec", "-u", "nobody", "box", "id", "-G"]), "65534 4242\n");
    assert.equal(await cli.ok(["exec", "-u", "nobody:extra", "box", "id", "-g"]), "4242\n");
    // the container's own user gets its groups at start; another user does not inherit them
    await cli.ok(["exec", "box", "sh", "-c", "echo wheel:x:4343:root >> /etc/group"]);
    await cli.ok(["restart", "-t", "0", "box"]);
    assert.equal(await cli.ok(["exec", "box", "id", "-G"]), "0 4343\n");
    assert.equal(await cli.ok(["exec", "-u", "nobody", "box", "id", "-G"]), "65534 4242\n");
    assert.equal(await cli.ok(["exec", "-u", "1000", "box", "id", "-G"]), "0\n");
    for (
      const [user, error] of [
        ["nosuch", "unable to find user nosuch: no matching entries in passwd file"],
        ["nobody:nosuch", "unable to find group nosuch: no matching entries in group file"],
        ["0:0:0", 'invalid user "0:0:0": must be user[:group]'],
        ["4294967296", "uids and gids must be in range 0-2147483647"],
      ]
    ) {
      const bad = await cli.run(["exec", "-u", user, "box", "id"]);
      assert.deepEqual([bad.code, bad.stdout, bad.stderr], [125, "", `Error: ${error}\n`], user);
    }
    const badEnv = await cli.run(["exec", "-e", "=x", "box", "true"]);
    assert.deepEqual([badEnv.code, badEnv.stderr], [
      125,
      'Error: invalid environment variable: "=x"\n',
    ]);
    // runc's own line is not passed on: one Error line
    const missing = await cli.run(["exec", "box", "/no/such"]);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /^Error: runc exec: [^\n]*no such file or directory\n$/);
    const notExecutable = await cli.run(["exec", "box", "/etc/passwd"]);
    assert.equal(notExecutable.code, 126, notExecutable.stderr);
    assert.match(notExecutable.stderr, /^Error: runc exec: [^\n]*permission denied\n$/);
    const badDir = await cli.run(["exec", "-w", "/nonexistent", "box", "true"]);
    assert.equal(badDir.code, 125, badDir.stderr);
    assert.match(badDir.stderr, /^Error: runc exec: [^\n]*"\/nonexistent"[^\n]*\n$/);
    await cli.ok(["kill", "box"]);
    await untilExited(cli, "box");
    const stopped = await cli.run(["exec", "box", "true"]);
    assert.equal(stopped.code, 125);
    assert.match(stopped.stderr, /^Error: .*running.*\n$/);
  },
);

testEachMonitor(
  "pause freezes and unpause thaws: ps Paused, inspect paused, then running",
  async (cli) => {
    await cli.ok(["run", "-d", "--name", "p", "busybox", "sleep", "100"]);
    assert.equal(await cli.ok(["pause", "p"]), "p\n");
    assert.equal(await psStatus(cli, "p"), "Paused");
    assert.equal(
      await inspectField(cli, "p", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"),
      "paused true false",
    );
    const pid = Number(await inspectField(cli, "p", "{{.State.Pid}}"));
    const state = Deno.readTextFileSync(`/proc/${pid}/status`);
    assert.ok(processAlive(pid), "a paused container's process is still there");
    assert.match(state, /State:\s+[SD]/);
    const stopPaused = await cli.run(["stop", "p"]);
    assert.equal(stopPaused.code, 125, "stop is refused while paused");
    assert.match(stopPaused.stderr, /paused/);
    const pauseAgain = await cli.run(["pause", "p"]);
    assert.equal(pauseAgain.code, 125);
    assert.equal(await cli.ok(["unpause", "p"]), "p\n");
    assert.match(await psStatus(cli, "p"), /^Up /);
    assert.equal(await inspectField(cli, "p", "{{.State.Status}}"), "running");
    assert.equal((await cli.run(["unpause", "p"])).code, 125);
    await cli.ok(["pause", "p"]);
    const removed = await cli.run(["rm", "-f", "p"]);
    assert.equal(removed.code, 0, `rm -f of a paused container: ${removed.stderr}`);
    assert.equal(await cli.ok(["ps", "-aq"]), "");
  },
);

testEachMonitor(
  "wait prints each exit code, also after run --rm removed the container",
  async (cli) => {
    await cli.ok(["run", "-d", "--name", "five", "busybox", "sh", "-c", "sleep 0.3; exit 5"]);
    await cli.ok(["run", "-d", "--name", "six", "busybox", "sh", "-c", "exit 6"]);
    assert.equal(await cli.ok(["wait", "five", "six"]), "5\n6\n");
    const gone = await cli.run([
      "run",
      "--rm",
      "--name",
      "gone",
      "busybox",
      "sh",
      "-c",
      "exit 4",
    ]);
    assert.equal(gone.code, 4);
    assert.equal(await cli.ok(["wait", "gone"]), "4\n");
    const none = await cli.run(["wait", "never-was"]);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /no such container/);
  },
);

testEachMonitor(
  "ps and inspect through create, start, kill -s, restart and rm -f",
  async (cli, roots, monitor) => {
    const layers = imageLayers(roots);
    // (the shell is the namespace's init: a signal it has no handler for is ignored)
    const script =
      "trap 'echo got USR1' USR1; trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done";
    const id = (await cli.ok(["create", "--name", "life", "busybox", "sh", "-c", script]))
      .trim();
    assert.equal(await psStatus(cli, "life"), "Created");
    assert.equal(
      await inspectField(
        cli,
        "life",
        "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.StartedAt}}",
      ),
      "created false 0 0001-01-01T00:00:00Z",
    );

    const before = Date.now();
    assert.equal(await cli.ok(["start", "life"]), "life\n");
    assert.match(await psStatus(cli, "life"), /^Up (Less than a second|\d+ seconds?)$/);
    const [running, pidText, monitorPidText, startedAt] = (await inspectField(
      cli,
      "life",
      "{{.State.Running}} {{.State.Pid}} {{.State.ConmonPid}} {{.State.StartedAt}}",
    )).split(" ");
    assert.equal(running, "true");
    const pid = Number(pidText);
    assert.ok(processAlive(pid), `State.Pid ${pid} is a live process`);
    assert.match(
      processCmdline(Number(monitorPidText)),
      monitor === "conmon" ? /conmon/ : /__monitor/,
      "the chosen monitor holds the container",
    );
    assert.match(startedAt, RFC3339);
    assert.ok(Date.parse(startedAt) >= before - 1000, "StartedAt is this start");
    await pollFor("the trap", async () => {
      return (await cli.ok(["logs", "life"])).includes("ready") ? true : undefined;
    });

    assert.equal(await cli.ok(["kill", "-s", "USR1", "life"]), "life\n");
    await pollFor("the USR1 trap to run", async () => {
      return (await cli.ok(["logs", "life"])).includes("got USR1") ? true : undefined;
    });
    assert.ok(processAlive(pid), "USR1 did not end it");
    assert.equal((await cli.run(["kill", "-s", "NOSUCHSIG", "life"])).code, 125);

    await cli.ok(["kill", "-s", "TERM", "life"]);
    assert.match(
      await untilExited(cli, "life"),
      /^Exited \(42\) (Less than a second|\d+ seconds?) ago$/,
    );
    const [exitCode, finishedAt, pidAfter] = (await inspectField(
      cli,
      "life",
      "{{.State.ExitCode}} {{.State.FinishedAt}} {{.State.Pid}}",
    )).split(" ");
    assert.equal(exitCode, "42");
    assert.match(finishedAt, RFC3339);
    assert.ok(Date.parse(finishedAt) >= Date.parse(startedAt), "FinishedAt after StartedAt");
    assert.equal(pidAfter, "0");
    assert.deepEqual(mountPointsUnder(roots.dir), [], "exited container unmounted");
    const killExited = await cli.run(["kill", "life"]);
    assert.equal(killExited.code, 125, "an exited container cannot be killed");

    assert.equal(await cli.ok(["restart", "life"]), "life\n", "restart of an exited one");
    const pid2 = Number(await inspectField(cli, "life", "{{.State.Pid}}"));
    assert.ok(processAlive(pid2) && pid2 !== pid);
    await pollFor("the trap after restart", async () => {
      return (await cli.ok(["logs", "life"])).split("ready").length === 3 ? true : undefined;
    });
    assert.equal(await cli.ok(["restart", "-t", "0", "life"]), "life\n", "restart a running one");
    const pid3 = Number(await inspectField(cli, "life", "{{.State.Pid}}"));
    assert.ok(processAlive(pid3) && pid3 !== pid2, "a new process");
    assert.ok(!processAlive(pid2), "the old process is gone");
    assert.equal(await inspectField(cli, "life", "{{.State.Status}}"), "running");

    const rm = await cli.run(["rm", "life"]);
    assert.equal(rm.code, 2, "rm without -f refuses a running container: podman-rm(1) exit 2");
    assert.equal(await cli.ok(["rm", "-f", "life"]), `life\n`);
    assert.ok(!processAlive(pid3), "rm -f killed it");
    await assertNoContainerLeft(cli, roots, layers);
    assert.equal(id.length, 64);
  },
);
