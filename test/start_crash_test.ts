/**
 * A client killed (-9) during `run`, after it mounted the container's shm and rootfs but before
 * the container started, leaves those mounts; the next command that syncs the container (`ps`
 * here, or `start`) unmounts them, and the container starts normally afterwards.
 *
 * To stop the client at that point every time, it runs with a `runc` first on its PATH that,
 * for `create` only, notes that it was reached and waits until the test lets it go (then fails);
 * every other verb is the real runc's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cli, mountPointsUnder, pollFor, testEachMonitor } from "./helpers/running.ts";
import { spawnDenopod } from "./helpers/denopod.ts";
import type { Roots } from "./helpers/denopod.ts";

/** The real runc on PATH. */
function realRunc(): string {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin").split(":")) {
    try {
      if (Deno.statSync(join(dir, "runc")).isFile) return join(dir, "runc");
    } catch {
      // not there
    }
  }
  throw new Error("runc not found on PATH");
}

/** A directory holding the stalling `runc`, and the files it talks through. */
interface StallingRunc {
  bin: string;
  reached: string;
  hold: string;
}

function stallingRunc(roots: Roots): StallingRunc {
  const bin = join(roots.dir, "fakebin");
  Deno.mkdirSync(bin);
  const reached = join(roots.dir, "create-reached");
  const hold = join(roots.dir, "create-hold");
  Deno.writeTextFileSync(hold, "");
  Deno.writeTextFileSync(
    join(bin, "runc"),
    `#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = create ]; then
    : > '${reached}'
    while [ -e '${hold}' ]; do sleep 0.05; done
    echo 'stalled create let go' >&2
    exit 1
  fi
done
exec '${realRunc()}' "$@"
`,
    { mode: 0o755 },
  );
  return { bin, reached, hold };
}

/** Mount points of the container `id` (its shm and its merged rootfs) now. */
function containerMounts(roots: Roots, id: string): string[] {
  return mountPointsUnder(roots.dir).filter((point) => point.includes(id)).sort();
}

async function killClientBeforeStart(cli: Cli, roots: Roots, monitor: string): Promise<string> {
  const runc = stallingRunc(roots);
  const client = spawnDenopod(roots, ["run", "--name", "victim", "busybox", "true"], {
    DENOPOD_MONITOR: monitor,
    PATH: `${runc.bin}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
  });
  try {
    await pollFor("runc create to be reached", () => {
      try {
        Deno.statSync(runc.reached);
        return true;
      } catch {
        return client.exited() ? false : undefined;
      }
    });
    if (client.exited()) {
      assert.fail(`the client ended early: ${JSON.stringify(await client.done)}`);
    }
    const id = (await cli.ok(["inspect", "--format", "{{.Id}}", "victim"])).trim();
    // inspect syncs too, but the client holds the container's lock: nothing is touched yet
    assert.equal(containerMounts(roots, id).length, 2, "shm and rootfs mounted by the client");
    Deno.kill(client.pid, "SIGKILL");
    await client.done;
    assert.equal(containerMounts(roots, id).length, 2, "the dead client left both mounts");
    return id;
  } finally {
    // let the stalled create fail, so the monitor ends
    Deno.removeSync(runc.hold);
  }
}

testEachMonitor(
  "a client killed before its container started leaves no mount after the next ps",
  async (cli, roots, monitor) => {
    const id = await killClientBeforeStart(cli, roots, monitor);
    const ps = await cli.run(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout, "victim Created\n");
    // With conmon, the stalled create fails once let go and conmon runs the exit command
    // (`container cleanup`); a `ps` meeting that cleanup holding the container's lock skips the
    // container rather than wait (by design). So: the mounts are gone after a later `ps` at the
    // latest, and never left for good.
    await pollFor("ps to unmount what the client left", async () => {
      if (containerMounts(roots, id).length === 0) return true;
      await cli.ok(["ps", "-a", "-q"]);
      return containerMounts(roots, id).length === 0 ? true : undefined;
    });
    assert.equal(
      (await cli.ok(["inspect", "--format", "{{.State.Status}} {{json .GraphDriver.Data}}", id]))
        .includes("MergedDir"),
      false,
      "no mount point in its state",
    );

    const started = await cli.run(["start", "-a", "victim"]);
    assert.equal(started.code, 0, started.stderr);
    await cli.ok(["rm", "victim"]);
    assert.deepEqual(mountPointsUnder(roots.dir), []);
  },
);
