/**
 * `create`/`run`'s resource and security flags, each seen from inside the container: its cgroup
 * files, `/proc/self/status`, `/proc/mounts`, `ulimit`, `umask`, device nodes and PID 1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denopod, denopodOk, importBusybox, IS_ROOT, withRoots } from "./helpers/denopod.ts";
import { cgroupMode } from "../lib/sys/cgroup.ts";
import { mountFs, unmount } from "../lib/sys/mount.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** The cgroup files the test reads inside the container, for v1/hybrid and for v2. */
const FILES = cgroupMode() === "v2"
  ? {
    memory: "/sys/fs/cgroup/memory.max",
    reservation: "/sys/fs/cgroup/memory.low",
    cpuMax: "/sys/fs/cgroup/cpu.max",
    cpuset: "/sys/fs/cgroup/cpuset.cpus",
    pids: "/sys/fs/cgroup/pids.max",
  }
  : {
    memory: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    reservation: "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
    cpuMax: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    cpuset: "/sys/fs/cgroup/cpuset/cpuset.cpus",
    pids: "/sys/fs/cgroup/pids/pids.max",
  };

/** `/proc/mounts` lines of the container for `paths`, as `PATH TYPE OPTIONS`. */
function mountsOf(procMounts: string, paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of procMounts.split("\n")) {
    const [, target, type, options] = line.split(" ");
    if (paths.includes(target)) out[target] = `${type} ${options}`;
  }
  return out;
}

Deno.test(
  "--memory, --memory-reservation, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit and --ulimit show in the container",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const script = [
        FILES.memory,
        FILES.reservation,
        FILES.cpuMax,
        FILES.cpuset,
        FILES.pids,
      ].map((f) => `cat ${f}`).join("; ") + "; ulimit -Sn; ulimit -Hn; ulimit -c";
      const out = await denopodOk(roots, [
        "run",
        "--rm",
        "--memory",
        "64m",
        "--memory-reservation",
        "32m",
        "--cpus",
        "1.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--pids-limit",
        "100",
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=0",
        "busybox",
        "sh",
        "-c",
        script,
      ]);
      const v2 = cgroupMode() === "v2";
      assert.deepEqual(out.trim().split("\n"), [
        "67108864",
        "33554432",
        v2 ? "150000 100000" : "150000",
        "0",
        "100",
        "100",
        "200",
        "0",
      ]);
      if (!v2) {
        const shares = await denopodOk(roots, [
          "run",
          "--rm",
          "--cpu-shares",
          "512",
          "busybox",
          "cat",
          "/sys/fs/cgroup/cpu/cpu.shares",
        ]);
        assert.equal(shares, "512\n");
      }
      const unlimited = await denopodOk(roots, [
        "run",
        "--rm",
        "--pids-limit",
        "-1",
        "busybox",
        "cat",
        FILES.pids,
      ]);
      assert.equal(unlimited, "max\n");
      const inspect = JSON.parse(
        await denopodOk(roots, [
          "create",
          "--memory",
          "64m",
          "--memory-swap",
          "-1",
          "--pids-limit",
          "7",
          "busybox",
          "true",
        ]).then((id) => denopodOk(roots, ["inspect", id.trim()])),
      )[0];
      assert.deepEqual(
        [inspect.HostConfig.Memory, inspect.HostConfig.MemorySwap, inspect.HostConfig.PidsLimit],
        [67108864, -1, 7],
      );
    });
  },
);

Deno.test(
  "--cap-drop ALL, --cap-add, --privileged, no-new-privileges and --umask change what the process may do",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const status = async (...flags: string[]) =>
        Object.fromEntries(
          (await denopodOk(roots, [
            "run",
            "--rm",
            ...flags,
            "busybox",
            "grep",
            "-E",
            "^(CapEff|CapBnd|NoNewPrivs|Seccomp):",
            "/proc/self/status",
          ])).trim().split("\n").map((l) => l.split(":\t")),
        );
      // podman's 11 default capabilities
      assert.deepEqual(await status(), {
        CapEff: "00000000800405fb",
        CapBnd: "00000000800405fb",
        NoNewPrivs: "0",
        Seccomp: "2",
      });
      assert.equal((await status("--cap-drop", "ALL")).CapEff, "0000000000000000");
      assert.equal(
        (await status("--cap-drop", "ALL", "--cap-add", "net_admin")).CapEff,
        "0000000000001000",
      );
      assert.equal((await status("--cap-drop", "CHOWN")).CapEff, "00000000800405fa");
      assert.equal((await status("--security-opt", "no-new-privileges")).NoNewPrivs, "1");
      const privileged = await status("--privileged");
      assert.equal(privileged.Seccomp, "0");
      // every capability this process may hand on (its bounding set)
      const own = Deno.readTextFileSync("/proc/self/status").match(/^CapBnd:\t(\w+)$/m)![1];
      assert.equal(privileged.CapEff, own);
      // --privileged: nothing masked (kcore readable as a file, not the /dev/null bind)
      const kcore = await denopodOk(roots, [
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "grep -c ' /proc/kcore ' /proc/mounts; true",
      ]);
      assert.equal(kcore, "0\n");
      const umask = await denopodOk(roots, [
        "run",
        "--rm",
        "--umask",
        "077",
        "busybox",
        "sh",
        "-c",
        "umask",
      ]);
      assert.equal(umask, "0077\n");
    });
  },
);

