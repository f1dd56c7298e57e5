/**
 * An exec session held by a monitor (podman's model): a process run with `runc exec` in a running
 * container, whose terminal (the pty master) a monitor process of its own holds, so the process
 * lives on when the client detaches (Ctrl-P Ctrl-Q) or dies. The monitor serves an attach socket
 * and a `ctl` fifo in the session's directory, as it does for a container, and writes the exit
 * file `<dir>/exit/<container id>` when the process ends.
 *
 * The handshake is conmon's exec mode (`conmon --exec --exec-attach`, as podman 4 drives it):
 * the monitor makes the attach socket and says so; the client connects; the client sends the
 * start message; only then does the monitor run `runc exec`, so no output is missed; it reports
 * the process's pid (or runc's error). conmon reads that start message on an inherited pipe
 * (`_OCI_STARTPIPE`) and announces the socket on another (`_OCI_ATTACHPIPE`); `Deno.Command`
 * passes no extra descriptors, so the pipes are made here (`pipe2`) and the shell that execs
 * conmon opens them by their `/proc/<our pid>/fd/N` names.
 *
 * @example
 * ```ts
 * const session = await monitor.startExec(request);   // the attach socket exists
 * const conn = AttachConnection.open(session.attachPath);
 * const pid = await session.start();                   // the process runs
 * // relay conn ...; when the monitor closes it:
 * const code = await session.exitCode();
 * ```
 * @module
 */
import { join } from "../util/path.ts";

/** Everything a monitor needs to run one exec session. */
export interface ExecSessionRequest {
  /** The container's ID (runc's ID for it). */
  id: string;
  /** The container's name (conmon's `-n`, logging only). */
  name?: string;
  /** The session's ID (conmon's `-u`). */
  sessionId: string;
  /**
   * The session's directory: its bundle for the monitor (`attach`, `ctl`), the process file,
   * the pid file, runc's log and the exit directory (see {@linkcode execSessionPaths}).
   */
  dir: string;
  /** runc's state directory (`runc --root`). */
  runcRoot: string;
  /** The runc binary (a path or a name on PATH); `runc` by default. */
  runcBinary?: string;
  /** The process has a terminal (the process file says `terminal: true`). */
  terminal: boolean;
  /** Keep the process's stdin open for the clients (`-i`). */
  stdin: boolean;
}

/** The files of an exec session, in its directory. */
export interface ExecSessionPaths {
  /** The whole OCI process (`runc exec --process`). */
  processFile: string;
  /** Where runc writes the process's pid. */
  pidFile: string;
  /** runc's JSON log. */
  ociLog: string;
  /** The directory of the exit file (named after the container's ID). */
  exitDir: string;
  /** The attach socket. */
  attach: string;
}

/** The paths of the session in `dir`. */
export function execSessionPaths(dir: string): ExecSessionPaths {
  return {
    processFile: join(dir, "process.json"),
    pidFile: join(dir, "pid"),
    ociLog: join(dir, "oci-log"),
    exitDir: join(dir, "exit"),
    attach: join(dir, "attach"),
  };
}

/** A session whose monitor is ready: the attach socket exists, the process not yet run. */
export interface ExecSession {
  /** The attach socket to connect to before {@linkcode ExecSession.start}. */
  readonly attachPath: string;
  /** The directory holding the `ctl` fifo (for `requestResize`). */
  readonly bundle: string;
  /**
   * Lets the monitor run the process; resolves with its pid, or throws runc's error
   * (CommandNotFoundError, CommandNotInvokableError, RuntimeError).
   */
  start(): Promise<number>;
  /** Waits for the process to end (call once the attach connection closed); its exit code. */
  exitCode(): Promise<number>;
  /** Lets go of the monitor (detach): it and the process run on without this client. */
  release(): void;
}
