/**
 * Integration (root): `lib/sys/netns.ts` makes a network namespace without a process — an nsfs
 * bind mount in `/proc/self/mountinfo`, a namespace other than ours with loopback only — leaves
 * the calling thread in its own namespace, and removes it again; a failure leaves no file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createNetns, removeNetns } from "../lib/sys/netns.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const opts = { ignore: Deno.uid() !== 0 };

function nsfsMountsAt(path: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .filter((line) => line.split(" ")[4] === path && line.includes(" - nsfs "));
}

Deno.test(
  "createNetns bind-mounts a new namespace and leaves us in ours; removeNetns undoes it",
  opts,
  async () => {
    await withTempDir("denopod-netns-", async (dir) => {
      const path = join(dir, "ns");
      const ours = Deno.readLinkSync("/proc/thread-self/ns/net");
      try {
        createNetns(path);
        assert.equal(Deno.readLinkSync("/proc/thread-self/ns/net"), ours, "back in our namespace");
        assert.equal(nsfsMountsAt(path).length, 1, "one nsfs mount at the path");
        assert.ok(!nsfsMountsAt(path)[0].includes(ours.slice(5, -1)), "not our namespace");
        const out = await new Deno.Command("nsenter", {
          args: [`--net=${path}`, "cat", "/proc/net/dev"],
          stdout: "piped",
        }).output();
        const interfaces = new TextDecoder().decode(out.stdout).split("\n").slice(2)
          .map((line) => line.trim().split(":")[0]).filter((name) => name !== "");
        assert.deepEqual(interfaces, ["lo"], "loopback only");
      } finally {
        removeNetns(path);
      }
      assert.deepEqual(nsfsMountsAt(path), []);
      assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
      removeNetns(path); // a second removal is no error
    });
  },
);

Deno.test("createNetns in a missing folder fails with nothing made", opts, async () => {
  await withTempDir("denopod-netns-", (dir) => {
    const path = join(dir, "missing", "ns");
    assert.throws(() => createNetns(path), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // an existing file is never taken over
    const taken = join(dir, "taken");
    Deno.writeTextFileSync(taken, "x");
    assert.throws(() => createNetns(taken), Deno.errors.AlreadyExists);
    assert.equal(Deno.readTextFileSync(taken), "x");
    assert.deepEqual(nsfsMountsAt(taken), []);
  });
});
