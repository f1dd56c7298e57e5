import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandNotFoundError, InvalidArgError, RuntimeError } from "../lib/errors.ts";
import { readExitRecord, writeExitFile } from "../lib/oci/exitfile.ts";
import { monitorCommand } from "../lib/oci/builtin_monitor.ts";
import { parseK8sLogLine } from "../lib/oci/k8s_log.ts";
import {
  type Monitor,
  MONITOR_PID_FILE,
  type MonitorStartRequest,
  parseMonitorRequest,
  readExitFile,
  selectMonitor,
} from "../lib/oci/monitor.ts";
import { Runc } from "../lib/oci/runc.ts";
import { decodeWaitStatus, isProcessAlive, lookPath } from "../lib/sys/process.ts";
import { makeBundle, type TestBundle } from "./helpers/bundle.ts";

const ENTRY = fileURLToPath(new URL("./helpers/monitor_entry.ts", import.meta.url));
const asRoot = { ignore: Deno.uid() !== 0 };
const hasConmon = lookPath("conmon", Deno.env.get("PATH") ?? "") !== null;

/** Polls `check` every 50 ms until it returns true; fails naming `what` after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

function requestFor(b: TestBundle, exitCommand: string[] = []): MonitorStartRequest {
  return {
    id: b.id,
    bundle: b.bundle,
    runDir: b.runDir,
    logPath: b.logPath,
    exitDir: b.exitDir,
    pidFile: b.pidFile,
    exitCommand,
    runcRoot: b.runcRoot,
  };
}

function monitorFor(name: "conmon" | "builtin"): Monitor {
  return selectMonitor({ force: name, builtinEntry: ENTRY });
}

/** The session ID of a process (field 6 of /proc/PID/stat). */
function sessionOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

/** Kills the monitor if a failed test left it running (it holds nothing else of ours). */
function killIfAlive(pid: number | undefined): void {
  if (pid !== undefined && isProcessAlive(pid)) Deno.kill(pid, "SIGKILL");
}

