/**
 * `exec`: runs a command in a running container. Without `-t`, runc's stdio is the caller's
 * stdout and stderr, and stdin only with `-i` (otherwise /dev/null: a `while read` loop around
 * `exec` keeps its lines); SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to the
 * client are passed on to the process (held until it runs). With `-t`, a monitor holds the
 * process's terminal (`lib/oci/exec_session.ts`: conmon's exec mode, or the built-in monitor's),
 * so the process lives on when the client detaches (the detach keys) or dies: the client
 * relays the monitor's attach socket, its terminal raw with `-i`, the size set before the
 * process starts and followed on SIGWINCH (the session's `ctl` fifo), end of input sent as the
 * terminal's EOF character. `-d` starts it and returns at once. The exit status is the
 * process's (0 after a detach).
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Container } from "../container/container.ts";
import type { ContainerExecSession } from "../container/lifecycle/exec.ts";
import { parseDetachKeys } from "../util/detach_keys.ts";
import { AttachConnection, requestResize, runAttachSession } from "../oci/attach.ts";
import { CallerSession, callerTerminalSize } from "./terminal.ts";

/** The flags of `exec`. */
export interface ExecFlags {
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  detachKeys: string;
}

/** Runs `command` in the container `name`; returns the exit status to leave. */
export async function execInContainerCli(
  runtime: Runtime,
  name: string,
  command: string[],
  flags: ExecFlags,
  onExec: (ctr: Container) => void = () => {},
): Promise<number> {
  const detachKeys = parseDetachKeys(flags.detachKeys);
  const { execInContainer, startExecSession } = await import(
    "../container/lifecycle/exec.ts"
  );
  const ctr = runtime.lookupContainer(name);
  onExec(ctr);
  const options = {
    command,
    env: flags.env,
    workdir: flags.workdir,
    user: flags.user,
    stdin: flags.interactive,
    detach: flags.detach,
  };
  if (flags.tty) {
    const session = await startExecSession(ctr, options, callerTerminalSize());
    if (flags.detach) {
      try {
        await session.start();
      } catch (err) {
        await session.remove();
        throw err;
      }
      session.release();
      return 0;
    }
    return await relayExecSession(session, flags.interactive, detachKeys);
  }
  if (flags.detach) {
    await execInContainer(ctr, options, "inherit");
    return 0;
  }
  // signals to this client go to the process once it runs
  let pid = 0;
  const pending: Deno.Signal[] = [];
  const pass = (signal: Deno.Signal) => {
    try {
      Deno.kill(pid, signal);
    } catch {
      // the process is gone: runc returns its code
    }
  };
  const caller = CallerSession.begin({
    raw: false,
    onSignal: (signal) => pid > 0 ? pass(signal) : pending.push(signal),
  });
  try {
    const result = await execInContainer(ctr, {
      ...options,
      onStarted: (started) => {
        pid = started;
        for (const signal of pending.splice(0)) pass(signal);
      },
    }, "inherit");
    return result.exitCode;
  } finally {
    caller.end();
  }
}

/**
 * Connects to an exec session's monitor, lets the process run, and relays its terminal: output
 * to stdout, the caller's input (with -i, through the detach keys; its end as the EOF
 * character) to it; the caller's terminal raw meanwhile. Returns the process's exit code, or 0
 * after the detach keys (the process runs on).
 */
async function relayExecSession(
  session: ContainerExecSession,
  interactive: boolean,
  detachKeys: Uint8Array,
): Promise<number> {
  let conn: AttachConnection | null = null;
  try {
    conn = AttachConnection.open(session.attachPath);
    await session.start();
  } catch (err) {
    conn?.close();
    session.release();
    await session.remove();
    throw err;
  }
  const caller = CallerSession.begin({
    raw: interactive,
    onResize: (size) => requestResize(session.bundle, size),
  });
  let end;
  try {
    end = await runAttachSession(conn, {
      input: interactive,
      detachKeys,
      eofByte: 0x04,
    });
  } finally {
    caller.end();
  }
  if (end === "detached") {
    session.release();
    return 0;
  }
  const code = await session.exitCode();
  await session.remove();
  return code;
}
