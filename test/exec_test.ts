/**
 * `exec -u` beside podman 4.3.1: the same `id` output for names, numbers and `user:group`, and
 * the same one-line message for an unknown user or group or an ID out of range. podman exits
 * 255 there; denopod exits 125, the code podman documents for its own errors (podman-exec(1)).
 */
import assert from "node:assert/strict";
import {
  busyboxRootfsTar,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  withRoots,
} from "./helpers/denopod.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";

Deno.test(
  "exec -u resolves users and groups as podman 4.3.1 does, with its words for unknown ones",
  { ignore: !IS_ROOT || PODMAN === undefined, sanitizeResources: false, sanitizeOps: false },
  async () => {
    const podman = await PodmanSandbox.create();
    try {
      await podman.output("import", await busyboxRootfsTar(), "busybox");
      await podman.output("run", "-d", "--name", "box", "busybox", "sleep", "100");
      // the test rootfs tarball's `./` is 0700 (mktemp -d), which podman applies to the container's
      // root and denopod does not: open it, so that other users can read /etc/passwd in both
      await podman.output("exec", "box", "chmod", "755", "/");
      await withRoots(async (roots) => {
        await importBusybox(roots);
        await denopodOk(roots, ["run", "-d", "--name", "box", "busybox", "sleep", "100"]);
        try {
          for (const user of ["nobody", "nobody:nogroup", "65534", "1000", "1000:65534", "root:"]) {
            const theirs = await podman.run("exec", "-u", user, "box", "id");
            const ours = await denopod(roots, ["exec", "-u", user, "box", "id"]);
            assert.equal(theirs.code, 0, theirs.stderr);
            assert.deepEqual([ours.code, ours.stdout, ours.stderr], [0, theirs.stdout, ""], user);
          }
          for (const user of ["nosuch", "nobody:nosuch", "4294967296"]) {
            const theirs = await podman.run("exec", "-u", user, "box", "id");
            const ours = await denopod(roots, ["exec", "-u", user, "box", "id"]);
            assert.equal(theirs.code, 255, `podman 4.3.1 exits 255 for ${user}`);
            assert.deepEqual([ours.code, ours.stdout, ours.stderr], [125, "", theirs.stderr], user);
          }
        } finally {
          await denopod(roots, ["rm", "-f", "-t", "0", "box"]);
        }
      });
    } finally {
      await podman.remove();
    }
  },
);
