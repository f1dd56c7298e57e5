/**
 * Starting a container from the command line: detached, or attached with its output streamed
 * live until it exits, then finished by this process (exit code, storage, runc state; removal
 * with `--rm`) instead of by the monitor's exit command. Loaded only by `run`, `start`,
 * `restart`, `attach` and `logs`.
 *
 * A container with a terminal or an open stdin (`-t`, `-i`), and `attach`, go through the
 * monitor's attach socket (`lib/oci/attach.ts`): the client connects once the container is
 * created and before it starts, so no output is missed; its terminal goes raw (with `-i` and a
 * terminal), the size goes into the spec and follows SIGWINCH, the detach keys end the client
 * and leave the container running. A plain attached `run` follows the log. Either way, without a
 * terminal, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are passed on to the container
 * (`--sig-proxy`) and the client exits with the container's code.
 * @module
 */
import type { Container } from "../container/container.ts";
import { startContainer } from "../container/lifecycle/start.ts";
import { followLog } from "../container/logs.ts";
import { type ChangeWatch, watchForChanges } from "../util/change_watch.ts";
import { readExitRecord } from "../oci/exitfile.ts";
import { ContainerStateError, DenopodError } from "../errors.ts";
import { isActive } from "../container/status.ts";
import { attachedMarkerPath, type Runtime } from "../runtime.ts";
import type { AttachConnection, AttachEnd } from "../oci/attach.ts";
import { parseDetachKeys } from "../util/detach_keys.ts";
import { syncContainer } from "../container/lifecycle/sync.ts";
import { isProcessAlive } from "../sys/process.ts";
import { CallerSession, callerTerminalSize } from "./terminal.ts";

/** The attach socket's code: loaded only by the clients that use it (`-t`, `-i`, `attach`). */
type SocketAttach = typeof import("../oci/attach.ts");

/** What finishes a container once it ran: its exit code, cleanup and removal. */
interface Finishing {
  waitForContainer: typeof import("../container/lifecycle/wait.ts").waitForContainer;
  cleanupContainer: typeof import("../container/lifecycle/cleanup.ts").cleanupContainer;
  removeContainer: typeof import("../container/remove.ts").removeContainer;
}

let finishing: Promise<Finishing> | undefined;

/**
 * The code that finishes a container, loaded once: an attached client asks for it once the
 * container is created, so that it compiles while runc starts it and it runs (the client only
 * waits then), not after it ended.
 */
function finishingCode(): Promise<Finishing> {
  if (!finishing) {
    finishing = Promise.all([
      import("../container/lifecycle/wait.ts"),
      import("../container/lifecycle/cleanup.ts"),
      import("../container/remove.ts"),
    ]).then(([wait, cleanup, remove]) => ({
      waitForContainer: wait.waitForContainer,
      cleanupContainer: cleanup.cleanupContainer,
      removeContainer: remove.removeContainer,
    }));
    finishing.catch(() => {}); // a failed load is thrown where the code is used
  }
  return finishing;
}

/** How an attached client behaves (`-i`, `--detach-keys`, `--sig-proxy`). */
export interface AttachFlags {
  /** Forward this process's stdin to the container (`-i`); never read it otherwise. */
  interactive: boolean;
  /** The detach keys, podman's spec (`ctrl-p,ctrl-q`; empty: none). */
  detachKeys: string;
  /** Pass signals on to the container when it has no terminal. */
  sigProxy: boolean;
}

/** The flags of a client that asked for nothing special: no stdin, default keys, proxy on. */
export const DEFAULT_ATTACH_FLAGS: AttachFlags = {
  interactive: false,
  detachKeys: "ctrl-p,ctrl-q",
  sigProxy: true,
};

/** What an attached start or attach ended with: the exit code, or "detached". */
export type AttachOutcome = number | "detached";