Deno.test(
  "--read-only, --read-only-tmpfs, --tmpfs and --mount type=tmpfs|bind give the mounts podman gives",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await withTempDir("denopod-bind-", async (dir) => {
        await Deno.writeTextFile(join(dir, "file"), "hello\n");
        const readOnly = await denopod(roots, [
          "run",
          "--rm",
          "--read-only",
          "--tmpfs",
          "/scratch:size=1m,mode=1777",
          "--mount",
          "type=tmpfs,dst=/t2,tmpfs-size=2m",
          "--mount",
          `type=bind,src=${dir},dst=/b,ro`,
          "busybox",
          "sh",
          "-c",
          "touch /x 2>&1; touch /tmp/x /var/tmp/x /run/x /scratch/x /t2/x && echo writable; cat /b/file; touch /b/y 2>&1; cat /proc/mounts",
        ]);
        assert.equal(readOnly.code, 0, readOnly.stderr);
        const lines = readOnly.stdout.split("\n");
        assert.deepEqual(lines.slice(0, 4), [
          "touch: /x: Read-only file system",
          "writable",
          "hello",
          "touch: /b/y: Read-only file system",
        ]);
        const mounts = mountsOf(readOnly.stdout, [
          "/",
          "/tmp",
          "/var/tmp",
          "/run",
          "/scratch",
          "/t2",
        ]);
        assert.match(mounts["/"], /^overlay ro,/);
        for (const path of ["/tmp", "/var/tmp", "/run"]) {
          assert.equal(mounts[path], "tmpfs rw,nosuid,nodev,relatime", path);
        }
        assert.equal(mounts["/scratch"], "tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k");
        assert.equal(mounts["/t2"], "tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k");
        const noTmpfs = await denopodOk(roots, [
          "run",
          "--rm",
          "--read-only",
          "--read-only-tmpfs=false",
          "busybox",
          "sh",
          "-c",
          "touch /tmp/x 2>&1; true",
        ]);
        assert.equal(noTmpfs, "touch: /tmp/x: Read-only file system\n");
      });
    });
  },
);

Deno.test(
  "-v options nodev, noexec, nosuid, ro, bind and rbind, and U, seen in the container",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await withTempDir("denopod-vol-", async (dir) => {
        const sub = join(dir, "sub");
        await Deno.mkdir(sub);
        await Deno.writeTextFile(join(dir, "owned"), "x");
        mountFs({ source: "tmpfs", target: sub, type: "tmpfs", flags: 0, data: "size=64k" });
        try {
          await Deno.writeTextFile(join(sub, "inner"), "inner\n");
          const out = await denopodOk(roots, [
            "run",
            "--rm",
            "-v",
            `${dir}:/flags:nodev,noexec,nosuid,ro`,
            "-v",
            `${dir}:/rb:rbind`,
            "-v",
            `${dir}:/nb:bind`,
            "busybox",
            "sh",
            "-c",
            "cat /rb/sub/inner; ls /nb/sub | wc -l; grep ' /flags ' /proc/mounts | cut -d' ' -f4",
          ]);
          const [inner, count, flags] = out.trim().split("\n");
          assert.equal(inner, "inner");
          assert.equal(count, "0", "a plain bind does not bring the submount");
          assert.deepEqual(flags.split(",").slice(0, 4), ["ro", "nosuid", "nodev", "noexec"]);
        } finally {
          unmount(sub, { detach: true, ignoreNotMounted: true });
        }
        await denopodOk(roots, [
          "run",
          "--rm",
          "-u",
          "1234:5678",
          "-v",
          `${dir}:/u:U`,
          "busybox",
          "true",
        ]);
        const info = await Deno.stat(join(dir, "owned"));
        assert.deepEqual([info.uid, info.gid], [1234, 5678]);
      });
    });
  },
);

Deno.test(
  "--device with permissions, --init (catatonit as PID 1), --env-file and --annotation",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await withTempDir("denopod-envfile-", async (dir) => {
        const envFile = join(dir, "env");
        await Deno.writeTextFile(envFile, "# comment\n\nFROM_FILE=1\nBOTH=file\n");
        const out = await denopodOk(roots, [
          "run",
          "--rm",
          "--device",
          "/dev/loop7:/dev/myloop:r",
          "--init",
          "--env-file",
          envFile,
          "-e",
          "BOTH=flag",
          "busybox",
          "sh",
          "-c",
          "stat -c '%t,%T %F' /dev/myloop; cat /dev/myloop && echo read; { echo x > /dev/myloop; } 2>&1 || true; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $FROM_FILE $BOTH",
        ]);
        assert.deepEqual(out.trim().split("\n"), [
          "7,7 block special file",
          "read",
          "sh: can't create /dev/myloop: Operation not permitted",
          "/run/podman-init -- sh -c stat -c '%t,%T %F' /dev/myloop; cat /dev/myloop && echo read; { echo x > /dev/myloop; } 2>&1 || true; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $FROM_FILE $BOTH ",
          "1 flag",
        ]);
      });
      const id = (await denopodOk(roots, ["create", "--annotation", "a.b=c d", "busybox", "true"]))
        .trim();
      assert.equal(
        await denopodOk(roots, ["inspect", "--format", "{{json .Config.Annotations}}", id]),
        '{"a.b":"c d"}\n',
      );
    });
  },
);
