/**
 * The conmon monitor (conmon 2.x, as podman 4 drives it). conmon forks once to daemonise
 * (setsid, stdio on /dev/null), runs `runc create` itself, reports the container pid (or runc's
 * error) on its sync pipe, then keeps the k8s-file log, waits for the container as its child
 * subreaper, writes `<exitDir>/<id>` and runs the exit command. Measured here: it runs the exit
 * command even when `runc create` fails (and then writes no exit file).
 *
 * The sync pipe is an inherited fd named by `_OCI_SYNCPIPE`, and it must not be 0–2 (conmon
 * points those at /dev/null first). `Deno.Command` passes no extra fds, so conmon is started
 * through `/bin/sh -c 'exec "$0" "$@" 3>&1'`: fd 3 is our stdout pipe, and conmon writes
 * `{"data": PID}` (or `{"data": -1, "message": "runc's stderr"}`) there. conmon keeps the pipe
 * open while the container runs, so only the first line is read.
 *
 * An exec session with a terminal (`startExec`, conmon's `--exec --exec-attach`, as podman's
 * `startExec`) also takes a start pipe (fd 4) and an attach pipe (fd 5): pipes made here, which
 * the shell opens by their `/proc/<our pid>/fd/N` names; its sync pipe then says the pid, and
 * later the exit code.
 *
 * Files conmon leaves: `<runDir>/monitor.pid` (its pid, from `-P`), `<runDir>/oci-log` (runc's
 * JSON log), `<runDir>/<id>` (a symlink to the bundle; the attach socket is `<runDir>/<id>/attach`
 * while conmon runs), and the FIFOs `ctl` and `winsz` in the bundle directory.
 *
 * @example
 * ```ts
 * const { containerPid, monitorPid } = await new ConmonMonitor({ binary: "/usr/bin/conmon" })
 *   .start(request);
 * ```
 * @module
 */
import { resolve } from "../util/path.ts";
import { RuntimeError } from "../errors.ts";
import { lookPath } from "../sys/process.ts";
import type { Monitor, MonitorStartRequest, MonitorStartResult } from "./monitor.ts";
import {
  MONITOR_PID_FILE,
  OCI_LOG_FILE,
  prepareMonitorDirs,
  resolveExitCommand,
} from "./monitor_request.ts";
import { runcErrorMessage, runtimeErrorFor } from "./runc_errors.ts";
import { LineReader, readAllText, readFirstLine } from "./stream_lines.ts";
import { type ExecSession, execSessionPaths, type ExecSessionRequest } from "./exec_session.ts";
import { readExitRecord } from "./exitfile.ts";
import { closeFd, makePipe, pollFds, POLLIN, readFd, writeFd } from "../sys/socket.ts";

/** Options for {@linkcode ConmonMonitor}. */
export interface ConmonMonitorOptions {
  /** The conmon binary; looked up on PATH when absent. */
  binary?: string;
  /** conmon's `--log-level` (its own messages, which go to syslog or nowhere); `error`. */
  logLevel?: "debug" | "info" | "warning" | "error";
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Builds conmon's command line for a request. `runc` and the exit command's program must be
 * absolute paths (conmon execs them without a PATH search).
 */
export function conmonArgs(
  request: MonitorStartRequest,
  runc: string,
  exitCommand: string[],
  logLevel = "error",
): string[] {
  const args = [
    "--api-version",
    "1",
    "-c",
    request.id,
    "-u",
    request.id,
    "-n",
    request.name ?? request.id,
    "-r",
    runc,
    "-b",
    request.bundle,
    "-p",
    request.pidFile,
    "-P",
    resolve(request.runDir, MONITOR_PID_FILE),
    "--exit-dir",
    request.exitDir,
    "-l",
    `k8s-file:${request.logPath}`,
    "--log-level",
    logLevel,
    "--socket-dir-path",
    request.runDir,
    "--runtime-arg",
    `--root=${request.runcRoot}`,
    "--runtime-arg",
    "--log-format=json",
    "--runtime-arg",
    `--log=${resolve(request.runDir, OCI_LOG_FILE)}`,
  ];
  // podman's choice: -t alone with a terminal (stdin then stays open across attach clients),
  // else -i when stdin is kept open (closed when the attached client ends its input)
  if (request.terminal) args.push("-t");
  else if (request.stdin) args.push("-i");
  if (exitCommand.length > 0) {
    args.push("--exit-command", exitCommand[0]);
    for (const arg of exitCommand.slice(1)) args.push("--exit-command-arg", arg);
  }
  return args;
}

/** Starts containers under conmon; see the module documentation. */
export class ConmonMonitor implements Monitor {
  /** Always `conmon`. */
  readonly name = "conmon" as const;
  readonly #binary?: string;
  readonly #logLevel: string;