/**
 * True while the container's process has not ended: exit file absent, row present, and its
 * monitor alive (a monitor that died without an exit file ends the wait too; the sync then
 * records -1, never a client waiting for ever).
 */
export async function stillRunning(runtime: Runtime, ctr: Container): Promise<boolean> {
  if (await readExitRecord(runtime.paths.exitsDir, ctr.id)) return false;
  const record = runtime.containers.get(ctr.id);
  if (!record) return false;
  const { monitorPid } = record.state;
  if (monitorPid > 0 && !isProcessAlive(monitorPid)) return false;
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
  flags: AttachFlags = DEFAULT_ATTACH_FLAGS,
): Promise<number | undefined | "detached"> {
  if (attach && (ctr.config.terminal || ctr.config.stdin || flags.interactive)) {
    return await startOnSocket(runtime, ctr, autoRemove, flags);
  }
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
  // watching from before the start: the log's growth and the exit file wake the follower
  const watch = await watchExitAndLog(runtime, ctr);
  // listening from before the start: a signal that comes while it starts is passed on after
  const caller = callerSessionFor(runtime, ctr, flags);
  try {
    let offset: number;
    try {
      await markAttached(runtime, ctr, true);
      // the finishing code compiles while runc starts the created container and it runs
      offset = await ctr.withLock(() =>
        startContainer(ctr, { onCreated: () => void finishingCode() })
      );
    } catch (err) {
      if (autoRemove) await removeQuietly(ctr);
      else await markAttached(runtime, ctr, false);
      throw err;
    }
    caller.started();
    const sinks = { stdout: Deno.stdout, stderr: Deno.stderr };
    const following = { follow: true, timestamps: false, offset };
    await followLog(log, following, sinks, () => stillRunning(runtime, ctr), watch);
    // closed before the cleanup: the kernel frees an inotify watch's marks after an RCU grace
    // period (~10 ms here), which then passes beside the cleanup; at exit the process waited for it
    watch?.close();
    const code = await exitCodeOf(runtime, ctr);
    await (await finishingCode()).cleanupContainer(runtime, ctr.id);
    await markAttached(runtime, ctr, false);
    return code;
  } finally {
    watch?.close();
    caller.session.end();
    log.close();
  }
}

/**
 * A watch of the container's log and of the exit file's directory, for an attached follower; none
 * when it cannot be had (e.g. the host's inotify limits reached: the follower then polls).
 */
async function watchExitAndLog(runtime: Runtime, ctr: Container): Promise<ChangeWatch | undefined> {
  try {
    await Deno.mkdir(runtime.paths.exitsDir, { recursive: true, mode: 0o700 });
    return watchForChanges([runtime.paths.exitsDir, runtime.paths.logPath(ctr.id)]);
  } catch {
    return undefined;
  }
}

/**
 * The caller's terminal and signals for an attached client of `ctr`: raw with a terminal and
 * `-i`, resizes followed, and (without a terminal, `--sig-proxy`) signals passed on to the
 * container — held until `started()` says it runs.
 */
function callerSessionFor(
  runtime: Runtime,
  ctr: Container,
  flags: AttachFlags,
  socket?: SocketAttach,
): { session: CallerSession; started: () => void } {
  const terminal = ctr.config.terminal === true;
  let running = false;
  const pending: number[] = [];
  const session = CallerSession.begin({
    raw: terminal && flags.interactive,
    onResize: terminal && socket ? (size) => socket.requestResize(ctr.bundlePath, size) : undefined,
    // podman's --sig-proxy is for containers without a terminal; with one, keys are bytes on it
    onSignal: flags.sigProxy && !terminal
      ? (_name, number) => {
        if (running) proxySignal(runtime, ctr, number);
        else pending.push(number);
      }
      : undefined,
  });
  return {
    session,
    started: () => {
      running = true;
      for (const number of pending.splice(0)) proxySignal(runtime, ctr, number);
    },
  };
}

