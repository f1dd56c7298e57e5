/**
 * Lock waits end: a command on a container whose lock another process holds gives up after
 * `DENOPOD_LOCK_TIMEOUT` seconds with one line naming the lock, the holder's PID and its command
 * (read from /proc/locks and /proc/PID/cmdline), exit 125, and nothing changed; once the holder
 * lets go, the same command works.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LockError } from "../lib/errors.ts";
import { acquireLock, lockHolder } from "../lib/sys/lockfile.ts";
import { denopod, denopodOk, importBusybox, IS_ROOT, withRoots } from "./helpers/denopod.ts";
import { holdLock } from "./helpers/lock_holder.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "acquireLock gives up after its timeout with a LockError naming the holder",
  opts,
  async () => {
    await withTempDir("denopod-lock-", async (dir) => {
      const path = join(dir, "x.lock");
      const holder = await holdLock(path);
      try {
        assert.deepEqual(lockHolder(path)?.pid, holder.pid);
        await assert.rejects(
          acquireLock(path, { timeoutSeconds: 0.2 }),
          (err: unknown) =>
            err instanceof LockError &&
            err.message ===
              `timed out after 0.2 seconds waiting for the lock ${path}: it is held by process ${holder.pid} (${
                lockHolder(path)?.command
              })` &&
            /lock_holder\.ts/.test(err.message),
        );
      } finally {
        await holder.release();
      }
      assert.equal(lockHolder(path), undefined, "nobody holds it now");
      const held = await acquireLock(path, { timeoutSeconds: 0.2 });
      held.release();
    });
  },
);

Deno.test(
  "a CLI command waiting on a held container lock fails after DENOPOD_LOCK_TIMEOUT",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const id = (await denopodOk(roots, ["create", "--name", "web", "busybox", "true"])).trim();
      const holder = await holdLock(join(roots.runRoot, "locks", `${id}.lock`));
      try {
        const env = { DENOPOD_LOCK_TIMEOUT: "0.3" };
        const rm = await denopod(roots, ["rm", "web"], { env });
        assert.equal(rm.code, 125);
        assert.equal(rm.stdout, "");
        assert.match(
          rm.stderr,
          new RegExp(
            `^Error: timed out after 0\\.3 seconds waiting for the lock \\S+/locks/${id}\\.lock: it is held by process ${holder.pid} \\([^\\n]*lock_holder\\.ts[^\\n]*\\)\\n$`,
          ),
        );
        assert.equal((await denopodOk(roots, ["ps", "-aq"])).trim(), id.slice(0, 12));
        const bad = await denopod(roots, ["rm", "web"], { env: { DENOPOD_LOCK_TIMEOUT: "soon" } });
        assert.deepEqual(
          [bad.code, bad.stderr],
          [
            125,
            'Error: invalid DENOPOD_LOCK_TIMEOUT "soon": must be a number of seconds above 0\n',
          ],
        );
      } finally {
        await holder.release();
      }
      assert.equal(await denopodOk(roots, ["rm", "web"]), "web\n");
    });
  },
);
