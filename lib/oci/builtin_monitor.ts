/**
 * The built-in monitor, for hosts without conmon: this program re-executed in a hidden mode
 * (`denopod __monitor <json request>`), in a session of its own. It creates the container and
 * reports on its stdout, once, `created pid N` or `error NAME MESSAGE`; then it points its stdio
 * at /dev/null and holds the container as conmon would (see `monitor_main.ts`). An exec session
 * with a terminal gets a monitor of its own (`__monitor exec <json>`, `startExec`), which says
 * `ready` once its attach socket listens and runs the process when a line arrives on its stdin.
 *
 * @example
 * ```ts
 * const monitor = new BuiltinMonitor();            // re-executes Deno.mainModule
 * const { containerPid, monitorPid } = await monitor.start(request);
 * ```
 * @module
 */
import { dirname, fileURLToPath } from "../util/path.ts";
import {
  CommandNotFoundError,
  CommandNotInvokableError,
  type DenopodError,
  InvalidArgError,
  RuntimeError,
} from "../errors.ts";
import type { Monitor, MonitorStartRequest, MonitorStartResult } from "./monitor.ts";
import { MONITOR_EXEC_MODE, prepareMonitorDirs, resolveExitCommand } from "./monitor_request.ts";
import { LineReader, readFirstLine } from "./stream_lines.ts";
import { type ExecSession, execSessionPaths, type ExecSessionRequest } from "./exec_session.ts";
import { readExitRecord } from "./exitfile.ts";

/** The hidden subcommand the CLI maps to `builtinMonitorMain`. */
export const MONITOR_SUBCOMMAND = "__monitor";

/** How to re-execute this program as a monitor. */
export interface MonitorCommand {
  /** The program to run (the compiled binary, or `deno`). */
  cmd: string;
  /** Its arguments, ending in `__monitor <json request>`. */
  args: string[];
  /** The working directory (the entry script's directory when run from source, else `/`). */
  cwd: string;
}

/** Options for {@linkcode monitorCommand} and {@linkcode BuiltinMonitor}. */
export interface BuiltinMonitorOptions {
  /**
   * A script to run with `deno run -A` instead of this program (tests use one that calls
   * `builtinMonitorMain`); a path or a `file:` URL.
   */
  entry?: string;
}

function toPath(pathOrUrl: string): string {
  return pathOrUrl.startsWith("file:") ? fileURLToPath(pathOrUrl) : pathOrUrl;
}

/**
 * Builds the command line that re-executes this program as the monitor for `request`:
 * `<binary> __monitor <json>` from a compiled binary (`Deno.build.standalone`), else
 * `deno run -A <main module> __monitor <json>`, or the `entry` script when given; an exec
 * session's request goes after `__monitor exec`.
 *
 * @example
 * ```ts
 * monitorCommand(request, { entry: "test/helpers/monitor_entry.ts" });
 * // { cmd: "/usr/bin/deno", args: ["run", "-A", "test/helpers/monitor_entry.ts", "__monitor", "{...}"], cwd: "test/helpers" }
 * ```
 */
export function monitorCommand(
  request: MonitorStartRequest | ExecSessionRequest,
  options: BuiltinMonitorOptions = {},
): MonitorCommand {
  const json = JSON.stringify(request);
  const tail = "sessionId" in request
    ? [MONITOR_SUBCOMMAND, MONITOR_EXEC_MODE, json]
    : [MONITOR_SUBCOMMAND, json];
  if (options.entry === undefined && Deno.build.standalone) {
    return { cmd: Deno.execPath(), args: tail, cwd: "/" };
  }
  const entry = options.entry ?? Deno.mainModule;
  if (options.entry === undefined && !entry.startsWith("file:")) {
    throw new RuntimeError(`cannot re-execute the main module ${entry} as a monitor`);
  }
  const script = toPath(entry);
  return {
    cmd: Deno.execPath(),
    args: ["run", "-A", script, ...tail],
    cwd: dirname(script),
  };
}