/** Passes a signal on to the container's init; a container already gone is no error. */
function proxySignal(runtime: Runtime, ctr: Container, signal: number): void {
  runtime.oci.runc.kill(ctr.id, signal).catch(() => {});
}

/** Starts `ctr` with this client on its attach socket; finishes it unless detached. */
async function startOnSocket(
  runtime: Runtime,
  ctr: Container,
  autoRemove: boolean,
  flags: AttachFlags,
): Promise<number | "detached"> {
  const detachKeys = parseDetachKeys(flags.detachKeys);
  const socket = await import("../oci/attach.ts");
  let conn: AttachConnection | null = null;
  const caller = callerSessionFor(runtime, ctr, flags, socket);
  let end: AttachEnd;
  try {
    try {
      await markAttached(runtime, ctr, true);
      await ctr.withLock(() =>
        startContainer(ctr, {
          consoleSize: ctr.config.terminal ? callerTerminalSize() : undefined,
          onCreated: () => {
            conn = socket.AttachConnection.open(socket.attachSocketPath(ctr.runDir, ctr.id));
            finishingCode();
          },
        })
      );
    } catch (err) {
      (conn as AttachConnection | null)?.close();
      if (autoRemove) await removeQuietly(ctr);
      else await markAttached(runtime, ctr, false);
      throw err;
    }
    caller.started();
    end = await relay(socket, ctr, conn!, flags, detachKeys);
  } finally {
    caller.session.end();
  }
  if (end === "detached") {
    await markAttached(runtime, ctr, false);
    return "detached";
  }
  const code = await exitCodeOf(runtime, ctr);
  await (await finishingCode()).cleanupContainer(runtime, ctr.id);
  await markAttached(runtime, ctr, false);
  return code;
}

/**
 * `attach CTR`: connects to a running container's attach socket, resizes its terminal to the
 * caller's, and relays until it exits (returns its exit code) or the detach keys.
 */
export async function attachToRunning(
  runtime: Runtime,
  ctr: Container,
  flags: AttachFlags,
): Promise<AttachOutcome> {
  const detachKeys = parseDetachKeys(flags.detachKeys);
  await ctr.withLock(() => syncContainer(ctr));
  if (ctr.state.status !== "running") {
    throw new ContainerStateError(
      `you can only attach to running containers: container state improper`,
    );
  }
  const socket = await import("../oci/attach.ts");
  const conn = socket.AttachConnection.open(socket.attachSocketPath(ctr.runDir, ctr.id));
  if (ctr.config.terminal) {
    const size = callerTerminalSize();
    if (size !== undefined) socket.requestResize(ctr.bundlePath, size);
  }
  const caller = callerSessionFor(runtime, ctr, flags, socket);
  caller.started();
  let end: AttachEnd;
  try {
    end = await relay(socket, ctr, conn, flags, detachKeys);
  } finally {
    caller.session.end();
  }
  if (end === "detached") return "detached";
  return await exitCodeOf(runtime, ctr);
}

/** One session on the attach socket (the caller's session is set up around it). */
function relay(
  socket: SocketAttach,
  ctr: Container,
  conn: AttachConnection,
  flags: AttachFlags,
  detachKeys: Uint8Array,
): Promise<AttachEnd> {
  return socket.runAttachSession(conn, {
    input: flags.interactive,
    detachKeys,
    eofByte: ctr.config.terminal ? 0x04 : undefined,
  });
}

async function exitCodeOf(runtime: Runtime, ctr: Container): Promise<number> {
  const record = await readExitRecord(runtime.paths.exitsDir, ctr.id);
  if (record) return record.exitCode;
  return await (await finishingCode()).waitForContainer(runtime, ctr.id);
}

async function removeQuietly(ctr: Container): Promise<void> {
  try {
    await (await finishingCode()).removeContainer(ctr, { force: true });
  } catch (err) {
    if (!(err instanceof DenopodError)) throw err;
  }
}
