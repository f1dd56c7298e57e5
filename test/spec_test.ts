/**
 * The OCI spec a plain create writes: its content against the design's list, and (as root) a
 * real `runc run` of a busybox rootfs with that spec, proving runc on this host accepts it —
 * rlimits at the caller's hard limits, capabilities, hostname, rundir binds, masked paths and a
 * private network namespace.
 */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import {
  buildSpec,
  DEFAULT_CAPABILITIES,
  type SpecInput,
  validateWorkdir,
  withCapabilities,
  withUser,
} from "../lib/container/spec.ts";
import { buildHostname, buildHosts } from "../lib/container/rundir.ts";
import { libc, RLIMIT_NOFILE, RLIMIT_NPROC } from "../lib/sys/libc.ts";

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    args: ["sh", "-c", "true"],
    env: ["PATH=/bin"],
    cwd: "/srv",
    uid: 0,
    gid: 0,
    hostname: "abc123",
    rootfs: "/var/lib/denopod/overlay/x/merged",
    shmPath: "/var/lib/denopod/containers/x/userdata/shm",
    runDir: "/run/denopod/containers/x",
    hasResolv: true,
    hasHosts: true,
    volumes: [],
    network: "private",
    terminal: false,
    hardNofile: 20000,
    hardNproc: 96364,
    ...overrides,
  };
}

Deno.test("the spec has the design's mounts, in an order where parents come first", () => {
  const spec = buildSpec(input({
    volumes: [{ source: "/data", destination: "/data", readonly: true }],
  }));
  assert.deepEqual(spec.mounts.map((m) => [m.destination, m.type, m.source]), [
    ["/proc", "proc", "proc"],
    ["/dev", "tmpfs", "tmpfs"],
    ["/dev/pts", "devpts", "devpts"],
    ["/dev/mqueue", "mqueue", "mqueue"],
    ["/sys", "sysfs", "sysfs"],
    ["/sys/fs/cgroup", "cgroup", "cgroup"],
    ["/dev/shm", "bind", "/var/lib/denopod/containers/x/userdata/shm"],
    ["/etc/resolv.conf", "bind", "/run/denopod/containers/x/resolv.conf"],
    ["/etc/hosts", "bind", "/run/denopod/containers/x/hosts"],
    ["/etc/hostname", "bind", "/run/denopod/containers/x/hostname"],
    ["/data", "bind", "/data"],
  ]);
  const options = Object.fromEntries(spec.mounts.map((m) => [m.destination, m.options]));
  assert.deepEqual(options["/proc"], ["nosuid", "noexec", "nodev"]);
  assert.deepEqual(options["/dev"], ["nosuid", "strictatime", "mode=755", "size=65536k"]);
  assert.deepEqual(options["/dev/pts"], [
    "nosuid",
    "noexec",
    "newinstance",
    "ptmxmode=0666",
    "mode=0620",
    "gid=5",
  ]);
  assert.ok(options["/sys"].includes("ro"));
  assert.ok(options["/sys/fs/cgroup"].includes("ro"));
  assert.deepEqual(options["/dev/shm"], ["bind", "rprivate", "nosuid", "noexec", "nodev"]);
  assert.deepEqual(options["/data"], ["rbind", "rprivate", "ro"]);
});

Deno.test("absent rundir files get no bind", () => {
  const spec = buildSpec(input({ hasResolv: false, hasHosts: false }));
  const targets = spec.mounts.map((m) => m.destination);
  assert.ok(!targets.includes("/etc/resolv.conf"));
  assert.ok(!targets.includes("/etc/hosts"));
  assert.ok(targets.includes("/etc/hostname"));
});

Deno.test("capabilities, masked and read-only paths, noNewPrivileges as podman", () => {
  const spec = buildSpec(input());
  const caps = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
  ];
  assert.deepEqual(spec.process.capabilities, {
    bounding: caps,
    effective: caps,
    permitted: caps,
    inheritable: [],
    ambient: [],
  });
  assert.equal(spec.process.noNewPrivileges, false);
  assert.deepEqual(spec.linux.maskedPaths, [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/devices/virtual/powercap",
  ]);
  assert.deepEqual(spec.linux.readonlyPaths, [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
  ]);
  assert.deepEqual(spec.linux.resources.devices, [{ allow: false, access: "rwm" }]);
  assert.equal(spec.linux.cgroupsPath, undefined);
  assert.equal(spec.hostname, "abc123");
  assert.deepEqual(spec.root, { path: "/var/lib/denopod/overlay/x/merged", readonly: false });
});

