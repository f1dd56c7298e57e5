/**
 * The crash-point test seam: `crashPoint("start:created")` kills this process with SIGKILL when
 * the environment variable `DENOPOD_CRASH_AT` names that point, and does nothing otherwise (one
 * environment read). The kill-at-every-step harness (`test/kill_harness_test.ts`) uses it to stop
 * a command exactly between two of its steps, as a `kill -9` or a power cut would, and then
 * checks that the next command or `system check --repair` leaves nothing behind.
 *
 * Named points (command: point — what is done when it fires):
 * - create: `create:inserted` (row and intent written), `create:storage` (layer, bundle made)
 * - start/run: `start:mounted` (rootfs mounted), `start:created` (runc create done, monitor up),
 *   `start:started` (runc start done, state not yet saved)
 * - rm: `remove:intent` (container stopped, intent written), `remove:layer` (RW layer deleted)
 * - rmi: `rmi:committed` (rows deleted, intents written), `rmi:renamed` (layer set aside)
 * - import/load: `layer:extracted` (a layer's files written, not committed), `load:layers`
 *   (layers committed, image rows not yet)
 * - save: `save:written` (the temporary file complete, not renamed)
 * - export: `export:mounted` (rootfs mounted, output opened), `export:written` (not renamed)
 *
 * @example
 * ```ts
 * crashPoint("start:created"); // DENOPOD_CRASH_AT=start:created denopod run -d ... dies here
 * ```
 * @module
 */

/** SIGKILLs this process when `DENOPOD_CRASH_AT` equals `name`; see the module doc. */
export function crashPoint(name: string): void {
  crashAt ??= readCrashAt();
  if (crashAt === name) Deno.kill(Deno.pid, "SIGKILL");
}

let crashAt: string | undefined;

function readCrashAt(): string {
  try {
    return Deno.env.get("DENOPOD_CRASH_AT") ?? "";
  } catch {
    return ""; // no permission to read the environment: no crash points
  }
}