/** Turns the monitor's `error NAME MESSAGE` report back into the typed error. */
function errorFromReport(report: string): DenopodError {
  const m = /^error (\S+) (.*)$/s.exec(report);
  if (!m) return new RuntimeError(`built-in monitor: unexpected report: ${report}`);
  switch (m[1]) {
    case "CommandNotFoundError":
      return new CommandNotFoundError(m[2]);
    case "CommandNotInvokableError":
      return new CommandNotInvokableError(m[2]);
    case "InvalidArgError":
      return new InvalidArgError(m[2]);
    default:
      return new RuntimeError(m[2]);
  }
}

/** Starts containers under the built-in monitor; see the module documentation. */
export class BuiltinMonitor implements Monitor {
  /** Always `builtin`. */
  readonly name = "builtin" as const;
  readonly #options: BuiltinMonitorOptions;

  /** Creates the monitor launcher; nothing runs until `start`. */
  constructor(options: BuiltinMonitorOptions = {}) {
    this.#options = options;
  }

  /**
   * Starts a detached monitor process that creates the container; resolves with the container
   * pid and the monitor's pid once it reports, and leaves it running (unref'd).
   */
  async start(request: MonitorStartRequest): Promise<MonitorStartResult> {
    const resolved: MonitorStartRequest = {
      ...request,
      exitCommand: resolveExitCommand(request.exitCommand, Deno.env.get("PATH") ?? ""),
    };
    await prepareMonitorDirs(resolved);
    const { cmd, args, cwd } = monitorCommand(resolved, this.#options);
    const child = spawnMonitor(cmd, args, cwd, "null");
    const report = await readFirstLine(child.stdout);
    const created = report === null ? null : /^created pid (\d+)$/.exec(report);
    if (created) {
      child.unref();
      return { containerPid: Number(created[1]), monitorPid: child.pid };
    }
    if (report === null) {
      const status = await child.status;
      throw new RuntimeError(
        `built-in monitor exited (status ${status.code}) before the container was created`,
      );
    }
    // The monitor now runs the exit command (`container cleanup`), which waits for the
    // container's lock our caller holds: waiting for the monitor to exit would deadlock.
    child.unref();
    throw errorFromReport(report);
  }

  /**
   * Starts an exec session's monitor (`__monitor exec`, a terminal only); resolves once its
   * attach socket listens. The start message is a line on the monitor's stdin; it reports the
   * pid, or runc's error, on its stdout, and writes the exit file when the process ends.
   */
  async startExec(request: ExecSessionRequest): Promise<ExecSession> {
    const { cmd, args, cwd } = monitorCommand(request, this.#options);
    const child = spawnMonitor(cmd, args, cwd, "piped");
    const reports = new LineReader(child.stdout);
    const input = child.stdin.getWriter();
    const release = () => {
      reports.cancel();
      input.close().catch(() => {});
      child.unref();
    };
    const ready = await reports.next();
    if (ready !== "ready") {
      release();
      if (ready === null) {
        const status = await child.status;
        throw new RuntimeError(
          `built-in monitor exited (status ${status.code}) before the exec session was ready`,
        );
      }
      throw errorFromReport(ready);
    }
    const paths = execSessionPaths(request.dir);
    return {
      attachPath: paths.attach,
      bundle: request.dir,
      async start() {
        await input.write(new TextEncoder().encode("start\n"));
        const report = await reports.next();
        const created = report === null ? null : /^created pid (\d+)$/.exec(report);
        if (created) return Number(created[1]);
        release();
        if (report === null) throw new RuntimeError("built-in monitor exited before the exec");
        throw errorFromReport(report);
      },
      async exitCode() {
        release();
        // the monitor writes the exit file before it lets its clients go
        const record = await readExitRecord(paths.exitDir, request.id);
        if (record) return record.exitCode;
        await child.status;
        return (await readExitRecord(paths.exitDir, request.id))?.exitCode ?? -1;
      },
      release,
    };
  }
}

/** Spawns a detached monitor process whose first lines on stdout report to us. */
function spawnMonitor(
  cmd: string,
  args: string[],
  cwd: string | undefined,
  stdin: "null" | "piped",
): Deno.ChildProcess {
  try {
    return new Deno.Command(cmd, {
      args,
      cwd,
      stdin,
      stdout: "piped",
      stderr: "null",
      detached: true,
    })
      .spawn();
  } catch (err) {
    throw new RuntimeError(`built-in monitor: cannot start ${cmd}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
