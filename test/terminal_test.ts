/**
 * Terminals and stdin, as a user sees them, under both monitors: `run -it`, `exec -it`,
 * `attach`, detach keys, resizes, Ctrl-C, signals to a client without a terminal, stdin only
 * with `-i`. The interactive cases run the CLI in a real pseudo-terminal (`helpers/pty.ts`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliPrefix, denopod, withRoots } from "./helpers/denopod.ts";
import { inPty, type PtyResult } from "./helpers/pty.ts";
import { pollFor, psStatus, ROOT_TEST, testEachMonitor } from "./helpers/running.ts";

function assertPty(r: PtyResult, code: number): void {
  assert.equal(r.failed, null, `a step timed out; the screen showed:\n${r.output}`);
  assert.equal(r.exit, code, `exit code; the screen showed:\n${r.output}`);
  assert.ok(r.termiosSame, "the caller's terminal settings (stty -g) changed");
}

testEachMonitor(
  "run -it: a prompt, the caller's size before start, resizes followed, terminal restored",
  async (_cli, roots, monitor) => {
    const r = await inPty(roots, monitor, ["run", "--rm", "-it", "busybox", "sh"], [
      { size: [30, 100] },
      { expect: "/ # " },
      { send: "stty size\n" },
      { expect: "\r\n30 100\r\n" },
      { resize: [40, 120] },
      { sleep: 0.5 },
      { send: "stty size\n" },
      { expect: "\r\n40 120\r\n" },
      { send: "exit 3\n" },
    ]);
    assertPty(r, 3);
  },
);

testEachMonitor(
  "run -it shows the terminal's output once: a line's echo, then cat's copy (podman 4.3.1)",
  async (_cli, roots, monitor) => {
    const r = await inPty(roots, monitor, ["run", "--rm", "-it", "busybox", "cat"], [
      { sleep: 0.5 },
      { send: "once-only\n" },
      { expect: "once-only\r\n(.*)once-only\r\n" },
      // the log is written in batches meanwhile: none of it may come back to the client
      { sleep: 0.5 },
      { send: "\x04" },
    ]);
    assertPty(r, 0);
    assert.equal(r.output.split("once-only").length - 1, 2, `the screen showed:\n${r.output}`);
  },
);

testEachMonitor(
  "Ctrl-C in run -it reaches a trapping process, which exits 130",
  async (_c, roots, monitor) => {
    const script = 'trap "echo trapped; exit 130" INT; echo ready; while true; do sleep 0.1; done';
    const r = await inPty(roots, monitor, ["run", "--rm", "-it", "busybox", "sh", "-c", script], [
      { expect: "ready" },
      { send: "\x03" },
      { expect: "trapped" },
    ]);
    assertPty(r, 130);
  },
);

testEachMonitor(
  "SIGTERM to a run -it client restores the caller's terminal; the container runs on",
  async (cli, roots, monitor) => {
    const r = await inPty(roots, monitor, ["run", "-it", "--name", "t", "busybox", "sh"], [
      { expect: "/ # " },
      { signal: "TERM" },
    ]);
    assert.equal(r.exit, 143, r.output);
    assert.ok(r.termiosSame, "the caller's terminal settings (stty -g) changed");
    assert.match(await psStatus(cli, "t"), /^Up /);
  },
);

testEachMonitor(
  "SIGINT to an attached client without -t is passed on; it exits with the container's 130",
  async (cli) => {
    const script = 'trap "echo trapped; exit 130" INT; echo ready; while true; do sleep 0.1; done';
    const client = cli.spawn(["run", "--name", "c", "busybox", "sh", "-c", script]);
    await pollFor("ready in the log", async () => {
      const logs = await cli.run(["logs", "c"]);
      return logs.stdout.includes("ready") ? true : undefined;
    });
    Deno.kill(client.pid, "SIGINT");
    const result = await client.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stdout, /ready\ntrapped\n/);
    assert.match(await psStatus(cli, "c"), /^Exited \(130\)/);
  },
);

testEachMonitor(
  "detach keys in separate reads leave the container running; attach gets the shell back and exits 0 when it ends (podman 4.3.1)",
  async (cli, roots, monitor) => {
    const first = await inPty(roots, monitor, ["run", "-it", "--name", "d", "busybox", "sh"], [
      { expect: "/ # " },
      { send: "echo one\n" },
      { expect: "\r\none\r\n" },
      { sendEach: "\x10\x11", delay: 0.3 },
    ]);
    assertPty(first, 0);
    assert.match(await psStatus(cli, "d"), /^Up /);
    const again = await inPty(roots, monitor, ["attach", "d"], [
      { send: "echo two\n" },
      { expect: "\r\ntwo\r\n" },
      { send: "exit 4\n" },
    ]);
    assertPty(again, 0);
    assert.match(await psStatus(cli, "d"), /^Exited \(4\)/);
  },
);

testEachMonitor(
  "a client killed with SIGKILL leaves the container running; output meanwhile goes to the log",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "-it", "--name", "k", "busybox", "sh"]);
    const killed = await inPty(roots, monitor, ["attach", "k"], [
      { sleep: 1 },
      { send: "echo one\n" },
      { expect: "\r\none\r\n" },
      { signal: "KILL" },
    ]);
    assert.equal(killed.exit, 137);
    assert.match(await psStatus(cli, "k"), /^Up /);
    await cli.ok(["exec", "k", "sh", "-c", "echo nobody-attached > /proc/1/fd/1"]);
    await pollFor("the output in the log", async () => {
      const logs = await cli.run(["logs", "k"]);
      return logs.stdout.includes("nobody-attached") ? true : undefined;
    });
    const again = await inPty(roots, monitor, ["attach", "k"], [
      { sleep: 1 },
      { send: "echo two\n" },
      { expect: "\r\ntwo\r\n" },
      { send: "exit 5\n" },
    ]);
    assertPty(again, 0);
    assert.match(await psStatus(cli, "k"), /^Exited \(5\)/);
  },
);

testEachMonitor(
  "start -a -i attaches a created -it container's terminal",
  async (cli, roots, monitor) => {
    await cli.ok(["create", "-it", "--name", "s", "busybox", "sh"]);
    const r = await inPty(roots, monitor, ["start", "-a", "-i", "s"], [
      { size: [25, 90] },
      { expect: "/ # " },
      { send: "stty size; exit 6\n" },
      { expect: "\r\n25 90\r\n" },
    ]);
    assertPty(r, 6);
  },
);

testEachMonitor(
  "exec -it: a prompt, the caller's size, the process's exit code",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    const r = await inPty(roots, monitor, ["exec", "-it", "e", "sh"], [
      { size: [33, 99] },
      { expect: "/ # " },
      { send: "stty size\n" },
      { expect: "\r\n33 99\r\n" },
      { resize: [35, 101] },
      { sleep: 0.3 },
      { send: "stty size; exit 7\n" },
      { expect: "\r\n35 101\r\n" },
    ]);
    assertPty(r, 7);
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "exec -it then the detach keys: the shell lives on (its monitor holds the terminal); exec -it's exit code; exec -dt",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    const r = await inPty(roots, monitor, ["exec", "-it", "e", "sh"], [
      { expect: "/ # " },
      { send: "echo $$ > /tmp/shell.pid; echo saved\n" },
      { expect: "saved\r\n" },
      { sendEach: "\x10\x11", delay: 0.2 },
    ]);
    assertPty(r, 0);
    // the client is gone: a shell that lost its terminal would have had SIGHUP by now
    await new Promise((resolve) => setTimeout(resolve, 500));
    const status = await cli.ok([
      "exec",
      "e",
      "sh",
      "-c",
      "cat /proc/$(cat /tmp/shell.pid)/cmdline; echo; grep State: /proc/$(cat /tmp/shell.pid)/status",
    ]);
    assert.match(status, /^sh\0?\nState:\s+S /, status);
    const code = await inPty(roots, monitor, ["exec", "-it", "e", "sh", "-c", "exit 3"], []);
    assertPty(code, 3);
    // -d -t: nothing printed, exit 0, the process runs on with its terminal
    const detached = await cli.run([
      "exec",
      "-d",
      "-t",
      "e",
      "sh",
      "-c",
      "tty > /tmp/dt; sleep 1000",
    ]);
    assert.deepEqual([detached.code, detached.stdout, detached.stderr], [0, "", ""]);
    await pollFor("the detached exec's terminal", async () => {
      const r = await cli.run(["exec", "e", "cat", "/tmp/dt"]);
      return /^\/dev\/pts\/\d+\n$/.test(r.stdout) ? true : undefined;
    });
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "exec -it of a command that is not there: 127, one Error line, no session left behind",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    const r = await inPty(roots, monitor, ["exec", "-it", "e", "nosuchcmd"], []);
    assertPty(r, 127);
    assert.match(r.output, /Error: .*"nosuchcmd": executable file not found in \$PATH\r\n$/);
    const id = (await cli.ok(["inspect", "--format", "{{.Id}}", "e"])).trim();
    const sessions = join(roots.runRoot, "containers", id, "exec");
    assert.deepEqual([...Deno.readDirSync(sessions)], []);
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "exec without -t passes SIGUSR1, SIGTERM on to the process; exits with its code",
  async (cli) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    for (const [signal, code] of [["SIGUSR1", 7], ["SIGTERM", 8]] as const) {
      const name = signal.slice(3);
      const script = `trap "echo got ${name}; exit ${code}" ${name}; touch /tmp/${name}; ` +
        "while true; do sleep 0.1; done";
      const client = cli.spawn(["exec", "e", "sh", "-c", script]);
      await pollFor(`the process of the ${name} exec`, async () => {
        const r = await cli.run(["exec", "e", "test", "-f", `/tmp/${name}`]);
        return r.code === 0 ? true : undefined;
      });
      Deno.kill(client.pid, signal);
      const result = await client.done;
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.stdout, `got ${name}\n`);
    }
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "Ctrl-C on the caller's terminal reaches an exec without -t: its trap runs, the client exits with its code",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    const script = "n=0; trap 'n=$((n+1))' INT; echo ready; " +
      'while [ $n = 0 ]; do sleep 0.1; done; sleep 1; echo "count $n"; exit 3';
    const r = await inPty(roots, monitor, ["exec", "e", "sh", "-c", script], [
      { expect: "ready" },
      { send: "\x03" },
      { expect: "count \\d" },
    ]);
    assertPty(r, 3);
    assert.match(r.output, /count 1\r?\n/);
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "exec without -i never reads stdin (a while-read loop sees every line); -i forwards it and its end",
  async (cli, roots, monitor) => {
    await cli.ok(["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    const file = join(roots.dir, "lines");
    await Deno.writeTextFile(file, "l1\nl2\nl3\n");
    const cmd = [Deno.execPath(), ...cliPrefix(roots)].map((a) => `'${a}'`).join(" ");
    const loop = await new Deno.Command("sh", {
      args: ["-c", `while read l; do ${cmd} exec e echo "got $l"; done < '${file}'`],
      env: { DENOPOD_MONITOR: monitor },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(loop.stdout), "got l1\ngot l2\ngot l3\n");
    const input = new TextEncoder().encode("a\nb\n");
    const withI = await denopod(roots, ["exec", "-i", "e", "cat"], { stdin: input });
    assert.equal(withI.code, 0, withI.stderr);
    assert.equal(withI.stdout, "a\nb\n");
    const withoutI = await denopod(roots, ["exec", "e", "cat"], { stdin: input });
    assert.equal(withoutI.code, 0, withoutI.stderr);
    assert.equal(withoutI.stdout, "");
    const detached = await cli.run(["exec", "-d", "e", "sh", "-c", "echo bg > /tmp/bg"]);
    assert.deepEqual([detached.code, detached.stdout], [0, ""]);
    await pollFor("the detached exec's file", async () => {
      const r = await cli.run(["exec", "e", "cat", "/tmp/bg"]);
      return r.stdout === "bg\n" ? true : undefined;
    });
    await cli.ok(["rm", "-f", "-t", "0", "e"]);
  },
);

testEachMonitor(
  "run -i forwards piped stdin and its end; without -i the container's stdin is empty",
  async (_cli, roots, monitor) => {
    const env = { DENOPOD_MONITOR: monitor };
    const input = new TextEncoder().encode("a\nb\n");
    const withI = await denopod(roots, [
      "run",
      "--rm",
      "-i",
      "busybox",
      "sh",
      "-c",
      "cat; echo err >&2; exit 2",
    ], { stdin: input, env });
    assert.deepEqual([withI.code, withI.stdout, withI.stderr], [2, "a\nb\n", "err\n"]);
    const withoutI = await denopod(roots, ["run", "--rm", "busybox", "cat"], { stdin: input, env });
    assert.deepEqual([withoutI.code, withoutI.stdout], [0, ""], withoutI.stderr);
  },
);

testEachMonitor(
  "-t with a stdin that is not a terminal warns as podman, passes EOF through, and ends",
  async (_cli, roots, monitor) => {
    const env = { DENOPOD_MONITOR: monitor };
    const input = new TextEncoder().encode("a\nb");
    const r = await denopod(roots, ["run", "--rm", "-it", "busybox", "cat"], { stdin: input, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /The input device is not a TTY\. The --tty and --interactive flags might not work properly/,
    );
    // the terminal echoes the input, then cat writes it back
    assert.match(r.stdout, /a\r\nb.*a\r\nb/s);
  },
);

testEachMonitor(
  "attach to a container without a terminal shows its output, passes signals on, exits 0 when it ends (podman 4.3.1)",
  async (cli) => {
    const script = 'trap "echo bye; exit 9" TERM; while true; do echo tick; sleep 0.2; done';
    await cli.ok(["run", "-d", "--name", "p", "busybox", "sh", "-c", script]);
    const client = cli.spawn(["attach", "p"]);
    await pollFor("ticks in the log", async () => {
      const logs = await cli.run(["logs", "p"]);
      return logs.stdout.split("tick").length > 8 ? true : undefined;
    });
    Deno.kill(client.pid, "SIGTERM");
    const result = await client.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^(tick\n)+bye\n$/);
    assert.match(await psStatus(cli, "p"), /^Exited \(9\)/);
  },
);

Deno.test(
  "an unknown detach key is refused at create, and nothing is created",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      for (const args of [["create"], ["run", "-it"]]) {
        const r = await denopod(roots, [...args, "--detach-keys", "ctrl-p,foo", "busybox", "sh"]);
        assert.equal(r.code, 125);
        assert.equal(r.stderr, "Error: invalid detach keys: Unknown character: 'foo'\n");
      }
      const ps = await denopod(roots, ["ps", "-aq"]);
      assert.equal(ps.stdout, "");
    }),
);

Deno.test(
  "attach to a container that is not running is a clear error",
  ROOT_TEST,
  () =>
    withRoots(async (roots) => {
      const { importBusybox } = await import("./helpers/denopod.ts");
      await importBusybox(roots);
      await denopod(roots, ["create", "--name", "idle", "busybox", "true"]);
      const r = await denopod(roots, ["attach", "idle"]);
      assert.equal(r.code, 125);
      assert.equal(
        r.stderr,
        "Error: you can only attach to running containers: container state improper\n",
      );
    }),
);
