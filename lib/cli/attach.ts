/**
 * Starting a container from the command line: detached, or attached with its output streamed
 * live until it exits, then finished by this process (exit code, storage, runc state; removal
 * with `--rm`) instead of by the monitor's exit command. Loaded only by `run`, `start`,
 * `restart` and `logs`.
 * @module
 */
import type { Container } from "../container/container.ts";
import { startContainer } from "../container/lifecycle/start.ts";
import { waitForContainer } from "../container/lifecycle/wait.ts";
import { cleanupContainer } from "../container/lifecycle/cleanup.ts";
import { followLog } from "../container/logs.ts";
import { removeContainer } from "../container/remove.ts";
import { readExitRecord } from "../oci/exitfile.ts";
import { DenopodError } from "../errors.ts";
import { isActive } from "../container/status.ts";
import { attachedMarkerPath, type Runtime } from "../runtime.ts";

/** True while the container's process has not ended (exit file absent, row present). */
export async function stillRunning(runtime: Runtime, ctr: Container): Promise<boolean> {
  if (await readExitRecord(runtime.paths.exitsDir, ctr.id)) return false;
  const record = runtime.containers.get(ctr.id);
  if (!record) return false;
  return isActive(record.state.status);
}

/**
 * Says whether an attached client (this process) will finish the container when it exits: the
 * marker holds our PID, and the monitor's exit command then does nothing while we live (see
 * `cleanupCommand` in runtime.ts). A detached start removes a marker a dead client left.
 */
async function markAttached(runtime: Runtime, ctr: Container, attached: boolean): Promise<void> {
  const marker = attachedMarkerPath(runtime.paths, ctr.id);
  try {
    if (attached) await Deno.writeTextFile(marker, String(Deno.pid), { mode: 0o600 });
    else await Deno.remove(marker);
  } catch (err) {
    // no rundir (the monitor's cleanup then runs as usual), or no marker to remove
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Starts `ctr` detached (under its lock), first dropping a stale attached-client marker. */
export async function startDetached(runtime: Runtime, ctr: Container): Promise<void> {
  await markAttached(runtime, ctr, false);
  await ctr.withLock(() => startContainer(ctr));
}

/**
 * Starts `ctr` and, attached, streams its output live until it exits, then finishes it itself
 * (exit code, storage, runc state; removal with `--rm`) instead of the monitor's exit command;
 * returns its exit code (attached) or undefined (detached).
 */
export async function startAndAttach(
  runtime: Runtime,
  ctr: Container,
  attach: boolean,
  autoRemove: boolean,
): Promise<number | undefined> {
  if (!attach) {
    try {
      await startDetached(runtime, ctr);
    } catch (err) {
      if (autoRemove) await removeQuietly(ctr);
      throw err;
    }
    return undefined;
  }
  const log = await Deno.open(runtime.paths.logPath(ctr.id), { read: true });
  try {
    let offset: number;
    try {
      await markAttached(runtime, ctr, true);
      offset = await ctr.withLock(() => startContainer(ctr));
    } catch (err) {
      if (autoRemove) await removeQuietly(ctr);
      else await markAttached(runtime, ctr, false);
      throw err;
    }
    await followLog(log, { follow: true, timestamps: false, offset }, {
      stdout: Deno.stdout,
      stderr: Deno.stderr,
    }, () => stillRunning(runtime, ctr));
    const code = await exitCodeOf(runtime, ctr);
    await cleanupContainer(runtime, ctr.id);
    await markAttached(runtime, ctr, false);
    return code;
  } finally {
    log.close();
  }
}

async function exitCodeOf(runtime: Runtime, ctr: Container): Promise<number> {
  const record = await readExitRecord(runtime.paths.exitsDir, ctr.id);
  if (record) return record.exitCode;
  return await waitForContainer(runtime, ctr.id);
}

async function removeQuietly(ctr: Container): Promise<void> {
  try {
    await removeContainer(ctr, { force: true });
  } catch (err) {
    if (!(err instanceof DenopodError)) throw err;
  }
}
