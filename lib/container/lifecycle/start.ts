/**
 * Starting a container (podman's init + start): mount its storage, resolve its user inside the
 * rootfs, write the rundir files and the bundle spec, have the monitor run `runc create`, then
 * `runc start`. If any step fails, what was done is undone; a command that cannot be run
 * (exit 126) or found (127) leaves the container exited with that code.
 *
 * @example
 * ```ts
 * await startContainer(ctr); // under the container's lock
 * ```
 * @module
 */
import { ContainerStateError, DenopodError } from "../../errors.ts";
import { removeExitFile } from "../../oci/exitfile.ts";
import { logger } from "../../log.ts";
import type { Container } from "../container.ts";
import { writeBundleSpec, writeRundirFiles } from "../files.ts";
import { canStart, isRunning, runtimeKnows } from "../status.ts";
import { resolveUser } from "../user.ts";
import { copyUpVolumes } from "../volume_binds.ts";
import { mountVolumes } from "../volume_mounts.ts";
import { mountOverlayVolumes } from "../overlay_volumes.ts";
import { join } from "../../util/path.ts";
import { syncContainer } from "./sync.ts";
import { journaled } from "../../events/journal.ts";
import { warmCgroupMigration } from "../../sys/cgroup_warmup.ts";
import { IntentLog } from "../../state/intents.ts";
import { crashPoint } from "../../util/crash.ts";
import { teardownIfBridged } from "../network_teardown.ts";

const log = logger("container");

/** What an attaching caller adds to a start. */
export interface StartOptions {
  /** The terminal's size before the process starts (containers with a terminal). */
  consoleSize?: { rows: number; cols: number };
  /**
   * Runs once the monitor created the container and serves its attach socket, before `runc
   * start`: an attaching client connects here, so it misses no output.
   */
  onCreated?: () => void | Promise<void>;
}

/**
 * Starts the container (the caller holds its lock). A running container is left as it is.
 * Returns the size of its log before the start, so an attached caller can follow from there.
 */
export async function startContainer(ctr: Container, options: StartOptions = {}): Promise<number> {
  await syncContainer(ctr);
  const { state, config, ctx } = ctr;
  if (isRunning(state.status)) return logSize(ctr);
  if (!canStart(state.status)) {
    throw new ContainerStateError(
      `container ${ctr.id} is ${state.status}: it must be created, stopped or exited to start: container state improper`,
    );
  }
  if (runtimeKnows(state.status)) {
    await ctx.oci.runc.delete(ctr.id, { force: true }).catch(() => {});
  }
  const logOffset = logSize(ctr);
  // "starting container X": a kill -9 before the state is saved leaves it, and the next command
  // kills what was started (monitor, container), unmounts and restores the status
  const intents = new IntentLog(ctx.db);
  const intent = intents.record("start", ctr.id, { status: state.status });
  let mountpoint: string;
  try {
    mountpoint = ctr.mountStorage();
  } catch (err) {
    intents.clear(intent);
    throw err;
  }
  crashPoint("start:mounted");
  const monitor = await ctx.oci.monitor();
  // netavark configures the namespace while the monitor has runc create the container; the
  // container's process runs only after both (runc start)
  let networkReady: Promise<boolean> | undefined;
  try {
    if (config.network === "bridge") {
      networkReady = (await (await import("../network.ts")).beginNetworkSetup(ctr)).ready;
    }
    await writeRundirFiles(ctr);
    mountVolumes(ctx, config.volumes);
    mountOverlayVolumes(ctx.paths, ctr.id, config.volumes);
    await copyUpVolumes(ctx.paths, config.volumes, mountpoint);
    await writeBundleSpec(ctr, resolveUser(mountpoint, config.user), options.consoleSize);
    await removeExitFile(ctx.paths.exitsDir, ctr.id);
    // runc's first write into the container's cgroup would wait for the kernel (see the module)
    void warmCgroupMigration();
    const started = await monitor.start({
      id: ctr.id,
      name: config.name,
      bundle: ctr.bundlePath,
      runDir: ctr.runDir,
      logPath: ctx.paths.logPath(ctr.id),
      exitDir: ctx.paths.exitsDir,
      pidFile: join(ctr.runDir, "pidfile"),
      exitCommand: ctx.oci.cleanupCommand(ctr.id),
      runcRoot: ctx.paths.runcRoot,
      terminal: config.terminal === true,
      stdin: config.stdin === true,
    });
    state.pid = started.containerPid;
    state.monitorPid = started.monitorPid;
    state.monitor = monitor.name;
    crashPoint("start:created");
    try {
      await options.onCreated?.();
      if (networkReady && await networkReady) await writeRundirFiles(ctr);
      await ctx.oci.runc.start(ctr.id);
      crashPoint("start:started");
    } catch (err) {
      await ctx.oci.runc.delete(ctr.id, { force: true }).catch(() => {});
      throw err;
    }
  } catch (err) {
    await networkReady?.catch(() => {});
    await teardownIfBridged(ctr);
    ctx.db.transaction(() => {
      failStart(ctr, err);
      intents.clear(intent);
    });
    throw err;
  }
  state.status = "running";
  state.startedAt = new Date().toISOString();
  state.finishedAt = "";
  state.exitCode = 0;
  state.stopRequested = false;
  state.stoppedByUser = false;
  journaled(ctx.db, ctr, ["init", "start"], () => {
    ctr.save();
    intents.clear(intent);
  });
  log.debug("started container {id} (pid {pid}, {monitor})", {
    id: ctr.id,
    pid: state.pid,
    monitor: monitor.name,
  });
  return logOffset;
}

/** Records a start that failed (its network was torn down by the caller). */
function failStart(ctr: Container, err: unknown): void {
  const { state } = ctr;
  state.pid = 0;
  state.monitorPid = 0;
  if (err instanceof DenopodError && (err.exitCode === 126 || err.exitCode === 127)) {
    state.status = "exited";
    state.exitCode = err.exitCode;
    state.finishedAt = new Date().toISOString();
    ctr.ctx.containers.recordExitCode(ctr.id, ctr.name, err.exitCode, state.finishedAt);
  }
  ctr.cleanupStorage();
  ctr.save();
}

function logSize(ctr: Container): number {
  try {
    return Deno.statSync(ctr.ctx.paths.logPath(ctr.id)).size;
  } catch {
    return 0;
  }
}
