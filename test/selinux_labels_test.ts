/**
 * SELinux wired through a container's life. SELinux is OFF on this machine (no selinuxfs), so the
 * enabled path runs with an injected "enabled" state and a recording labeller: labels allocated
 * with a unique MCS pair from the policy's contexts, set in the spec, and the rundir files and
 * `:z`/`:Z` volume sources relabelled. The last test shows the real path here: SELinux off, no
 * label anywhere, nothing fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  allocateLabels,
  type Labeller,
  parseLxcContexts,
  relabelForContainer,
} from "../lib/container/selinux_labels.ts";
import { confinementOptions } from "../lib/container/spec/confine.ts";
import { defaultConfinement } from "../lib/container/confinement.ts";
import { newSpec } from "../lib/container/spec.ts";
import { denopodOk, importBusybox, IS_ROOT, withRoots } from "./helpers/denopod.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const LXC_CONTEXTS = `process = "system_u:system_r:container_t:s0"
file = "system_u:object_r:container_file_t:s0"
ro_file="system_u:object_r:container_ro_file_t:s0"
`;

/** A random source that returns the given numbers in turn. */
function sequence(...numbers: number[]): (n: number) => number {
  return () => numbers.shift()!;
}

Deno.test("allocateLabels (SELinux injected as enabled) gives process and mount labels with one MCS pair", () => {
  const contexts = parseLxcContexts(LXC_CONTEXTS);
  const labels = allocateLabels({ disable: false }, new Set(), {
    enabled: true,
    contexts,
    random: sequence(7, 3),
  });
  assert.deepEqual(labels, {
    processLabel: "system_u:system_r:container_t:s0:c3,c7",
    mountLabel: "system_u:object_r:container_file_t:s0:c3,c7",
  });
  // a pair another container holds is not given again; equal numbers are no pair
  const next = allocateLabels({ disable: false }, new Set(["s0:c3,c7"]), {
    enabled: true,
    contexts,
    random: sequence(3, 7, 5, 5, 9, 1),
  });
  assert.equal(next.mountLabel, "system_u:object_r:container_file_t:s0:c1,c9");
  const typed = allocateLabels({ disable: false, type: "spc_t", level: "s0:c1,c2" }, new Set(), {
    enabled: true,
    contexts,
  });
  assert.equal(typed.processLabel, "system_u:system_r:spc_t:s0:c1,c2");
  assert.deepEqual(allocateLabels({ disable: true }, new Set(), { enabled: true, contexts }), {
    processLabel: "",
    mountLabel: "",
  });
  assert.deepEqual(allocateLabels({ disable: false }, new Set(), { enabled: false, contexts }), {
    processLabel: "",
    mountLabel: "",
  });
});

Deno.test("the labels go into the spec as process.selinuxLabel and linux.mountLabel", async () => {
  const labels = {
    processLabel: "system_u:system_r:container_t:s0:c3,c7",
    mountLabel: "system_u:object_r:container_file_t:s0:c3,c7",
  };
  const conf = { ...defaultConfinement(), seccomp: "unconfined" };
  const spec = newSpec(...await confinementOptions({ id: "x", confinement: conf, labels }));
  assert.equal(spec.process.selinuxLabel, labels.processLabel);
  assert.equal(spec.linux.mountLabel, labels.mountLabel);
  const none = newSpec(...await confinementOptions({ id: "x", confinement: conf }));
  assert.equal(none.process.selinuxLabel, undefined);
  assert.equal(none.linux.mountLabel, undefined);
});

Deno.test("relabelForContainer (recording labeller) relabels rundir files, :z shared and :Z private", () => {
  const calls: [string, string, boolean][] = [];
  const recorder: Labeller = {
    relabel: (path, label, shared) => calls.push([path, label, shared]),
  };
  const mountLabel = "system_u:object_r:container_file_t:s0:c3,c7";
  relabelForContainer(
    { processLabel: "p", mountLabel },
    ["/run/x/hosts", "/run/x/resolv.conf"],
    [
      { source: "/a", destination: "/a", readonly: false, relabel: "z" },
      { source: "/b", destination: "/b", readonly: false, relabel: "Z" },
      { source: "/c", destination: "/c", readonly: false },
    ],
    ["/a", "/b", "/c"],
    recorder,
  );
  assert.deepEqual(calls, [
    ["/run/x/hosts", mountLabel, false],
    ["/run/x/resolv.conf", mountLabel, false],
    ["/a", mountLabel, true],
    ["/b", mountLabel, false],
  ]);
  calls.length = 0;
  relabelForContainer({ processLabel: "", mountLabel: "" }, ["/f"], [], [], recorder);
  assert.deepEqual(calls, [], "without labels (SELinux off) nothing is relabelled");
});

Deno.test(
  "with SELinux off (this host) a :Z volume and label=type: are accepted and no label is written",
  { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false },
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await withTempDir("denopod-selinux-", async (dir) => {
        const out = await denopodOk(roots, [
          "run",
          "--rm",
          "-v",
          `${dir}:/x:Z`,
          "--security-opt",
          "label=type:spc_t",
          "busybox",
          "sh",
          "-c",
          "touch /x/ok && echo ok",
        ]);
        assert.equal(out, "ok\n");
        const id = (await denopodOk(roots, ["create", "-v", `${dir}:/y:z`, "busybox", "true"]))
          .trim();
        const spec = JSON.parse(
          await Deno.readTextFile(join(roots.root, "containers", id, "userdata", "config.json")),
        );
        assert.equal(spec.process.selinuxLabel, undefined);
        assert.equal(spec.linux.mountLabel, undefined);
      });
    });
  },
);
