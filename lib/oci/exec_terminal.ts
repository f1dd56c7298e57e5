/**
 * `runc exec` with a terminal, held by the caller itself (an attached `exec -t` needs no
 * monitor): the process is described by a `process.json` made from the container's own spec
 * (its capabilities, rlimits and the rest) with the exec's arguments, environment, working
 * directory and user, `terminal: true` and the caller's size (`consoleSize`, so the size is right
 * before the process runs); runc sends the pty master to a console socket of ours
 * (`SCM_RIGHTS`), and waits for the process, exiting with its code.
 *
 * @example
 * ```ts
 * const session = await startTerminalExec(runc, id, bundle, { args: ["sh"], env, cwd: "/", user });
 * // relay session.master ...; then
 * const code = await session.wait(); // the process's exit code
 * ```
 * @module
 */
import { join } from "node:path";
import { RuntimeError } from "../errors.ts";
import {
  acceptSocket,
  closeFd,
  listenUnix,
  pollFds,
  POLLIN,
  receiveFd,
  type WindowSize,
} from "../sys/socket.ts";
import type { Runc } from "./runc.ts";
import { runcErrorMessage, runtimeErrorFor } from "./runc_errors.ts";

/** The process to run in the container. */
export interface TerminalExecProcess {
  args: string[];
  /** The full environment, `KEY=value`. */
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  /** The terminal's size before the process starts. */
  size?: WindowSize;
}

/** A running exec with its terminal. */
export interface TerminalExec {
  /** The pty master: the process's input and output. */
  master: number;
  /** Waits for the process; resolves with its exit code, or throws runc's error. */
  wait(): Promise<number>;
  /** Sends a signal to runc, which passes it on to the process. */
  kill(signal: Deno.Signal): void;
}

/**
 * Starts `process` in container `id` (bundle `bundle`) with a terminal; resolves once the master
 * arrived. Throws {@linkcode RuntimeError} (or the mapped 126/127 errors) when runc fails first.
 */
export async function startTerminalExec(
  runc: Runc,
  id: string,
  bundle: string,
  process: TerminalExecProcess,
): Promise<TerminalExec> {
  const spec = JSON.parse(await Deno.readTextFile(join(bundle, "config.json")));
  const base = spec.process ?? {};
  const processSpec = {
    ...base,
    terminal: true,
    args: process.args,
    env: process.env,
    cwd: process.cwd,
    user: {
      uid: process.user.uid,
      gid: process.user.gid,
      ...(process.user.additionalGids ? { additionalGids: process.user.additionalGids } : {}),
    },
    consoleSize: process.size && process.size.rows > 0
      ? { height: process.size.rows, width: process.size.cols }
      : undefined,
  };
  const dir = await Deno.makeTempDir({ prefix: "denopod-exec-" });
  const processFile = join(dir, "process.json");
  const logFile = join(dir, "runc.log");
  const socketPath = join(dir, "console.sock");
  await Deno.writeTextFile(processFile, JSON.stringify(processSpec), { mode: 0o600 });
  const listenFd = listenUnix("stream", socketPath);
  let child: Deno.ChildProcess | null = null;
  let conn: number | null = null;
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const failure = async (code: number): Promise<Error> => {
    const log = await Deno.readTextFile(logFile).catch(() => "");
    return runtimeErrorFor("exec", runcErrorMessage(log) ?? `exit status ${code}`);
  };
  try {
    child = runc.spawnExec(
      ["--process", processFile, "--console-socket", socketPath, id],
      logFile,
    );
    let exited: Deno.CommandStatus | null = null;
    child.status.then((s) => exited = s);
    for (;;) {
      if (conn === null) conn = acceptSocket(listenFd);
      if (conn !== null) {
        const got = receiveFd(conn);
        if (got !== null && got.fds.length > 0) {
          for (const extra of got.fds.slice(1)) closeFd(extra);
          const master = got.fds[0];
          const running = child;
          return {
            master,
            wait: async () => {
              const status = await running.status;
              const log = await Deno.readTextFile(logFile).catch(() => "");
              await cleanup();
              if (status.code !== 0 && /"level":"(error|fatal|panic)"/.test(log)) {
                throw runtimeErrorFor(
                  "exec",
                  runcErrorMessage(log) ?? `exit status ${status.code}`,
                );
              }
              return status.signal !== null ? 128 + signalNumber(status.signal) : status.code;
            },
            kill: (signal) => {
              try {
                running.kill(signal);
              } catch {
                // runc is gone already
              }
            },
          };
        }
      }
      if (exited !== null) {
        const code = (exited as Deno.CommandStatus).code;
        throw await failure(code);
      }
      await pollFds([{ fd: conn ?? listenFd, events: POLLIN }], 100);
    }
  } catch (err) {
    if (child !== null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
    await cleanup();
    if (err instanceof Error && !(err instanceof RuntimeError) && err.name === "Error") {
      throw new RuntimeError(`runc exec: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    closeFd(listenFd);
    if (conn !== null) closeFd(conn);
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

function signalNumber(signal: Deno.Signal): number {
  return SIGNALS[signal] ?? 0;
}