for (const m of ["conmon", "builtin"] as const) {
  const opts = { ignore: Deno.uid() !== 0 || (m === "conmon" && !hasConmon) };

  Deno.test(
    `${m}: logs stdout and stderr in k8s-file format, writes exit code 7, runs the exit command`,
    opts,
    async () => {
      const b = await makeBundle([
        "sh",
        "-c",
        "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; printf tail; exit 7",
      ]);
      let monitorPid: number | undefined;
      try {
        const marker = join(b.dir, "exit-command-ran");
        const before = Date.now();
        const started = await monitorFor(m).start(requestFor(b, ["touch", marker]));
        monitorPid = started.monitorPid;
        const runc = new Runc({ root: b.runcRoot });
        const state = await runc.state(b.id);
        assert.equal(state?.status, "created");
        assert.equal(state?.pid, started.containerPid);
        assert.equal(Number(await Deno.readTextFile(b.pidFile)), started.containerPid);
        assert.equal(
          Number(await Deno.readTextFile(join(b.runDir, MONITOR_PID_FILE))),
          started.monitorPid,
        );
        assert.ok(isProcessAlive(started.monitorPid));

        await runc.start(b.id);
        await waitFor("the exit command", () => exists(marker));
        const after = Date.now();

        assert.equal(await readExitFile(b.exitDir, b.id), 7);
        assert.equal(await Deno.readTextFile(join(b.exitDir, b.id)), "7");
        const lines = (await Deno.readTextFile(b.logPath)).split("\n");
        assert.equal(lines.pop(), "");
        const records = lines.map((line) => parseK8sLogLine(line));
        assert.deepEqual(
          records.map((r) => r && [r.stream, r.partial, r.message]),
          [["stdout", false, "out1"], ["stderr", false, "err1"], ["stdout", true, "tail"]],
        );
        for (const r of records) {
          assert.match(r!.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d$/);
          assert.ok(r!.time.getTime() >= before - 1000 && r!.time.getTime() <= after + 1000);
        }
        assert.ok(records[0]!.time <= records[1]!.time && records[1]!.time <= records[2]!.time);
        const after2 = await runc.state(b.id);
        assert.ok(after2 === null || after2.status === "stopped");
        await waitFor("the monitor to exit", () => !isProcessAlive(started.monitorPid));
      } finally {
        killIfAlive(monitorPid);
        await b.cleanup();
      }
    },
  );

  Deno.test(
    `${m}: a running container can be paused, resumed and stopped with SIGTERM (exit 143)`,
    opts,
    async () => {
      const b = await makeBundle(["sleep", "100"], { hostPidNamespace: true });
      let monitorPid: number | undefined;
      try {
        const started = await monitorFor(m).start(requestFor(b));
        monitorPid = started.monitorPid;
        const runc = new Runc({ root: b.runcRoot });
        await runc.start(b.id);
        const running = await runc.state(b.id);
        assert.equal(running?.status, "running");
        assert.equal(running?.pid, started.containerPid);
        assert.ok(isProcessAlive(started.containerPid));
        // Detached: a session of its own, stdio on /dev/null.
        assert.equal(sessionOf(started.monitorPid), started.monitorPid);
        // (the monitor points its stdio at /dev/null right after its report: wait for that)
        const stdio = () =>
          [0, 1, 2].map((fd) => Deno.readLinkSync(`/proc/${started.monitorPid}/fd/${fd}`));
        await waitFor("stdio on /dev/null", () => stdio().every((l) => l === "/dev/null"));
        // runc start returns before `runc init` has exec'd the command: wait for the exec
        const cmdline = () => Deno.readTextFile(`/proc/${started.containerPid}/cmdline`);
        await waitFor("the exec of sleep", async () => (await cmdline()).startsWith("sleep\0"));
        assert.deepEqual((await cmdline()).split("\0"), ["sleep", "100", ""]);

        await runc.pause(b.id);
        assert.equal((await runc.state(b.id))?.status, "paused");
        await runc.resume(b.id);
        assert.equal((await runc.state(b.id))?.status, "running");
        assert.equal(await readExitFile(b.exitDir, b.id), null);

        await runc.kill(b.id, "TERM");
        await waitFor("the exit file", async () => (await readExitFile(b.exitDir, b.id)) !== null);
        assert.equal(await readExitFile(b.exitDir, b.id), 143);
        assert.equal((await runc.state(b.id))?.status, "stopped");
        assert.equal(await Deno.readTextFile(b.logPath), "");
      } finally {
        killIfAlive(monitorPid);
        await b.cleanup();
      }
    },
  );

  Deno.test(
    `${m}: SIGTERM to the monitor is passed on to the container (exit 143)`,
    opts,
    async () => {
      const b = await makeBundle(["sleep", "100"], { hostPidNamespace: true });
      let monitorPid: number | undefined;
      try {
        const started = await monitorFor(m).start(requestFor(b));
        monitorPid = started.monitorPid;
        await new Runc({ root: b.runcRoot }).start(b.id);
        Deno.kill(started.monitorPid, "SIGTERM");
        await waitFor("the exit file", async () => (await readExitFile(b.exitDir, b.id)) !== null);
        assert.equal(await readExitFile(b.exitDir, b.id), 143);
      } finally {
        killIfAlive(monitorPid);
        await b.cleanup();
      }
    },
  );

  Deno.test(`${m}: keeps every line of a long burst of output, in order`, opts, async () => {
    const b = await makeBundle([
      "sh",
      "-c",
      'i=0; while [ $i -lt 3000 ]; do echo "line $i with some padding to make it longer"; i=$((i+1)); done',
    ]);
    let monitorPid: number | undefined;
    try {
      const started = await monitorFor(m).start(requestFor(b));
      monitorPid = started.monitorPid;
      await new Runc({ root: b.runcRoot }).start(b.id);
      await waitFor("the exit file", async () => (await readExitFile(b.exitDir, b.id)) !== null);
      assert.equal(await readExitFile(b.exitDir, b.id), 0);
      const messages: string[] = [];
      let pending = "";
      for (const line of (await Deno.readTextFile(b.logPath)).split("\n")) {
        if (line === "") continue;
        const r = parseK8sLogLine(line);
        assert.ok(r && r.stream === "stdout", `bad record: ${line}`);
        pending += r.message;
        if (!r.partial) {
          messages.push(pending);
          pending = "";
        }
      }
      assert.equal(pending, "");
      assert.equal(messages.length, 3000);
      messages.forEach((msg, i) =>
        assert.equal(msg, `line ${i} with some padding to make it longer`)
      );
    } finally {
      killIfAlive(monitorPid);
      await b.cleanup();
    }
  });

  Deno.test(`${m}: outlives the process that started it`, opts, async () => {
    const b = await makeBundle(["sh", "-c", "sleep 0.5; echo late; exit 3"]);
    let monitorPid: number | undefined;
    try {
      const modules = {
        monitor: new URL("../lib/oci/monitor.ts", import.meta.url).href,
      };
      const script = `
        import { selectMonitor } from ${JSON.stringify(modules.monitor)};
        const monitor = selectMonitor({ force: ${JSON.stringify(m)}, builtinEntry: ${
        JSON.stringify(ENTRY)
      } });
        const result = await monitor.start(JSON.parse(Deno.args[0]));
        console.log(JSON.stringify(result));
        Deno.exit(0);
      `;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", script, JSON.stringify(requestFor(b))],
        stdin: "null",
        stderr: "inherit",
      }).output();
      assert.equal(out.code, 0);
      const started = JSON.parse(new TextDecoder().decode(out.stdout));
      monitorPid = started.monitorPid;
      assert.ok(isProcessAlive(started.monitorPid));
      await new Runc({ root: b.runcRoot }).start(b.id);
      await waitFor("the exit file", async () => (await readExitFile(b.exitDir, b.id)) !== null);
      assert.equal(await readExitFile(b.exitDir, b.id), 3);
      assert.equal(parseK8sLogLine((await Deno.readTextFile(b.logPath)).trim())?.message, "late");
    } finally {
      killIfAlive(monitorPid);
      await b.cleanup();
    }
  });

  Deno.test(
    `${m}: after kill -9 of the monitor the container runs on and no exit file appears`,
    opts,
    async () => {
      // What the lead maps to exit code -1: the monitor is dead and readExitFile() gives null.
      const b = await makeBundle(["sleep", "100"]);
      let monitorPid: number | undefined;
      try {
        const started = await monitorFor(m).start(requestFor(b));
        monitorPid = started.monitorPid;
        const runc = new Runc({ root: b.runcRoot });
        await runc.start(b.id);
        Deno.kill(started.monitorPid, "SIGKILL");
        await waitFor("the monitor to die", () => !isProcessAlive(started.monitorPid));

        assert.equal((await runc.state(b.id))?.status, "running");
        assert.ok(isProcessAlive(started.containerPid));
        assert.equal(await readExitFile(b.exitDir, b.id), null);

        await runc.kill(b.id, "KILL");
        await waitFor("the container to stop", async () => {
          return (await runc.state(b.id))?.status === "stopped";
        });
        assert.equal(await readExitFile(b.exitDir, b.id), null);
      } finally {
        killIfAlive(monitorPid);
        await b.cleanup();
      }
    },
  );

  Deno.test(
    `${m}: a missing command fails start with CommandNotFoundError and no exit file`,
    opts,
    async () => {
      const b = await makeBundle(["no-such-command"]);
      try {
        const marker = join(b.dir, "exit-command-ran");
        await assert.rejects(
          monitorFor(m).start(requestFor(b, ["touch", marker])),
          (err: Error) =>
            err instanceof CommandNotFoundError &&
            /^runc create: .*"no-such-command": executable file not found/.test(err.message),
        );
        // conmon runs its exit command even when create fails; the built-in monitor does too.
        await waitFor("the exit command", () => exists(marker));
        assert.equal(await readExitFile(b.exitDir, b.id), null);
        assert.equal(await new Runc({ root: b.runcRoot }).state(b.id), null);
      } finally {
        await b.cleanup();
      }
    },
  );
}

