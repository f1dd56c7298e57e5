/**
 * The built-in monitor process (`denopod __monitor <json request>`), doing what conmon does:
 *
 * 1. becomes a child subreaper, so the container's init becomes its child once runc exits;
 * 2. runs `runc create` with stdout and stderr piped (the container inherits those pipes);
 * 3. reports `created pid N` (or `error NAME MESSAGE`) on stdout, then points its stdio at
 *    /dev/null so nothing ties it to its parent;
 * 4. copies both pipes into the k8s-file log as output arrives;
 * 5. waits for the init (on SIGCHLD, and every second in case one is missed), forwarding
 *    SIGTERM, SIGINT and SIGQUIT to it;
 * 6. writes the exit file (exit code, or 128 + signal; -1 when the status was lost) atomically,
 *    runs the exit command and exits.
 *
 * Like conmon, it runs the exit command also when `runc create` fails, and then writes no exit
 * file. What goes wrong after the report is appended to `<runDir>/monitor.log`. There is no
 * attach socket (conmon's `<runDir>/<id>/attach`).
 *
 * @example
 * ```ts
 * // main.ts, before building the CLI:
 * if (Deno.args[0] === "__monitor") Deno.exit(await builtinMonitorMain(Deno.args.slice(1)));
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { DenopodError, RuntimeError } from "../errors.ts";
import { libc, PR_SET_CHILD_SUBREAPER } from "../sys/libc.ts";
import {
  decodeWaitStatus,
  isProcessAlive,
  reapExitedChildren,
  redirectStdioToDevNull,
} from "../sys/process.ts";
import { writeExitFile } from "./exitfile.ts";
import { K8sLogWriter, type LogStream } from "./k8s_log.ts";
import type { MonitorStartRequest } from "./monitor.ts";
import { MONITOR_PID_FILE, OCI_LOG_FILE, parseMonitorRequest } from "./monitor_request.ts";
import { runcErrorMessage, runtimeErrorFor } from "./runc_errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long to wait for the output pipes to drain once the container has exited. */
const DRAIN_MS = 2000;
/** Fallback poll for the container's exit, in case a SIGCHLD is missed. */
const POLL_MS = 1000;

/** Writes the one report line to stdout; later calls do nothing. */
class Reporter {
  done = false;

  #write(line: string): void {
    if (this.done) return;
    this.done = true;
    try {
      const bytes = encoder.encode(`${line.replace(/\n/g, " ")}\n`);
      let at = 0;
      while (at < bytes.length) at += Deno.stdout.writeSync(bytes.subarray(at));
    } catch {
      // the parent is gone: nobody to tell
    }
  }

  created(pid: number): void {
    this.#write(`created pid ${pid}`);
  }

  failed(err: unknown): void {
    const name = err instanceof DenopodError ? err.name : "RuntimeError";
    const message = err instanceof Error ? err.message : String(err);
    this.#write(`error ${name} ${message}`);
  }
}

/** Appends a line to `<runDir>/monitor.log`; never throws. */
function diagnose(runDir: string, message: string): void {
  try {
    Deno.writeTextFileSync(
      join(runDir, "monitor.log"),
      `${new Date().toISOString()} ${message.replace(/\n/g, " ")}\n`,
      { append: true, create: true, mode: 0o600 },
    );
  } catch {
    // nowhere left to report to
  }
}

/**
 * Holds output until the container is known to exist: before that, whatever runc prints is its
 * own (an error), not the container's.
 */
class OutputGate {
  #open = false;
  #held: Array<[LogStream, Uint8Array]> = [];
  readonly #log: K8sLogWriter;

  constructor(log: K8sLogWriter) {
    this.#log = log;
  }

