/**
 * A child process for lock-contention tests: takes the flock on the path in `Deno.args[0]` with
 * {@linkcode acquireLock}, prints `held`, and keeps the lock until its stdin reaches end of file;
 * then prints `released` after letting go.
 *
 * Run: `deno run -A test/helpers/lock_holder.ts <runroot>/locks/<id>.lock`
 * @module
 */
import { acquireLock } from "../../lib/sys/lockfile.ts";

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
