import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CommandNotFoundError,
  CommandNotInvokableError,
  InvalidArgError,
  RuntimeError,
} from "../lib/errors.ts";
import { parseRuncVersion, Runc, runcSecurityWarning } from "../lib/oci/runc.ts";
import { runcErrorMessage, runtimeErrorFor } from "../lib/oci/runc_errors.ts";
import { makeBundle } from "./helpers/bundle.ts";

const asRoot = { ignore: Deno.uid() !== 0 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("runcErrorMessage() finds the error in JSON logs, logrus text and plain lines", () => {
  assert.equal(
    runcErrorMessage(
      '{"level":"warning","msg":"meh","time":"t"}\n{"level":"error","msg":"container not running","time":"t"}\n',
    ),
    "container not running",
  );
  assert.equal(
    runcErrorMessage('time="2026-11-29T01:58:22Z" level=error msg="say \\"hi\\"\\nagain"\n'),
    'say "hi" again',
  );
  assert.equal(runcErrorMessage("plain failure\n\n"), "plain failure");
  assert.equal(runcErrorMessage("\n \n"), null);
});

Deno.test("runtimeErrorFor() maps a missing or unrunnable command to exit codes 127 and 126", () => {
  const missing = runtimeErrorFor(
    "create",
    'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH',
  );
  assert.ok(missing instanceof CommandNotFoundError);
  assert.equal(missing.exitCode, 127);
  const denied = runtimeErrorFor("exec", 'exec failed: exec: "/bin": permission denied');
  assert.ok(denied instanceof CommandNotInvokableError);
  assert.equal(denied.exitCode, 126);
  const other = runtimeErrorFor("kill", "container not running");
  assert.ok(other instanceof RuntimeError);
  assert.equal(other.message, "runc kill: container not running");
});

Deno.test("parseRuncVersion() reads Debian's runc --version output", () => {
  const v = parseRuncVersion(
    "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n",
  );
  assert.deepEqual(v, {
    runc: "1.1.5+ds1",
    commit: "1.1.5+ds1-1+deb12u1",
    spec: "1.0.2-dev",
    go: "go1.19.8",
    libseccomp: "2.5.4",
  });
  assert.throws(() => parseRuncVersion("crun version 1.8"), RuntimeError);
});

Deno.test("runcSecurityWarning() names the breakouts a version lacks the fixes for", () => {
  const rc6 = runcSecurityWarning({ runc: "1.0.0-rc6" });
  assert.match(rc6 ?? "", /CVE-2019-5736/);
  assert.match(rc6 ?? "", /CVE-2024-21626/);
  const rc95 = runcSecurityWarning({ runc: "1.0.0-rc95" });
  assert.doesNotMatch(rc95 ?? "", /CVE-2019-5736/);
  assert.match(rc95 ?? "", /CVE-2024-21626/);
  const fixed2024 = runcSecurityWarning({ runc: "1.1.12" });
  assert.doesNotMatch(fixed2024 ?? "", /CVE-2024-21626/);
  assert.match(fixed2024 ?? "", /CVE-2025-31133/);
  assert.match(runcSecurityWarning({ runc: "1.3.2" }) ?? "", /CVE-2025-52565/);
  assert.equal(runcSecurityWarning({ runc: "1.2.8" }), null);
  assert.equal(runcSecurityWarning({ runc: "1.3.3" }), null);
  assert.equal(runcSecurityWarning({ runc: "1.4.0-rc.3" }), null);
  assert.equal(runcSecurityWarning({ runc: "1.4.1" }), null);
});

Deno.test("runcSecurityWarning() says a Debian build may carry backported fixes", () => {
  const warning = runcSecurityWarning({ runc: "1.1.5+ds1", commit: "1.1.5+ds1-1+deb12u1" });
  assert.ok(warning);
  assert.match(warning, /runc 1\.1\.5\+ds1 is older/);
  assert.match(warning, /CVE-2024-21626 \(fixed in 1\.1\.12\)/);
  assert.match(warning, /1\.1\.5\+ds1-1\+deb12u1\), which may carry backported fixes/);
  assert.doesNotMatch(runcSecurityWarning({ runc: "1.1.5" }) ?? "", /backported/);
});