  write(stream: LogStream, chunk: Uint8Array): void {
    if (this.#open) this.#log.write(stream, chunk);
    else this.#held.push([stream, chunk.slice()]);
  }

  /** The held output of one stream, as text. */
  heldText(stream: LogStream): string {
    return this.#held.filter(([s]) => s === stream).map(([, c]) => decoder.decode(c)).join("");
  }

  /** From now on output goes to the log, starting with what was held. */
  open(): void {
    this.#open = true;
    for (const [stream, chunk] of this.#held) this.#log.write(stream, chunk);
    this.#held = [];
  }
}

/** Copies one pipe into the gate until end of file (or until cancelled). */
function pump(
  stream: ReadableStream<Uint8Array>,
  name: LogStream,
  gate: OutputGate,
  onError: (err: unknown) => void,
): { done: Promise<void>; cancel: () => void } {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        gate.write(name, value);
      }
    } catch (err) {
      onError(err);
    }
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Passes SIGTERM, SIGINT and SIGQUIT sent to the monitor on to `pid`; returns the function that
 * stops doing so. Installed before the monitor reports the container created, so a signal sent
 * the moment the client hears of it is never lost (nor kills the monitor without an exit file).
 */
function forwardSignalsTo(pid: number): () => void {
  const forward = (["SIGTERM", "SIGINT", "SIGQUIT"] as const).map((signal) => {
    const listener = () => {
      try {
        Deno.kill(pid, signal);
      } catch {
        // already gone: the exit check notices
      }
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of forward) Deno.removeSignalListener(signal, listener);
  };
}

/**
 * Waits until `pid` (our child, as subreaper) exits and returns its raw wait status, reaping
 * any other orphan on the way; null when it vanished without being ours to reap.
 */
function waitForExit(pid: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(check, POLL_MS);
    const finish = () => {
      clearInterval(timer);
      Deno.removeSignalListener("SIGCHLD", check);
    };
    function check(): void {
      try {
        let mine = reapExitedChildren().find((child) => child.pid === pid);
        if (mine === undefined && !isProcessAlive(pid)) {
          // Gone or a zombie: a zombie of ours is reaped now; otherwise its status is lost.
          mine = reapExitedChildren().find((child) => child.pid === pid);
          if (mine === undefined) {
            finish();
            resolve(null);
            return;
          }
        }
        if (mine !== undefined) {
          finish();
          resolve(mine.status);
        }
      } catch (err) {
        finish();
        reject(err);
      }
    }
    Deno.addSignalListener("SIGCHLD", check);
    check();
  });
}

/** Runs the exit command with stdio on /dev/null and waits for it. */
async function runExitCommand(request: MonitorStartRequest): Promise<void> {
  if (request.exitCommand.length === 0) return;
  const [program, ...args] = request.exitCommand;
  try {
    const status = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn().status;
    if (!status.success) {
      diagnose(request.runDir, `exit command ${program} failed with status ${status.code}`);
    }
  } catch (err) {
    diagnose(request.runDir, `exit command ${program} could not run: ${(err as Error).message}`);
  }
}

async function monitor(request: MonitorStartRequest, reporter: Reporter): Promise<number> {
  libc().prctl(PR_SET_CHILD_SUBREAPER, 1);
  await Deno.writeTextFile(join(request.runDir, MONITOR_PID_FILE), String(Deno.pid));
  const log = await K8sLogWriter.open(request.logPath);
  const gate = new OutputGate(log);
  const ociLog = join(request.runDir, OCI_LOG_FILE);
  let runc: Deno.ChildProcess;
  try {
    runc = new Deno.Command(request.runcBinary ?? "runc", {
      args: [
        "--root",
        request.runcRoot,
        "--log",
        ociLog,
        "--log-format",
        "json",
        "create",
        "--bundle",
        request.bundle,
        "--pid-file",
        request.pidFile,
        request.id,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    log.close();
    throw new RuntimeError(`runc create: cannot run ${request.runcBinary ?? "runc"}: ${err}`);
  }
  const logError = (err: unknown) => diagnose(request.runDir, `reading output: ${err}`);
  const pumps = [
    pump(runc.stdout, "stdout", gate, logError),
    pump(runc.stderr, "stderr", gate, logError),
  ];
  const drain = async () => {
    await Promise.race([Promise.all(pumps.map((p) => p.done)), delay(DRAIN_MS)]);
    for (const p of pumps) p.cancel();
  };

  const created = await runc.status;
  if (!created.success) {
    await drain();
    log.close();
    const ociText = await Deno.readTextFile(ociLog).catch(() => "");
    const message = runcErrorMessage(ociText) ?? runcErrorMessage(gate.heldText("stderr")) ??
      `exit status ${created.code}`;
    reporter.failed(runtimeErrorFor("create", message));
    await runExitCommand(request);
    return 1;
  }

  const pid = Number((await Deno.readTextFile(request.pidFile)).trim());
  gate.open();
  const stopForwarding = forwardSignalsTo(pid);
  reporter.created(pid);
  redirectStdioToDevNull();

  const status = await waitForExit(pid);
  stopForwarding();
  const exitCode = status === null ? -1 : decodeWaitStatus(status).exitCode;
  await drain();
  log.close();
  await writeExitFile(request.exitDir, request.id, exitCode);
  await runExitCommand(request);
  return 0;
}

/**
 * Runs the built-in monitor for the request in `args[0]` (JSON, a MonitorStartRequest) and
 * returns the process exit code: 0 after the container ran and exited, non-zero when the request
 * was bad or the container could not be created (reported on stdout first).
 */
export async function builtinMonitorMain(args: string[]): Promise<number> {
  const reporter = new Reporter();
  let request: MonitorStartRequest;
  try {
    request = parseMonitorRequest(args[0] ?? "");
  } catch (err) {
    reporter.failed(err);
    return 125;
  }
  try {
    return await monitor(request, reporter);
  } catch (err) {
    if (!reporter.done) reporter.failed(err);
    else diagnose(request.runDir, `monitor failed: ${(err as Error).message}`);
    return 1;
  }
}
