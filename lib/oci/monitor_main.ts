/**
 * The built-in monitor process (`denopod __monitor <json request>`), doing what conmon does:
 *
 * 1. becomes a child subreaper, so the container's init becomes its child once runc exits;
 * 2. runs `runc create` with stdout and stderr piped (the container inherits those pipes);
 * 3. reports `created pid N` (or `error NAME MESSAGE`) on stdout, then points its stdio at
 *    /dev/null so nothing ties it to its parent;
 * 4. copies both pipes into the k8s-file log as output arrives;
 * 5. waits for the init (on SIGCHLD, and every second in case one is missed), forwarding
 *    SIGTERM, SIGINT and SIGQUIT to it (listened for from before the report);
 * 6. writes the exit file (exit code, or 128 + signal; -1 when the status was lost) atomically,
 *    runs the exit command and exits.
 *
 * Like conmon, it serves the attach socket (`<runDir>/<id>/attach`, on a thread of its own: `monitor_relay.ts`) and
 * the `ctl` fifo from before `runc create` until the container exits: every client gets the
 * output from when it connects, and its input goes to the container's stdin (kept open with
 * `stdin`). With `terminal`, runc gets a console socket of ours, the pty master arrives over it
 * (`SCM_RIGHTS`), its output goes to the log (as stdout) and to the clients, input and resizes
 * go to it. The exit file is written before the clients are let go, so they read the exit code
 * as soon as they see end of file.
 *
 * Like conmon, it runs the exit command also when `runc create` fails, and then writes no exit
 * file. What goes wrong after the report is appended to `<runDir>/monitor.log`.
 *
 * @example
 * ```ts
 * // main.ts, before building the CLI:
 * if (Deno.args[0] === "__monitor") Deno.exit(await builtinMonitorMain(Deno.args.slice(1)));
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { DenopodError, InvalidArgError, RuntimeError } from "../errors.ts";
import { libc, PR_SET_CHILD_SUBREAPER } from "../sys/libc.ts";
import {
  decodeWaitStatus,
  isProcessAlive,
  reapExitedChildren,
  redirectStdioToDevNull,
} from "../sys/process.ts";
import {
  acceptSocket,
  closeFd,
  listenUnix,
  pollFds,
  POLLIN,
  readFd,
  receiveFd,
  setNonBlocking,
  setOutputCrLf,
} from "../sys/socket.ts";
import { ATTACH_PIPE_STDERR, ATTACH_PIPE_STDOUT } from "./attach.ts";
import { MonitorRelay } from "./monitor_relay.ts";
import { writeExitFile } from "./exitfile.ts";
import { K8sLogWriter, type LogStream } from "./k8s_log.ts";
import type { MonitorStartRequest } from "./monitor.ts";
import {
  MONITOR_EXEC_MODE,
  MONITOR_PID_FILE,
  OCI_LOG_FILE,
  parseExecSessionRequest,
  parseMonitorRequest,
} from "./monitor_request.ts";
import { execSessionPaths, type ExecSessionRequest } from "./exec_session.ts";
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

  /** An exec session's monitor: the attach socket listens (not the final report). */
  ready(): void {
    if (this.done) return;
    this.#write("ready");
    this.done = false;
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
  /** Also gets the output once the gate is open (the attach clients). */
  onOutput: (stream: LogStream, chunk: Uint8Array) => void = () => {};

  constructor(log: K8sLogWriter) {
    this.#log = log;
  }

  /** Output of the pipes: to the log, and to the clients once the gate is open. */
  write(stream: LogStream, chunk: Uint8Array): void {
    this.logOnly(stream, chunk);
    if (this.#open) this.onOutput(stream, chunk);
  }

  /** Output the clients already have (the terminal's, sent by the relay thread): the log only. */
  logOnly(stream: LogStream, chunk: Uint8Array): void {
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

/**
 * Waits (up to 5 s) for runc to connect to the console socket and send the pty master; returns
 * the master's descriptor.
 */
async function receiveConsole(listenFd: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let conn: number | null = null;
  try {
    while (Date.now() < deadline) {
      if (conn === null) conn = acceptSocket(listenFd);
      if (conn !== null) {
        const got = receiveFd(conn);
        if (got !== null && got.fds.length > 0) {
          for (const extra of got.fds.slice(1)) closeFd(extra);
          return got.fds[0];
        }
        if (got !== null) throw new RuntimeError("runc sent no terminal over the console socket");
      }
      await pollFds([{ fd: conn ?? listenFd, events: POLLIN }], 200);
    }
    throw new RuntimeError("runc did not send the terminal over the console socket");
  } finally {
    if (conn !== null) closeFd(conn);
  }
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

/** The attach socket and ctl fifo (on their relay thread), the console socket, stdin. */
class Endpoints {
  readonly relay: MonitorRelay;
  stdin: WritableStreamDefaultWriter<Uint8Array> | null = null;
  consoleDir: string | null = null;
  consoleFd = -1;

  /**
   * Serves `<bundle>/attach` (reached through `symlink` unless null) and `<bundle>/ctl`; the
   * terminal's output goes to `onOutput`; problems go to `<diagnoseDir>/monitor.log`.
   */
  constructor(
    bundle: string,
    diagnoseDir: string,
    symlink: string | null,
    onOutput: (bytes: Uint8Array) => void,
  ) {
    this.relay = MonitorRelay.start(bundle, symlink, {
      onOutput,
      onInput: (bytes) => {
        this.stdin?.write(bytes).catch(() => {});
      },
      onInputEnd: () => {
        // conmon's -i: a client's end of input closes the container's stdin (not a terminal's)
        if (this.stdin !== null) {
          this.stdin.close().catch(() => {});
          this.stdin = null;
        }
      },
      onError: (message) => diagnose(diagnoseDir, `attach: ${message}`),
    });
  }

  /** Hands the terminal's master to the relay thread. */
  setTerminal(master: number): void {
    setNonBlocking(master);
    try {
      setOutputCrLf(master);
    } catch {
      // not a terminal after all: relay it anyway
    }
    this.relay.setTerminal(master);
  }

  /** Makes the socket runc sends the terminal to; returns its path. */
  async listenConsole(): Promise<string> {
    this.consoleDir = await Deno.makeTempDir({ prefix: "denopod-console-" });
    const path = join(this.consoleDir, "console.sock");
    this.consoleFd = listenUnix("stream", path);
    return path;
  }

  /** Drops the console socket (once the terminal arrived, or creation failed). */
  closeConsole(): void {
    closeFd(this.consoleFd);
    this.consoleFd = -1;
    if (this.consoleDir !== null) {
      try {
        Deno.removeSync(this.consoleDir, { recursive: true });
      } catch {
        // already gone
      }
      this.consoleDir = null;
    }
  }

  /** Lets every client go (they read end of file) and closes everything. */
  async close(): Promise<void> {
    this.closeConsole();
    await this.relay.close();
    this.stdin?.close().catch(() => {});
  }
}

async function monitor(request: MonitorStartRequest, reporter: Reporter): Promise<number> {
  libc().prctl(PR_SET_CHILD_SUBREAPER, 1);
  await Deno.writeTextFile(join(request.runDir, MONITOR_PID_FILE), String(Deno.pid));
  const log = await K8sLogWriter.open(request.logPath);
  const gate = new OutputGate(log);
  const ociLog = join(request.runDir, OCI_LOG_FILE);
  const endpoints = new Endpoints(
    request.bundle,
    request.runDir,
    join(request.runDir, request.id),
    // the terminal's output: the relay thread has sent it to the clients already
    (bytes) => gate.logOnly("stdout", bytes),
  );
  // the pipes' output (no terminal) goes to the clients through the relay thread
  gate.onOutput = (stream, chunk) =>
    endpoints.relay.output(stream === "stderr" ? ATTACH_PIPE_STDERR : ATTACH_PIPE_STDOUT, chunk);
  const consoleArgs = request.terminal ? ["--console-socket", await endpoints.listenConsole()] : [];
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
        ...consoleArgs,
        request.id,
      ],
      stdin: request.stdin && !request.terminal ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    log.close();
    await endpoints.close();
    throw new RuntimeError(`runc create: cannot run ${request.runcBinary ?? "runc"}: ${err}`);
  }
  if (request.stdin && !request.terminal) endpoints.stdin = runc.stdin.getWriter();
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
    await endpoints.close();
    const ociText = await Deno.readTextFile(ociLog).catch(() => "");
    const message = runcErrorMessage(ociText) ?? runcErrorMessage(gate.heldText("stderr")) ??
      `exit status ${created.code}`;
    reporter.failed(runtimeErrorFor("create", message));
    await runExitCommand(request);
    return 1;
  }

  const pid = Number((await Deno.readTextFile(request.pidFile)).trim());
  if (request.terminal) {
    try {
      endpoints.setTerminal(await receiveConsole(endpoints.consoleFd));
    } catch (err) {
      await drain();
      log.close();
      await endpoints.close();
      await new Deno.Command(request.runcBinary ?? "runc", {
        args: ["--root", request.runcRoot, "delete", "--force", request.id],
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
      reporter.failed(err);
      await runExitCommand(request);
      return 1;
    } finally {
      endpoints.closeConsole();
    }
  }
  gate.open();
  const stopForwarding = forwardSignalsTo(pid);
  reporter.created(pid);
  redirectStdioToDevNull();

  const status = await waitForExit(pid);
  stopForwarding();
  const exitCode = status === null ? -1 : decodeWaitStatus(status).exitCode;
  await drain();
  await endpoints.relay.drain();
  log.close();
  await writeExitFile(request.exitDir, request.id, exitCode);
  await endpoints.close();
  await runExitCommand(request);
  return 0;
}

/** Waits for the client's start message (a line, or end of file) on stdin. */
async function waitForStart(): Promise<void> {
  for (;;) {
    const bytes = readFd(0, 64);
    if (bytes !== null) return;
    await pollFds([{ fd: 0, events: POLLIN }], 1000);
  }
}

/**
 * An exec session's monitor (conmon's `--exec --exec-attach` with `-t`): serves the attach
 * socket and `ctl` fifo in the session's directory, says `ready`, waits for the client's start
 * message on stdin, runs `runc exec --detach` with a console socket of ours, reports the pid,
 * then holds the terminal and waits for the process (our child, as subreaper) until it exits,
 * writes the exit file and lets the clients go.
 */
async function execMonitor(request: ExecSessionRequest, reporter: Reporter): Promise<number> {
  if (!request.terminal) {
    throw new InvalidArgError("the built-in monitor runs exec sessions with a terminal only");
  }
  libc().prctl(PR_SET_CHILD_SUBREAPER, 1);
  const paths = execSessionPaths(request.dir);
  await Deno.mkdir(paths.exitDir, { recursive: true, mode: 0o700 });
  // an exec session keeps no log (podman's: conmon -l none)
  const endpoints = new Endpoints(request.dir, request.dir, null, () => {});
  const consolePath = await endpoints.listenConsole();
  reporter.ready();
  await waitForStart();
  const runcBinary = request.runcBinary ?? "runc";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(runcBinary, {
      args: [
        "--root",
        request.runcRoot,
        "--log",
        paths.ociLog,
        "--log-format",
        "json",
        "exec",
        "--detach",
        "--tty",
        "--pid-file",
        paths.pidFile,
        "--process",
        paths.processFile,
        "--console-socket",
        consolePath,
        request.id,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    await endpoints.close();
    throw new RuntimeError(`runc exec: cannot run ${runcBinary}: ${err}`);
  }
  if (!out.success) {
    await endpoints.close();
    const ociText = await Deno.readTextFile(paths.ociLog).catch(() => "");
    const message = runcErrorMessage(ociText) ?? runcErrorMessage(decoder.decode(out.stderr)) ??
      `exit status ${out.code}`;
    reporter.failed(runtimeErrorFor("exec", message));
    return 1;
  }
  let pid: number;
  try {
    endpoints.setTerminal(await receiveConsole(endpoints.consoleFd));
    pid = Number((await Deno.readTextFile(paths.pidFile)).trim());
  } catch (err) {
    await endpoints.close();
    reporter.failed(err);
    return 1;
  } finally {
    endpoints.closeConsole();
  }
  reporter.created(pid);
  redirectStdioToDevNull();
  const status = await waitForExit(pid);
  const exitCode = status === null ? -1 : decodeWaitStatus(status).exitCode;
  await endpoints.relay.drain();
  await writeExitFile(paths.exitDir, request.id, exitCode);
  await endpoints.close();
  return 0;
}

/**
 * Runs the built-in monitor for the request in `args[0]` (JSON, a MonitorStartRequest; or, after
 * `exec`, an ExecSessionRequest for an exec session's monitor) and returns the process exit code: 0 after the container ran and exited, non-zero when the request
 * was bad or the container could not be created (reported on stdout first).
 */
export async function builtinMonitorMain(args: string[]): Promise<number> {
  const reporter = new Reporter();
  if (args[0] === MONITOR_EXEC_MODE) {
    let request: ExecSessionRequest;
    try {
      request = parseExecSessionRequest(args[1] ?? "");
    } catch (err) {
      reporter.failed(err);
      return 125;
    }
    try {
      return await execMonitor(request, reporter);
    } catch (err) {
      if (!reporter.done) reporter.failed(err);
      else diagnose(request.dir, `monitor failed: ${(err as Error).message}`);
      return 1;
    }
  }
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
