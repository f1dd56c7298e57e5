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
import { readAllText, readFirstLine } from "./stream_lines.ts";

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
    const conmon = this.#binary ?? lookPath("conmon", pathList);
    if (conmon === null) throw new RuntimeError("conmon: not found on PATH");
    const runcName = request.runcBinary ?? "runc";
    const runc = lookPath(runcName, pathList);
    if (runc === null) throw new RuntimeError(`runc create: runc binary "${runcName}" not found`);
    const exitCommand = resolveExitCommand(request.exitCommand, pathList);
    await prepareMonitorDirs(request);

    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/bin/sh", {
        args: [
          "-c",
          'exec "$0" "$@" 3>&1',
          conmon,
          ...conmonArgs(request, resolve(runc), exitCommand, this.#logLevel),
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
}

/** Reads conmon's sync message: the container pid, or throws runc's create error. */
function parseSyncLine(line: string): number {
  let message: { data?: unknown; message?: unknown };
  try {
    message = JSON.parse(line);
  } catch {
    throw new RuntimeError(`conmon: unexpected sync message: ${line}`);
  }
  if (typeof message.data === "number" && message.data > 0) return message.data;
  const text = typeof message.message === "string" ? message.message : "";
  throw runtimeErrorFor("create", runcErrorMessage(text) ?? `conmon reported ${line}`);
}
