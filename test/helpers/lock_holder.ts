/**
 * A child process for lock-contention tests: takes the flock on the path in `Deno.args[0]` with
 * {@linkcode acquireLock}, prints `held`, and keeps the lock until its stdin reaches end of file;
 * then prints `released` after letting go.
 *
 * Run: `deno run -A test/helpers/lock_holder.ts <runroot>/locks/<id>.lock`, or from a test with
 * {@linkcode holdLock}.
 * @module
 */
import assert from "node:assert/strict";
import { acquireLock } from "../../lib/sys/lockfile.ts";

const decoder = new TextDecoder();

/** A child process holding a lockfile until {@linkcode LockHolder.release}. */
export interface LockHolder {
  /** The holder's PID. */
  readonly pid: number;
  /** Lets go of the lock and waits for the holder to exit. */
  release(): Promise<void>;
}

/** Starts `test/helpers/lock_holder.ts` on `path` and waits until it holds the lock. */
export async function holdLock(path: string): Promise<LockHolder> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", new URL(import.meta.url).pathname, path],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("held\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the lock holder exited before taking ${path}`);
    seen += decoder.decode(value);
  }
  return {
    pid: child.pid,
    async release() {
      await child.stdin.close();
      while (!seen.includes("released\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += decoder.decode(value);
      }
      reader.releaseLock();
      const status = await child.status;
      assert.equal(status.code, 0, "the lock holder failed");
      assert.match(seen, /held\nreleased\n/);
    },
  };
}

if (import.meta.main) {
  const held = await acquireLock(Deno.args[0]);
  const encoder = new TextEncoder();
  Deno.stdout.writeSync(encoder.encode("held\n"));
  for await (const _ of Deno.stdin.readable) {
    // wait for end of file
  }
  held.release();
  Deno.stdout.writeSync(encoder.encode("released\n"));
}