  /** Creates the monitor; nothing runs until `start`. */
  constructor(options: ConmonMonitorOptions = {}) {
    this.#binary = options.binary;
    this.#logLevel = options.logLevel ?? "error";
  }

  /** Runs conmon, which creates the container; resolves with the container and conmon pids. */
  async start(request: MonitorStartRequest): Promise<MonitorStartResult> {
    const pathList = Deno.env.get("PATH") ?? DEFAULT_PATH;
    const { conmon, runc } = this.#binaries(pathList, request.runcBinary, "create");
    const exitCommand = resolveExitCommand(request.exitCommand, pathList);
    await prepareMonitorDirs(request);

    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/bin/sh", {
        args: [
          "-c",
          'exec "$0" "$@" 3>&1',
          conmon,
          ...conmonArgs(request, runc, exitCommand, this.#logLevel),
        ],
        env: { _OCI_SYNCPIPE: "3" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true,
      }).spawn();
    } catch (err) {
      throw new RuntimeError(`conmon: cannot start ${conmon}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // conmon's first process exits at once (closing stderr); its daemon holds fd 3 open.
    const [line, stderr, status] = await Promise.all([
      readFirstLine(child.stdout),
      readAllText(child.stderr),
      child.status,
    ]);
    if (line === null) {
      const detail = stderr.trim().split("\n").pop() || `exit status ${status.code}`;
      throw new RuntimeError(`conmon: ${detail}`);
    }
    const pid = parseSyncLine(line);
    const monitorPid = Number(
      (await Deno.readTextFile(resolve(request.runDir, MONITOR_PID_FILE))).trim(),
    );
    return { containerPid: pid, monitorPid };
  }

  /** Runs conmon in exec mode for the session; resolves once its attach socket listens. */
  async startExec(request: ExecSessionRequest): Promise<ExecSession> {
    const pathList = Deno.env.get("PATH") ?? DEFAULT_PATH;
    const { conmon, runc } = this.#binaries(pathList, request.runcBinary, "exec");
    return await startConmonExec(conmon, runc, request, this.#logLevel);
  }

  /** conmon's and runc's paths, or the error naming which one is missing. */
  #binaries(pathList: string, runcBinary: string | undefined, verb: string) {
    const conmon = this.#binary ?? lookPath("conmon", pathList);
    if (conmon === null) throw new RuntimeError("conmon: not found on PATH");
    const runcName = runcBinary ?? "runc";
    const runc = lookPath(runcName, pathList);
    if (runc === null) throw new RuntimeError(`runc ${verb}: runc binary "${runcName}" not found`);
    return { conmon, runc: resolve(runc) };
  }
}

/**
 * conmon's command line for an exec session (podman's `startExec`): exec mode, attached (it
 * waits for the start message before running `runc exec`), no log, the attach socket in the
 * session's directory.
 */
export function conmonExecArgs(
  request: ExecSessionRequest,
  runc: string,
  logLevel = "error",
): string[] {
  const paths = execSessionPaths(request.dir);
  const args = [
    "--api-version",
    "1",
    "-c",
    request.id,
    "-u",
    request.sessionId,
    "-r",
    runc,
    "-b",
    request.dir,
    "-p",
    paths.pidFile,
    "-n",
    request.name ?? request.id,
    "--exit-dir",
    paths.exitDir,
    "--full-attach",
    "-l",
    "none",
    "--log-level",
    logLevel,
    "--runtime-arg",
    `--root=${request.runcRoot}`,
    "--runtime-arg",
    "--log-format=json",
    "--runtime-arg",
    `--log=${paths.ociLog}`,
  ];
  if (request.terminal) args.push("-t");
  if (request.stdin) args.push("-i");
  args.push("-e", "--exec-attach", "--exec-process-spec", paths.processFile);
  return args;
}

/** Reads one sync message (a JSON line) from a non-blocking pipe; null at end of file. */
async function readPipeLine(fd: number): Promise<string | null> {
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const bytes = readFd(fd, 4096);
    if (bytes !== null && bytes.length === 0) return text === "" ? null : text;
    if (bytes !== null) {
      text += decoder.decode(bytes, { stream: true });
      const newline = text.indexOf("\n");
      if (newline !== -1) return text.slice(0, newline);
      continue;
    }
    await pollFds([{ fd, events: POLLIN }], 1000);
  }
}

/** The sync message's number (`{"data": N}`), or throws runc's error for a failed exec. */
function parseExecSync(line: string | null, ociLog: string): number {
  if (line === null) throw new RuntimeError("conmon exited before reporting the exec session");
  const message = readSyncMessage(line);
  if (typeof message.data === "number" && message.data > 0) return message.data;
  let log = "";
  try {
    log = Deno.readTextFileSync(ociLog);
  } catch {
    // no log: conmon's message says it
  }
  const text = typeof message.message === "string" ? message.message : "";
  throw runtimeErrorFor(
    "exec",
    runcErrorMessage(log) ?? runcErrorMessage(text) ?? `conmon reported ${line}`,
  );
}

/**
 * Runs conmon in exec mode for `request` (its process file written); resolves once the attach
 * socket exists. See `exec_session.ts` for the handshake.
 */
async function startConmonExec(
  conmon: string,
  runc: string,
  request: ExecSessionRequest,
  logLevel: string,
): Promise<ExecSession> {
  const paths = execSessionPaths(request.dir);
  await Deno.mkdir(paths.exitDir, { recursive: true, mode: 0o700 });
  const [startRead, startWrite] = makePipe();
  const [attachRead, attachWrite] = makePipe();
  const proc = (fd: number) => `/proc/${Deno.pid}/fd/${fd}`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        'exec "$0" "$@" 3>&1 4<"$_DENOPOD_START" 5>"$_DENOPOD_ATTACH"',
        conmon,
        ...conmonExecArgs(request, runc, logLevel),
      ],
      env: {
        _OCI_SYNCPIPE: "3",
        _OCI_STARTPIPE: "4",
        _OCI_ATTACHPIPE: "5",
        _DENOPOD_START: proc(startRead),
        _DENOPOD_ATTACH: proc(attachWrite),
      },
      cwd: request.dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (err) {
    for (const fd of [startRead, startWrite, attachRead, attachWrite]) closeFd(fd);
    throw new RuntimeError(`conmon: cannot start ${conmon}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const sync = new LineReader(child.stdout);
  const startMessage = () => writeFd(startWrite, new Uint8Array([0]));
  try {
    // the first start message lets conmon go on (podman moves it into a cgroup first)
    startMessage();
    const [stderr, status] = await Promise.all([readAllText(child.stderr), child.status]);
    closeFd(startRead);
    closeFd(attachWrite);
    if (!status.success) {
      const detail = stderr.trim().split("\n").pop() || `exit status ${status.code}`;
      throw new RuntimeError(`conmon: ${detail}`);
    }
    // conmon's daemon: {"data": 0} once the attach socket listens
    const ready = await readPipeLine(attachRead);
    if (ready === null) parseExecSync(await sync.next(), paths.ociLog);
  } catch (err) {
    sync.cancel();
    closeFd(startWrite);
    closeFd(attachRead);
    throw err;
  }
  closeFd(attachRead);
  let started = false;
  return {
    attachPath: paths.attach,
    bundle: request.dir,
    async start() {
      started = true;
      try {
        startMessage();
      } finally {
        closeFd(startWrite);
      }
      return parseExecSync(await sync.next(), paths.ociLog);
    },
    async exitCode() {
      // after the pid, conmon sends the exit code once the exit file is written
      const line = await sync.next();
      sync.cancel();
      if (line !== null) {
        try {
          const data = JSON.parse(line)?.data;
          if (typeof data === "number") return data;
        } catch {
          // fall back on the exit file
        }
      }
      return (await readExitRecord(paths.exitDir, request.id))?.exitCode ?? -1;
    },
    release() {
      if (!started) closeFd(startWrite);
      sync.cancel();
    },
  };
}

/** One of conmon's sync messages (`{"data": N, "message": "..."}`), or throws naming the line. */
function readSyncMessage(line: string): { data?: unknown; message?: unknown } {
  try {
    return JSON.parse(line);
  } catch {
    throw new RuntimeError(`conmon: unexpected sync message: ${line}`);
  }
}

/** Reads conmon's sync message: the container pid, or throws runc's create error. */
function parseSyncLine(line: string): number {
  const message = readSyncMessage(line);
  if (typeof message.data === "number" && message.data > 0) return message.data;
  const text = typeof message.message === "string" ? message.message : "";
  throw runtimeErrorFor("create", runcErrorMessage(text) ?? `conmon reported ${line}`);
}
