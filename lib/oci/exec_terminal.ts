/**
 * `runc exec` with a terminal, held by the caller itself (an attached `exec -t` needs no
 * monitor): the process is a whole `process.json` (the container's own, with the exec's
 * command, environment, directory and user: `container/lifecycle/exec.ts`), `terminal: true` and
 * the caller's size (`consoleSize`, so the size is right before the process runs); runc sends
 * the pty master to a console socket of ours
 * (`SCM_RIGHTS`). runc takes a console socket only when it detaches (`--detach`), so, like
 * conmon, this process becomes a child subreaper and waits for the exec'd process itself once
 * runc has exited and left it to us.
 *
 * @example
 * ```ts
 * const session = await startTerminalExec(runc, id, { ...process, args: ["sh"] });
 * // relay session.master ...; then
 * const code = await session.wait(); // the process's exit code
 * ```
 * @module
 */
import { join } from "node:path";
import { RuntimeError } from "../errors.ts";
import { acceptSocket, closeFd, listenUnix, pollFds, POLLIN, receiveFd } from "../sys/socket.ts";
import { libc, PR_SET_CHILD_SUBREAPER } from "../sys/libc.ts";
import { decodeWaitStatus, isProcessAlive, waitPid } from "../sys/process.ts";
import type { Runc } from "./runc.ts";
import { runcErrorMessage, runtimeErrorFor } from "./runc_errors.ts";

/** A running exec with its terminal. */
export interface TerminalExec {
  /** The pty master: the process's input and output. */
  master: number;
  /** Waits for the process; resolves with its exit code, or throws runc's error. */
  wait(): Promise<number>;
  /** Sends a signal to the process. */
  kill(signal: Deno.Signal): void;
}

/**
 * Starts `process` (a whole OCI process object with `terminal: true`, and `consoleSize` for the
 * size before it runs) in container `id`; resolves once the master arrived and runc has handed
 * the process over. Throws the mapped runc error (126/127 included) when runc fails first.
 */
export async function startTerminalExec(
  runc: Runc,
  id: string,
  process: Record<string, unknown>,
): Promise<TerminalExec> {
  const processSpec = { ...process, terminal: true };
  const dir = await Deno.makeTempDir({ prefix: "denopod-exec-" });
  const processFile = join(dir, "process.json");
  const logFile = join(dir, "runc.log");
  const pidFile = join(dir, "pid");
  const socketPath = join(dir, "console.sock");
  await Deno.writeTextFile(processFile, JSON.stringify(processSpec), { mode: 0o600 });
  const listenFd = listenUnix("stream", socketPath);
  let conn: number | null = null;
  let master = -1;
  try {
    // runc hands a terminal to a console socket only when it detaches: the process then becomes
    // our child (we are its subreaper) once runc exits, and we wait for it as conmon does
    libc().prctl(PR_SET_CHILD_SUBREAPER, 1);
    const child = runc.spawnExec(
      [
        "--detach",
        "--tty",
        "--pid-file",
        pidFile,
        "--process",
        processFile,
        "--console-socket",
        socketPath,
        id,
      ],
      logFile,
    );
    let exited: Deno.CommandStatus | null = null;
    const status = child.status.then((s) => exited = s);
    while (master < 0) {
      if (conn === null) conn = acceptSocket(listenFd);
      if (conn !== null) {
        const got = receiveFd(conn);
        if (got !== null && got.fds.length > 0) {
          for (const extra of got.fds.slice(1)) closeFd(extra);
          master = got.fds[0];
          break;
        }
      }
      if (exited !== null) break;
      await pollFds([{ fd: conn ?? listenFd, events: POLLIN }], 100);
    }
    const done = await status;
    if (done.code !== 0) {
      const log = await Deno.readTextFile(logFile).catch(() => "");
      throw runtimeErrorFor("exec", runcErrorMessage(log) ?? `exit status ${done.code}`);
    }
    if (master < 0) throw new RuntimeError("runc exec: no terminal arrived on the console socket");
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    if (!(pid > 0)) throw new RuntimeError("runc exec: no pid for the process");
    const theMaster = master;
    master = -1;
    return {
      master: theMaster,
      wait: () => waitForProcess(pid),
      kill: (signal) => {
        try {
          Deno.kill(pid, signal);
        } catch {
          // gone already
        }
      },
    };
  } finally {
    closeFd(listenFd);
    if (conn !== null) closeFd(conn);
    closeFd(master);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Waits for `pid`, an orphan this process reaps as its subreaper; resolves with its exit code
 * (128 + signal when killed; -1 when it vanished unreaped).
 */
function waitForProcess(pid: number): Promise<number> {
  return new Promise((resolve) => {
    const check = () => {
      let result: ReturnType<typeof waitPid> = null;
      try {
        result = waitPid(pid, { noHang: true });
      } catch {
        // not (yet) our child: runc may still be handing it over
        if (!isProcessAlive(pid)) return finish(-1);
      }
      if (result !== null) finish(decodeWaitStatus(result.status).exitCode);
    };
    const timer = setInterval(check, 20);
    const finish = (code: number) => {
      clearInterval(timer);
      resolve(code);
    };
    check();
  });
}
