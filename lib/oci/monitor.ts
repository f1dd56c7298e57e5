/**
 * The container monitor: the process that holds a container while it runs. It runs `runc
 * create`, keeps the container's stdout and stderr in a `k8s-file` log, waits for the init
 * process as its child subreaper, writes the exit file (`<exitDir>/<id>`, decimal exit code) and
 * runs the exit command. Two implementations write the same files in the same formats: conmon
 * (when installed) and the built-in one (this binary re-executed); callers cannot tell them apart.
 *
 * `Monitor.start` returns once the container is *created* (runc create done, its pid known): the
 * caller then runs `runc start` (`Runc.start` in `runc.ts`). The monitor lives on detached (its
 * own session, no terminal, stdio on /dev/null) after the caller exits.
 *
 * @example
 * ```ts
 * const monitor = selectMonitor({});          // conmon when on PATH, else built-in
 * const { containerPid, monitorPid } = await monitor.start(request);
 * await new Runc({ root: request.runcRoot }).start(request.id);
 * // ... later
 * await readExitFile(request.exitDir, request.id); // 0, or null while it runs
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { lookPath } from "../sys/process.ts";
import { BuiltinMonitor } from "./builtin_monitor.ts";
import { ConmonMonitor } from "./conmon.ts";
import type { ExecSession, ExecSessionRequest } from "./exec_session.ts";

export { readExitFile, readExitRecord } from "./exitfile.ts";
export {
  MONITOR_PID_FILE,
  OCI_LOG_FILE,
  parseMonitorRequest,
  prepareMonitorDirs,
  resolveExitCommand,
} from "./monitor_request.ts";

/** Everything a monitor needs to create and watch one container. */
export interface MonitorStartRequest {
  /** The container ID (also runc's ID for it). */
  id: string;
  /** Container name for conmon's `-n` (logging only); the ID when absent. */
  name?: string;
  /** The bundle directory holding `config.json` (the rootfs path is in the config). */
  bundle: string;
  /**
   * The container's run directory: the monitor pid file (`monitor.pid`), runc's log
   * (`oci-log`), the built-in monitor's own diagnostics (`monitor.log`) and conmon's attach
   * socket link (`<runDir>/<id>/attach`) go here.
   */
  runDir: string;
  /** The `k8s-file` log of the container's output. */
  logPath: string;
  /** The directory of exit files; the exit file is `<exitDir>/<id>`. */
  exitDir: string;
  /** Where runc writes the container init's pid. */
  pidFile: string;
  /**
   * Run after the container exits and the exit file is written, e.g. `[denopod, --root, R,
   * --runroot, RR, container, cleanup, ID]`; empty for none. The first word is looked up on PATH
   * when it holds no `/`.
   */
  exitCommand: string[];
  /** runc's state directory (`runc --root`). */
  runcRoot: string;
  /** The runc binary (a path or a name on PATH); `runc` by default. */
  runcBinary?: string;
  /**
   * The process has a terminal (`process.terminal` in the spec): the monitor gives runc a
   * console socket, receives the pty master and relays it (conmon's `-t`).
   */
  terminal?: boolean;
  /** Keep the container's stdin open for attach clients (conmon's `-i`). */
  stdin?: boolean;
}

/** What `Monitor.start` learned. */
export interface MonitorStartResult {
  /** The host pid of the container's init process (created, not yet started). */
  containerPid: number;
  /** The pid of the monitor that holds the container (conmon, or the built-in monitor). */
  monitorPid: number;
}

/** A container monitor; see the module documentation. */
export interface Monitor {
  /** Which implementation this is. */
  readonly name: "conmon" | "builtin";
  /**
   * Starts a monitor that creates the container; resolves once it is created (the caller runs
   * `runc start`). Throws the runc error (RuntimeError, or CommandNotFoundError /
   * CommandNotInvokableError when the command cannot run) when creation fails.
   */
  start(request: MonitorStartRequest): Promise<MonitorStartResult>;
  /**
   * Starts a monitor for an exec session (`exec_session.ts`; the process file written, the
   * directory made); resolves once its attach socket listens.
   */
  startExec(request: ExecSessionRequest): Promise<ExecSession>;
}

/** Where environment variables come from (Deno.env by default). */
export interface EnvSource {
  /** Returns the variable's value, or undefined when unset. */
  get(name: string): string | undefined;
}

/** How to choose a monitor. */
export interface SelectMonitorOptions {
  /** Use this implementation whatever the environment says. */
  force?: "conmon" | "builtin";
  /** Environment to read `DENOPOD_MONITOR` and `PATH` from; Deno.env by default. */
  env?: EnvSource;
  /** For the built-in monitor: the script that runs `builtinMonitorMain` (tests). */
  builtinEntry?: string;
}

/**
 * Chooses the monitor: `force` when given; else the built-in one when `DENOPOD_MONITOR=builtin`;
 * else conmon when it is on PATH (or `DENOPOD_MONITOR=conmon`, which fails when it is not);
 * else the built-in one.
 */
export function selectMonitor(options: SelectMonitorOptions = {}): Monitor {
  const env = options.env ?? Deno.env;
  const wanted = options.force ?? env.get("DENOPOD_MONITOR");
  if (wanted !== undefined && wanted !== "" && wanted !== "conmon" && wanted !== "builtin") {
    throw new InvalidArgError(`DENOPOD_MONITOR must be "conmon" or "builtin", not "${wanted}"`);
  }
  const builtin = () => new BuiltinMonitor({ entry: options.builtinEntry });
  if (wanted === "builtin") return builtin();
  const conmon = lookPath("conmon", env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin");
  if (conmon !== null) return new ConmonMonitor({ binary: conmon });
  if (wanted === "conmon") {
    throw new InvalidArgError("monitor conmon was asked for, but conmon is not on PATH");
  }
  return builtin();
}
