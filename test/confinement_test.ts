/**
 * Confinement defaults every container gets, seen from inside it and on the host: podman's
 * seccomp profile (`Seccomp: 2`, a syscall it refuses fails), a cgroup of its own with pids.max
 * 2048 (removed with the container), rlimits that do not depend on the caller's soft limits, and
 * a refusal to run unconfined silently when the profile is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  listDir,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { cgroupDirs, cgroupMode, controllerDir } from "../lib/sys/cgroup.ts";
import { containerCgroupPath } from "../lib/container/spec/resources.ts";
import { DEFAULT_SECCOMP_PROFILE } from "../lib/container/spec/seccomp.ts";

const HAVE_PROFILE = (() => {
  try {
    return Deno.statSync(DEFAULT_SECCOMP_PROFILE).isFile;
  } catch {
    return false;
  }
})();

const opts = { ignore: !IS_ROOT || !HAVE_PROFILE, sanitizeResources: false, sanitizeOps: false };

/** The hard limit of `name` (`Max open files`) for this process; Infinity for unlimited. */
function hardLimit(name: string): number {
  const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
    l.startsWith(name)
  )!;
  const hard = line.slice(name.length).trim().split(/\s+/)[1];
  return hard === "unlimited" ? Infinity : Number(hard);
}

/** Runs the CLI with its soft limits for open files and processes lowered first (as cron may). */
async function denopodWithLowSoftLimits(roots: Roots, args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'ulimit -Sn 256 && ulimit -Su 100 && exec "$@"',
      "bash",
      Deno.execPath(),
      ...cliPrefix(roots),
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout);
}

Deno.test(
  "a container runs under podman's seccomp profile in a cgroup of its own with pids.max 2048, removed with it",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const id = (await denopodOk(roots, ["run", "-d", "busybox", "sleep", "100"])).trim();
      const pidsDir = controllerDir(containerCgroupPath(id), "pids")!;
      try {
        const status = await denopodOk(roots, [
          "exec",
          id,
          "grep",
          "^Seccomp:",
          "/proc/self/status",
        ]);
        assert.equal(status, "Seccomp:\t2\n");
        // the pids limit, read in the container (its cgroup tree) and on the host
        const inside = cgroupMode() === "v2"
          ? "/sys/fs/cgroup/pids.max"
          : "/sys/fs/cgroup/pids/pids.max";
        assert.equal(await denopodOk(roots, ["exec", id, "cat", inside]), "2048\n");
        assert.equal(Deno.readTextFileSync(join(pidsDir, "pids.max")), "2048\n");
        const procs = Deno.readTextFileSync(join(pidsDir, "cgroup.procs")).trim().split("\n");
        const pid = (await denopodOk(roots, ["inspect", "--format", "{{.State.Pid}}", id])).trim();
        assert.ok(procs.includes(pid), `${pid} in ${procs}`);
      } finally {
        await denopodOk(roots, ["rm", "-f", "-t", "0", id]);
      }
      for (const dir of cgroupDirs(containerCgroupPath(id))) {
        assert.equal(listDir(dir).length, 0, `${dir} is gone after rm`);
        assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
      }
    });
  },
);

Deno.test(
  "a syscall the profile refuses fails in the container (swapon with CAP_SYS_ADMIN), and works unconfined",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const script = "swapon /etc/hostname 2>&1; true";
      const confined = await denopod(roots, [
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "sh",
        "-c",
        script,
      ]);
      assert.equal(confined.stdout, "swapon: /etc/hostname: Operation not permitted\n");
      // without the filter the kernel itself answers: the file is no swap area
      const unconfined = await denopod(roots, [
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "sh",
        "-c",
        `grep ^Seccomp: /proc/self/status; ${script}`,
      ]);
      assert.equal(unconfined.stdout, "Seccomp:\t0\nswapon: /etc/hostname: Invalid argument\n");
    });
  },
);

Deno.test(
  "ulimit -n and -u in the container are podman's defaults capped at the hard limit, whatever the caller's soft limits",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const expected = `${Math.min(1048576, hardLimit("Max open files"))}\n${
        Math.min(1048576, hardLimit("Max processes"))
      }\n`;
      const script = ["run", "--rm", "busybox", "sh", "-c", "ulimit -n; ulimit -u"];
      assert.equal(await denopodOk(roots, script), expected);
      assert.equal(await denopodWithLowSoftLimits(roots, script), expected);
    });
  },
);

Deno.test(
  "a missing seccomp profile is refused at create, with nothing written, unless seccomp=unconfined",
  { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false },
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const env = { DENOPOD_SECCOMP_PROFILE: "/nonexistent/seccomp.json" };
      const refused = await denopod(roots, ["create", "busybox", "true"], { env });
      assert.deepEqual([refused.code, refused.stdout, refused.stderr], [
        125,
        "",
        "Error: seccomp profile /nonexistent/seccomp.json not found: install golang-github-containers-common, or run with --security-opt seccomp=unconfined\n",
      ]);
      assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
      assert.deepEqual(listDir(join(roots.root, "containers")), []);
      const out = await denopod(roots, [
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "grep",
        "^Seccomp:",
        "/proc/self/status",
      ], { env });
      assert.deepEqual([out.code, out.stdout], [0, "Seccomp:\t0\n"], out.stderr);
    });
  },
);