Deno.test("builtin monitor: a malformed request is reported as an error line", asRoot, async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ENTRY, "__monitor", '{"id": 5}'],
    stdin: "null",
  }).output();
  assert.equal(out.code, 125);
  assert.equal(
    new TextDecoder().decode(out.stdout),
    'error InvalidArgError monitor request: "id" must be a non-empty string\n',
  );
});

Deno.test("selectMonitor() follows DENOPOD_MONITOR and PATH", () => {
  const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });
  assert.equal(selectMonitor({ env: env({ PATH: "/nonexistent" }) }).name, "builtin");
  assert.equal(
    selectMonitor({ env: env({ PATH: "/nonexistent", DENOPOD_MONITOR: "builtin" }) }).name,
    "builtin",
  );
  assert.equal(selectMonitor({ force: "builtin" }).name, "builtin");
  assert.throws(
    () => selectMonitor({ env: env({ PATH: "/nonexistent", DENOPOD_MONITOR: "conmon" }) }),
    InvalidArgError,
  );
  assert.throws(() => selectMonitor({ env: env({ DENOPOD_MONITOR: "crun" }) }), InvalidArgError);
  if (hasConmon) {
    const path = Deno.env.get("PATH") ?? "";
    assert.equal(selectMonitor({ env: env({ PATH: path }) }).name, "conmon");
    assert.equal(
      selectMonitor({ env: env({ PATH: path, DENOPOD_MONITOR: "builtin" }) }).name,
      "builtin",
    );
  }
});