Deno.test("namespaces: pid, ipc, uts, mount, and network unless --network host", () => {
  const types = (network: SpecInput["network"]) =>
    buildSpec(input({ network })).linux.namespaces.map((n) => n.type);
  assert.deepEqual(types("private"), ["pid", "ipc", "uts", "mount", "network"]);
  assert.deepEqual(types("none"), ["pid", "ipc", "uts", "mount", "network"]);
  assert.deepEqual(types("host"), ["pid", "ipc", "uts", "mount"]);
});

Deno.test("rlimits never exceed the caller's hard limits", () => {
  const limits = (hardNofile?: number, hardNproc?: number) =>
    buildSpec(input({ hardNofile, hardNproc })).process.rlimits;
  assert.deepEqual(limits(20000, 96364), [
    { type: "RLIMIT_NOFILE", hard: 20000, soft: 20000 },
    { type: "RLIMIT_NPROC", hard: 96364, soft: 96364 },
  ]);
  assert.deepEqual(limits(Infinity, Infinity), [
    { type: "RLIMIT_NOFILE", hard: 1048576, soft: 1048576 },
    { type: "RLIMIT_NPROC", hard: 1048576, soft: 1048576 },
  ]);
  assert.deepEqual(limits(undefined, undefined), []);
  assert.equal(JSON.stringify(limits(Infinity, Infinity)).includes("null"), false);
});

Deno.test("each build is a fresh spec: changing one never changes another", () => {
  const a = buildSpec(input());
  const b = buildSpec(input());
  a.mounts[0].options.push("ro");
  a.process.capabilities.bounding.pop();
  a.linux.maskedPaths.pop();
  assert.deepEqual(b.mounts[0].options, ["nosuid", "noexec", "nodev"]);
  assert.equal(b.process.capabilities.bounding.length, DEFAULT_CAPABILITIES.length);
  assert.equal(b.linux.maskedPaths.length, 12);
});

Deno.test("validateWorkdir: absolute and not under /proc", () => {
  validateWorkdir("/");
  validateWorkdir("/srv/app");
  validateWorkdir("/process");
  for (const bad of ["srv", "", "/proc", "/proc/self/cwd", "/a/../proc/1", "//proc"]) {
    assert.throws(() => validateWorkdir(bad), InvalidArgError, bad);
  }
  assert.throws(() => buildSpec(input({ cwd: "/proc/1/root" })), InvalidArgError);
});

Deno.test("bad inputs are refused: empty command, bad IDs, relative paths, bad capability", () => {
  assert.throws(() => buildSpec(input({ args: [] })), InvalidArgError);
  assert.throws(() => buildSpec(input({ rootfs: "merged" })), InvalidArgError);
  assert.throws(
    () => buildSpec(input({ volumes: [{ source: "data", destination: "/d", readonly: false }] })),
    InvalidArgError,
  );
  assert.throws(() => withUser(-1, 0), InvalidArgError);
  assert.throws(() => withUser(0, 0, [1.5]), InvalidArgError);
  assert.throws(() => withCapabilities(["CAP_x y" as `CAP_${string}`]), InvalidArgError);
  const spec = buildSpec(input({ uid: 1000, gid: 100, additionalGids: [10, 20] }));
  assert.deepEqual(spec.process.user, {
    uid: 1000,
    gid: 100,
    umask: 0o022,
    additionalGids: [10, 20],
  });
});

async function run(cmd: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
}

