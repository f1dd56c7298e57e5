/**
 * The seccomp conversion against podman's own profile (`/usr/share/containers/seccomp.json`):
 * rules chosen by architecture, capability and kernel as containers/common does, and the
 * on-disk cache of converted profiles.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  convertSeccompProfile,
  DEFAULT_SECCOMP_PROFILE,
  loadSeccomp,
  type MobySeccompProfile,
  type OciSeccomp,
  SeccompProfileMissingError,
} from "../lib/container/spec/seccomp.ts";
import { DEFAULT_CAPABILITIES } from "../lib/container/spec.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const HAVE_PROFILE = (() => {
  try {
    return Deno.statSync(DEFAULT_SECCOMP_PROFILE).isFile;
  } catch {
    return false;
  }
})();

function podmanProfile(): MobySeccompProfile {
  return JSON.parse(Deno.readTextFileSync(DEFAULT_SECCOMP_PROFILE));
}

/** Every action the converted profile gives `name` (one per rule that names it). */
function actionsFor(seccomp: OciSeccomp, name: string): string[] {
  return seccomp.syscalls.filter((s) => s.names.includes(name)).map((s) => s.action);
}

Deno.test(
  "convertSeccompProfile keeps podman's default action, errno and x86_64's architectures",
  { ignore: !HAVE_PROFILE },
  () => {
    const seccomp = convertSeccompProfile(podmanProfile(), {
      arch: "x86_64",
      capabilities: DEFAULT_CAPABILITIES,
      kernel: [6, 1],
    });
    assert.equal(seccomp.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(seccomp.defaultErrnoRet, 38);
    assert.deepEqual(seccomp.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    // refused outright; allowed; x86-only rules kept, arm-only ones dropped
    assert.deepEqual(actionsFor(seccomp, "swapon"), ["SCMP_ACT_ERRNO"]);
    assert.deepEqual(actionsFor(seccomp, "read"), ["SCMP_ACT_ALLOW"]);
    assert.deepEqual(actionsFor(seccomp, "arch_prctl"), ["SCMP_ACT_ALLOW"]);
    assert.deepEqual(actionsFor(seccomp, "arm_fadvise64_64"), []);
    // no capability-only rule without the capability: bpf is refused, chroot (CAP_SYS_CHROOT) allowed
    assert.deepEqual(actionsFor(seccomp, "bpf"), ["SCMP_ACT_ERRNO"]);
    assert.deepEqual(actionsFor(seccomp, "chroot"), ["SCMP_ACT_ALLOW"]);
    for (const rule of seccomp.syscalls) {
      assert.deepEqual(
        Object.keys(rule).filter((k) => !["names", "action", "errnoRet", "args"].includes(k)),
        [],
      );
    }
  },
);

Deno.test(
  "convertSeccompProfile follows the capabilities: CAP_SYS_ADMIN allows bpf, no CAP_SYS_CHROOT refuses chroot",
  { ignore: !HAVE_PROFILE },
  () => {
    const caps = [...DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_SYS_CHROOT"), "CAP_SYS_ADMIN"];
    const seccomp = convertSeccompProfile(podmanProfile(), {
      arch: "x86_64",
      capabilities: caps,
      kernel: [6, 1],
    });
    assert.deepEqual(actionsFor(seccomp, "bpf"), ["SCMP_ACT_ALLOW"]);
    assert.deepEqual(actionsFor(seccomp, "chroot"), ["SCMP_ACT_ERRNO"]);
    const arm = convertSeccompProfile(podmanProfile(), {
      arch: "aarch64",
      capabilities: caps,
      kernel: [6, 1],
    });
    assert.deepEqual(arm.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    assert.deepEqual(actionsFor(arm, "arch_prctl"), []);
    assert.deepEqual(actionsFor(arm, "arm_fadvise64_64"), ["SCMP_ACT_ALLOW"]);
  },
);

Deno.test("convertSeccompProfile drops a rule whose minKernel is newer than the kernel", () => {
  const profile: MobySeccompProfile = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      { names: ["old"], action: "SCMP_ACT_ALLOW" },
      { names: ["new"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "5.8" } },
      { names: ["x"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["amd64"] } },
    ],
  };
  const on57 = convertSeccompProfile(profile, { arch: "x86_64", capabilities: [], kernel: [5, 7] });
  const on61 = convertSeccompProfile(profile, { arch: "x86_64", capabilities: [], kernel: [6, 1] });
  assert.deepEqual(on57.syscalls.map((s) => s.names[0]), ["old"]);
  assert.deepEqual(on61.syscalls.map((s) => s.names[0]), ["old", "new"]);
});

Deno.test("loadSeccomp refuses a missing profile, naming it and the way out", async () => {
  await assert.rejects(
    () => loadSeccomp({ profilePath: "/nonexistent/seccomp.json", capabilities: [] }),
    (err: Error) =>
      err instanceof SeccompProfileMissingError &&
      err.message ===
        "seccomp profile /nonexistent/seccomp.json not found: install golang-github-containers-common, or run with --security-opt seccomp=unconfined",
  );
});

Deno.test(
  "loadSeccomp caches one conversion per profile, capability set and architecture, and a changed profile misses the cache",
  async () => {
    await withTempDir("denopod-seccomp-", async (dir) => {
      const profilePath = join(dir, "profile.json");
      const cacheDir = join(dir, "cache");
      const profile: MobySeccompProfile = {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }],
      };
      await Deno.writeTextFile(profilePath, JSON.stringify(profile));
      const first = await loadSeccomp({ profilePath, cacheDir, capabilities: ["CAP_CHOWN"] });
      assert.deepEqual(first.syscalls, [{ names: ["read"], action: "SCMP_ACT_ALLOW" }]);
      const cached = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
      assert.equal(cached.length, 1);
      // the cached file is what is read next time: mark it and see the mark come back
      const cachePath = join(cacheDir, cached[0]);
      await Deno.writeTextFile(cachePath, JSON.stringify({ ...first, defaultAction: "MARK" }));
      const again = await loadSeccomp({ profilePath, cacheDir, capabilities: ["CAP_CHOWN"] });
      assert.equal(again.defaultAction, "MARK");
      // another capability set: a conversion of its own
      await loadSeccomp({ profilePath, cacheDir, capabilities: ["CAP_SYS_ADMIN"] });
      assert.equal([...Deno.readDirSync(cacheDir)].length, 2);
      // a changed profile (another size) is converted again
      profile.syscalls!.push({ names: ["write"], action: "SCMP_ACT_ALLOW" });
      await Deno.writeTextFile(profilePath, JSON.stringify(profile));
      const changed = await loadSeccomp({ profilePath, cacheDir, capabilities: ["CAP_CHOWN"] });
      assert.equal(changed.defaultAction, "SCMP_ACT_ERRNO");
      assert.deepEqual(changed.syscalls.map((s) => s.names[0]), ["read", "write"]);
    });
  },
);