Deno.test("monitorCommand() re-executes an entry script with deno run -A __monitor JSON", () => {
  const request: MonitorStartRequest = {
    id: "abc",
    bundle: "/b",
    runDir: "/r",
    logPath: "/r/ctr.log",
    exitDir: "/e",
    pidFile: "/r/pid",
    exitCommand: [],
    runcRoot: "/rr",
  };
  const cmd = monitorCommand(request, { entry: ENTRY });
  assert.equal(cmd.cmd, Deno.execPath());
  assert.deepEqual(cmd.args.slice(0, 4), ["run", "-A", ENTRY, "__monitor"]);
  assert.deepEqual(parseMonitorRequest(cmd.args[4]), request);
  assert.equal(cmd.cwd, join(ENTRY, ".."));
});

Deno.test("parseMonitorRequest() names the field that is wrong", () => {
  assert.throws(() => parseMonitorRequest("{"), /monitor request is not JSON/);
  assert.throws(
    () =>
      parseMonitorRequest(JSON.stringify({
        id: "a",
        bundle: "/b",
        runDir: "/r",
        logPath: "/l",
        exitDir: "/e",
        pidFile: "/p",
        runcRoot: "/rr",
        exitCommand: "touch x",
      })),
    /"exitCommand" must be an array of strings/,
  );
});

Deno.test("exit files: absent is null, written atomically as decimal digits, junk is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readExitFile(dir, "c1"), null);
    await writeExitFile(dir, "c1", 137);
    assert.equal(await Deno.readTextFile(join(dir, "c1")), "137");
    assert.equal(await readExitFile(dir, "c1"), 137);
    assert.ok((await readExitRecord(dir, "c1"))?.exitedAt instanceof Date);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c1"]);
    await Deno.writeTextFile(join(dir, "c2"), "-1\n");
    assert.equal(await readExitFile(dir, "c2"), -1);
    await Deno.writeTextFile(join(dir, "c3"), "");
    await assert.rejects(readExitFile(dir, "c3"), RuntimeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeWaitStatus() gives the exit code, or 128 + the signal", () => {
  assert.deepEqual(decodeWaitStatus(7 << 8), { code: 7, exitCode: 7 });
  assert.deepEqual(decodeWaitStatus(0), { code: 0, exitCode: 0 });
  assert.deepEqual(decodeWaitStatus(15), { signal: 15, exitCode: 143 });
  assert.deepEqual(decodeWaitStatus(9 | 0x80), { signal: 9, exitCode: 137 });
});

Deno.test("isProcessAlive() is true for this process and false for a reaped child", async () => {
  assert.ok(isProcessAlive(Deno.pid));
  const child = new Deno.Command("true").spawn();
  await child.status;
  assert.equal(isProcessAlive(child.pid), false);
  assert.equal(isProcessAlive(0), false);
});