Deno.test({
  name: "runc runs a busybox container from the spec: hostname, rundir files, rlimits, caps",
  ignore: Deno.uid() !== 0,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "denopod-spec-" });
    const id = `denopod-spectest-${crypto.randomUUID().slice(0, 8)}`;
    const runcRoot = `${tmp}/runc`;
    try {
      const rootfs = `${tmp}/bundle/rootfs`;
      await Deno.mkdir(`${rootfs}/bin`, { recursive: true });
      await Deno.mkdir(`${rootfs}/srv`);
      await Deno.copyFile("/bin/busybox", `${rootfs}/bin/busybox`);
      await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
      for (const applet of ["sh", "cat", "grep", "hostname", "readlink", "pwd"]) {
        await Deno.symlink("busybox", `${rootfs}/bin/${applet}`);
      }
      await Deno.mkdir(`${tmp}/shm`);
      await Deno.mkdir(`${tmp}/run`);
      const hosts = buildHosts({
        hostHosts: null,
        addHosts: ["db:10.1.2.3"],
        hostname: "spectest",
        containerName: "ctr",
        network: "none",
        noHosts: false,
        hostIp: "192.0.2.2",
      }) ?? "";
      await Deno.writeTextFile(`${tmp}/run/hostname`, buildHostname("spectest"));
      await Deno.writeTextFile(`${tmp}/run/hosts`, hosts);
      await Deno.writeTextFile(`${tmp}/run/resolv.conf`, "");
      const [, hardNofile] = libc().getrlimit(RLIMIT_NOFILE);
      const [, hardNproc] = libc().getrlimit(RLIMIT_NPROC);
      const script = [
        "echo hi",
        "cat /etc/hostname",
        "hostname",
        "cat /etc/hosts",
        'echo "nofile=$(ulimit -n)"',
        'echo "nproc=$(ulimit -u)"',
        "grep -E '^Cap(Bnd|Eff|Inh)' /proc/self/status",
        'echo "cwd=$(pwd)"',
        'echo "net=$(readlink /proc/self/ns/net)"',
        "cat /proc/self/mountinfo",
      ].join("; ");
      const spec = buildSpec({
        args: ["sh", "-c", script],
        env: ["PATH=/bin"],
        cwd: "/srv",
        uid: 0,
        gid: 0,
        hostname: "spectest",
        rootfs,
        shmPath: `${tmp}/shm`,
        runDir: `${tmp}/run`,
        hasResolv: true,
        hasHosts: true,
        volumes: [],
        network: "none",
        terminal: false,
        hardNofile,
        hardNproc,
      });
      await Deno.writeTextFile(`${tmp}/bundle/config.json`, JSON.stringify(spec, null, 2));

      const out = await run("runc", ["--root", runcRoot, "run", "--bundle", `${tmp}/bundle`, id]);
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `runc failed: ${stderr}`);
      const lines = stdout.split("\n");
      assert.equal(lines[0], "hi");
      assert.equal(lines[1], "spectest");
      assert.equal(lines[2], "spectest");
      assert.ok(stdout.includes(hosts), stdout);
      assert.ok(lines.includes(`nofile=${Math.min(1048576, hardNofile)}`), stdout);
      assert.ok(lines.includes(`nproc=${Math.min(1048576, hardNproc)}`), stdout);
      assert.ok(lines.includes("CapBnd:\t00000000800405fb"), stdout);
      assert.ok(lines.includes("CapEff:\t00000000800405fb"), stdout);
      assert.ok(lines.includes("CapInh:\t0000000000000000"), stdout);
      assert.ok(lines.includes("cwd=/srv"), stdout);
      const hostNet = await Deno.readLink("/proc/self/ns/net");
      const net = lines.find((l) => l.startsWith("net="));
      assert.ok(net !== undefined && net !== `net=${hostNet}`, `${net} vs host ${hostNet}`);
      const mountinfo = lines.filter((l) => / - /.test(l)).map((l) => l.split(" "));
      const at = (target: string) => mountinfo.find((f) => f[4] === target);
      assert.ok(at("/proc/sys")?.[5].split(",").includes("ro"), "/proc/sys is not read-only");
      assert.ok(at("/proc/keys") !== undefined, "/proc/keys is not masked");
      for (const target of ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm"]) {
        assert.ok(at(target) !== undefined, `${target} is not mounted`);
      }
    } finally {
      await run("runc", ["--root", runcRoot, "delete", "-f", id]);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
