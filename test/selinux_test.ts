/**
 * SELinux labels. SELinux is OFF on this machine (no /sys/fs/selinux, no selinuxfs mounted), so
 * these tests exercise only the label formatting (with the explicit `enabled` parameter, the one
 * place a stand-in for the kernel is allowed) and the skip path: with SELinux off every relabel
 * is a no-op that never fails and leaves no `security.selinux` xattr behind. Setting a real
 * label is not tested here.
 */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import { formatMountLabel, relabel, selinuxEnabled, sharedLabel } from "../lib/sys/selinux.ts";
import { libc } from "../lib/sys/libc.ts";

const LABEL = "system_u:object_r:container_file_t:s0:c1,c2";

function hostHasSelinux(): boolean {
  try {
    Deno.statSync("/sys/fs/selinux");
    return true;
  } catch {
    return false;
  }
}

Deno.test("formatMountLabel appends a quoted context when SELinux is on", () => {
  assert.equal(
    formatMountLabel("mode=1777,size=65536000,noexec", LABEL, true),
    `mode=1777,size=65536000,noexec,context="${LABEL}"`,
  );
  assert.equal(formatMountLabel("", LABEL, true), `context="${LABEL}"`);
});

Deno.test("formatMountLabel leaves the options alone when SELinux is off or the label is empty", () => {
  assert.equal(formatMountLabel("mode=1777", LABEL, false), "mode=1777");
  assert.equal(formatMountLabel("mode=1777", "", true), "mode=1777");
});

Deno.test("formatMountLabel refuses a label that would break out of the quotes", () => {
  for (const bad of ['x",upperdir=/etc', "a b", "a\nb"]) {
    assert.throws(() => formatMountLabel("mode=1777", bad, true), InvalidArgError);
  }
});

Deno.test("sharedLabel drops the categories (level s0), as a :z relabel does", () => {
  assert.equal(sharedLabel(LABEL), "system_u:object_r:container_file_t:s0");
  assert.equal(
    sharedLabel("system_u:object_r:container_file_t:s0"),
    "system_u:object_r:container_file_t:s0",
  );
  assert.equal(sharedLabel("unlabeled"), "unlabeled");
});

Deno.test({
  name: "selinuxEnabled is false on a host without selinuxfs, and the default formatting skips",
  ignore: hostHasSelinux(),
  fn() {
    assert.equal(selinuxEnabled(), false);
    assert.equal(formatMountLabel("mode=1777", LABEL), "mode=1777");
  },
});

Deno.test({
  name: "relabel is a no-op that never fails when SELinux is off",
  ignore: hostHasSelinux(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/hosts`;
      await Deno.writeTextFile(file, "127.0.0.1\tlocalhost\n");
      const before = libc().llistxattr(file);
      relabel(file, LABEL, false);
      relabel(file, LABEL, true);
      relabel(`${dir}/missing`, LABEL, false);
      relabel("/usr", LABEL, false); // refused only when SELinux is on
      assert.deepEqual(libc().llistxattr(file), before);
      assert.ok(!libc().llistxattr(file).includes("security.selinux"));
      assert.equal(await Deno.readTextFile(file), "127.0.0.1\tlocalhost\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("relabel with SELinux on refuses system directories before touching anything", () => {
  for (const path of ["/", "/usr", "/etc/", "/home"]) {
    assert.throws(
      () => relabel(path, LABEL, false, true),
      (err: unknown) => err instanceof InvalidArgError && err.message.includes("is not allowed"),
    );
  }
  // An empty label is a no-op even with SELinux on.
  relabel("/usr", "", false, true);
});
