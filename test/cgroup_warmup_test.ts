/**
 * The cgroup migration warm-up (lib/sys/cgroup_warmup.ts): which `cgroup.procs` file it picks on
 * v1, hybrid and v2 hosts, and that the real write on this host leaves the process in the very
 * cgroups it was in. What it saves is a timing, shown by `bench.ts confine`, never asserted here.
 */
import assert from "node:assert/strict";
import { cgroupMounts } from "../lib/sys/cgroup.ts";
import { ownCgroupProcsFile, warmCgroupMigration } from "../lib/sys/cgroup_warmup.ts";

const HYBRID_MOUNTINFO = [
  "30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755",
  "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate",
  "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd",
  "35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,pids",
  "36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct",
].join("\n");

const V1_MOUNTINFO = HYBRID_MOUNTINFO.split("\n").filter((line) => !line.includes("cgroup2"))
  .join("\n");

const V2_MOUNTINFO =
  "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate";

Deno.test("warm-up file: the v2 cgroup's on a hybrid host, at the process's own path", () => {
  const procSelfCgroup =
    "2:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice/cron\n";
  assert.equal(
    ownCgroupProcsFile(procSelfCgroup, cgroupMounts(HYBRID_MOUNTINFO)),
    "/sys/fs/cgroup/unified/user.slice/cron/cgroup.procs",
  );
});

Deno.test("warm-up file: a v1 hierarchy holding the line's controllers on a v1 host", () => {
  const procSelfCgroup = "5:pids:/cron\n2:cpu,cpuacct:/\n";
  assert.equal(
    ownCgroupProcsFile(procSelfCgroup, cgroupMounts(V1_MOUNTINFO)),
    "/sys/fs/cgroup/pids/cron/cgroup.procs",
  );
});

Deno.test("warm-up file: the unified hierarchy on a v2 host; none without cgroups", () => {
  assert.equal(
    ownCgroupProcsFile("0::/system.slice/x.service\n", cgroupMounts(V2_MOUNTINFO)),
    "/sys/fs/cgroup/system.slice/x.service/cgroup.procs",
  );
  assert.equal(ownCgroupProcsFile("0::/\n", []), undefined);
  assert.equal(ownCgroupProcsFile("", cgroupMounts(V2_MOUNTINFO)), undefined);
});

Deno.test("warm-up on this host: resolves, and the process stays in the cgroups it was in", async () => {
  const before = await Deno.readTextFile("/proc/self/cgroup");
  const file = ownCgroupProcsFile();
  await warmCgroupMigration();
  assert.equal(await Deno.readTextFile("/proc/self/cgroup"), before);
  if (file !== undefined) {
    // the file named is this process's cgroup: it lists this process
    const pids = (await Deno.readTextFile(file)).split("\n");
    assert.equal(pids.includes(String(Deno.pid)), true);
  }
});