Deno.test("Runc.version() reports the installed runc", asRoot, async () => {
  const v = await new Runc({ root: "/nonexistent-denopod-runc-root" }).version();
  assert.match(v.runc, /^\d+\.\d+\.\d+/);
  assert.ok(v.spec);
});

Deno.test("Runc methods refuse an ID that runc would read as a flag", async () => {
  const runc = new Runc({ root: "/nonexistent-denopod-runc-root" });
  await assert.rejects(runc.state("-rf"), InvalidArgError);
  await assert.rejects(runc.kill("--all", "TERM"), InvalidArgError);
  await assert.rejects(runc.kill("abc", "NOTASIGNAL"), InvalidArgError);
});

Deno.test(
  "Runc reports an unknown ID: state is null, kill and delete fail, delete -f does not",
  asRoot,
  async () => {
    const root = await Deno.makeTempDir();
    try {
      const runc = new Runc({ root });
      assert.equal(await runc.state("nope"), null);
      await assert.rejects(runc.kill("nope", "TERM"), (err: Error) => {
        assert.ok(err instanceof RuntimeError);
        assert.equal(err.message, "runc kill: container does not exist");
        return true;
      });
      await assert.rejects(
        runc.delete("nope"),
        /^RuntimeError: runc delete: container does not exist$/,
      );
      await runc.delete("nope", { force: true });
      assert.deepEqual(await runc.list(), []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

Deno.test("Runc with a missing binary fails with a RuntimeError naming it", async () => {
  const runc = new Runc({ root: "/tmp", binary: "/nonexistent/runc" });
  await assert.rejects(
    runc.state("abc"),
    /^RuntimeError: runc state: runc binary "\/nonexistent\/runc" not found$/,
  );
});

Deno.test("Runc create, start, exec, kill and delete drive a real container", asRoot, async () => {
  const b = await makeBundle(["sleep", "100"]);
  const runc = new Runc({ root: b.runcRoot });
  try {
    await Deno.mkdir(b.runDir, { recursive: true });
    await runc.create(b.id, b.bundle, { pidFile: b.pidFile });
    const created = await runc.state(b.id);
    assert.equal(created?.status, "created");
    assert.equal(created?.pid, Number(await Deno.readTextFile(b.pidFile)));
    await runc.start(b.id);
    assert.equal((await runc.state(b.id))?.status, "running");
    assert.deepEqual((await runc.list()).map((s) => [s.id, s.status]), [[b.id, "running"]]);

    const r = await runc.exec(b.id, {
      args: ["sh", "-c", 'echo "hi $FOO"; pwd; id -u; echo oops >&2; exit 3'],
      env: ["FOO=bar"],
      cwd: "/bin",
      user: "1:2",
    });
    assert.equal(r.exitCode, 3);
    assert.equal(text(r.stdout), "hi bar\n/bin\n1\n");
    assert.equal(text(r.stderr), "oops\n");

    const own255 = await runc.exec(b.id, { args: ["sh", "-c", "exit 255"] });
    assert.equal(own255.exitCode, 255);

    await assert.rejects(
      runc.exec(b.id, { args: ["nope"] }),
      (err: Error) =>
        err instanceof CommandNotFoundError && /runc exec: .*"nope"/.test(err.message),
    );
    await assert.rejects(runc.exec(b.id, { args: ["/bin"] }), CommandNotInvokableError);

    await runc.kill(b.id, "KILL");
    for (let i = 0; i < 200 && (await runc.state(b.id))?.status !== "stopped"; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await runc.state(b.id))?.status, "stopped");
    await assert.rejects(runc.kill(b.id, "TERM"), /runc kill: container not running/);
    await runc.delete(b.id);
    assert.equal(await runc.state(b.id), null);
  } finally {
    await b.cleanup();
  }
});

Deno.test(
  "Runc.create fails with CommandNotFoundError when the command is missing",
  asRoot,
  async () => {
    const b = await makeBundle(["no-such-command"]);
    const runc = new Runc({ root: b.runcRoot });
    try {
      await assert.rejects(
        runc.create(b.id, b.bundle, { pidFile: join(b.dir, "pid") }),
        (err: Error) =>
          err instanceof CommandNotFoundError &&
          err.message.startsWith("runc create: ") &&
          err.message.includes('"no-such-command"') && !err.message.includes("\n"),
      );
      assert.equal(await runc.state(b.id), null);
    } finally {
      await b.cleanup();
    }
  },
);
