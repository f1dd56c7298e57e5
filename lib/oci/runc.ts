/**
 * A thin wrapper over the `runc` command line: each method runs one runc verb with `--root` set
 * and JSON logging, and turns a failure into a one-line typed error naming the verb (`runc kill:
 * container not running`). runc gets no file descriptors but stdio (`Deno.Command` passes no
 * others), and stdin is `/dev/null` unless a verb needs it.
 *
 * `create` and `exec` give the container process runc's own stdio, so a pipe there would stay
 * open as long as the container runs: they send runc's log to a temporary file and read the
 * error from it. The monitors (conmon, built-in) run `runc create` themselves; `Runc.create` is
 * for callers that want no monitor.
 *
 * @example
 * ```ts
 * const runc = new Runc({ root: "/run/denopod/runc" });
 * await runc.start(id);
 * (await runc.state(id))?.status; // "running"
 * await runc.kill(id, "TERM");
 * ```
 * @module
 */
import { InvalidArgError, RuntimeError } from "../errors.ts";
import { parseSignal } from "../util/signals.ts";
import { runcErrorMessage, runtimeErrorFor } from "./runc_errors.ts";

/** What `runc state` reports about a container. */
export interface RuncState {
  /** The OCI runtime spec version runc implements. */
  ociVersion: string;
  /** The container ID. */
  id: string;
  /** The container's status as runc sees it. */
  status: "created" | "running" | "paused" | "stopped";
  /** The host pid of the container's init process (0 once stopped). */
  pid: number;
  /** The bundle directory the container was created from. */
  bundle: string;
  /** The root filesystem path. */
  rootfs: string;
  /** When runc created the container (RFC 3339 with nanoseconds). */
  created: string;
  /** The owner runc records (empty for root). */
  owner?: string;
  /** The spec's annotations, if any. */
  annotations?: Record<string, string>;
}

/** What `runc --version` prints, parsed. */
export interface RuncVersion {
  /** The version, e.g. `1.1.5+ds1`. */
  runc: string;
  /** The commit line, e.g. `1.1.5+ds1-1+deb12u1` on Debian. */
  commit?: string;
  /** The OCI runtime spec version, e.g. `1.0.2-dev`. */
  spec?: string;
  /** The Go version runc was built with. */
  go?: string;
  /** The libseccomp version runc was built with. */
  libseccomp?: string;
}

/** What to run with `runc exec` (no terminal). */
export interface RuncExecOptions {
  /** The command and its arguments. */
  args: string[];
  /** Extra environment variables, `KEY=value`, added to the container's. */
  env?: string[];
  /** Working directory inside the container (absolute). */
  cwd?: string;
  /** `uid[:gid]` to run as (runc keeps the container's supplementary groups). */
  user?: string;
  /**
   * The whole OCI `process` object to run (`runc exec --process`), when the container's own
   * (from its `config.json`) must not show through — runc adds `--additional-gids` to the
   * container's groups instead of replacing them. `args`, `env`, `cwd` and `user` are then unused.
   */
  process?: Record<string, unknown>;
  /** Terminal mode is not supported here (a monitor holds a terminal: `exec_session.ts`). */
  tty?: false;
  /** Give the process the caller's stdin (`-i`); otherwise it reads /dev/null. */
  stdin?: boolean;
  /** Start it and return at once (`-d`): stdio on /dev/null, exit code 0. */
  detach?: boolean;
  /** With "inherit" stdio: called with the process's pid once it has started. */
  onStarted?: (pid: number) => void;
}

/** The outcome of `runc exec`: the process's exit code and, when piped, its output. */
export interface RuncExecResult {
  /** The exec'd process's exit code (128 + signal when a signal killed it). */
  exitCode: number;
  /** Its standard output (empty unless stdio is "piped"). */
  stdout: Uint8Array;
  /** Its standard error (empty unless stdio is "piped"). */
  stderr: Uint8Array;
}

/**
 * Where an exec'd process's stdio goes. With "inherit", its stderr reaches ours only once it has
 * started: when runc itself fails, its own line is dropped and the typed error says it once.
 */
export type ExecStdio = "piped" | "inherit" | "null";

/** Options for {@linkcode Runc}. */
export interface RuncOptions {
  /** The runc binary: a path, or a name looked up on PATH. Default `runc`. */
  binary?: string;
  /** runc's state directory (`runc --root`), e.g. `<runroot>/runc`. */
  root: string;
}

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

function checkId(id: string): void {
  if (!ID.test(id) || id.length > 1024) {
    throw new InvalidArgError(`invalid container ID for runc: ${JSON.stringify(id)}`);
  }
}

const decoder = new TextDecoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

interface RunOutput {
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** Drives one runc state directory; see the module documentation. */
export class Runc {
  /** The runc binary as given (a path or a name on PATH). */
  readonly binary: string;
  /** runc's state directory (`--root`). */
  readonly root: string;

  /** Creates a wrapper; nothing runs until a method is called. */
  constructor(options: RuncOptions) {
    this.binary = options.binary ?? "runc";
    this.root = options.root;
  }

  #globalArgs(logFile?: string): string[] {
    const args = ["--root", this.root, "--log-format", "json"];
    if (logFile !== undefined) args.push("--log", logFile);
    return args;
  }

  async #spawnOutput(
    verb: string,
    args: string[],
    stdio: ExecStdio = "piped",
    stdin: "inherit" | "null" = stdio === "inherit" ? "inherit" : "null",
  ): Promise<RunOutput> {
    try {
      const output = await new Deno.Command(this.binary, {
        args,
        stdin,
        stdout: stdio,
        stderr: stdio,
      }).output();
      return {
        code: output.code,
        stdout: stdio === "piped" ? output.stdout : new Uint8Array(),
        stderr: stdio === "piped" ? output.stderr : new Uint8Array(),
      };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new RuntimeError(`runc ${verb}: runc binary "${this.binary}" not found`, {
          cause: err,
        });
      }
      throw new RuntimeError(`runc ${verb}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs a verb whose stdio can be piped; throws the mapped error when runc fails. */
  async #run(verb: string, args: string[]): Promise<RunOutput> {
    const out = await this.#spawnOutput(verb, [...this.#globalArgs(), verb, ...args]);
    if (out.code !== 0) {
      const message = runcErrorMessage(decoder.decode(out.stderr)) ??
        `exit status ${out.code}`;
      throw runtimeErrorFor(verb, message);
    }
    return out;
  }

  /**
   * Runs a verb whose stdio the container inherits, with runc's log in a temporary file;
   * `check(code, log)` returns the error message to throw, or null.
   */
  async #runLogged(
    verb: string,
    args: string[],
    stdio: ExecStdio,
    check: (code: number, log: string) => string | null,
    stdin?: "inherit" | "null",
  ): Promise<RunOutput> {
    const logFile = await Deno.makeTempFile({ prefix: "denopod-runc-", suffix: ".log" });
    try {
      const out = await this.#spawnOutput(
        verb,
        [...this.#globalArgs(logFile), verb, ...args],
        stdio,
        stdin,
      );
      const log = await Deno.readTextFile(logFile).catch(() => "");
      const message = check(out.code, log);
      if (message !== null) throw runtimeErrorFor(verb, message);
      return out;
    } finally {
      await Deno.remove(logFile).catch(() => {});
    }
  }

  /**
   * `runc create`: makes the container and leaves its init waiting for `start`. The container's
   * stdio is /dev/null (a monitor gives it pipes instead). With `consoleSocket`, runc sends the
   * terminal's master there.
   */
  async create(
    id: string,
    bundle: string,
    options: { pidFile: string; consoleSocket?: string },
  ): Promise<void> {
    checkId(id);
    const args = ["--bundle", bundle, "--pid-file", options.pidFile];
    if (options.consoleSocket !== undefined) args.push("--console-socket", options.consoleSocket);
    args.push(id);
    await this.#runLogged("create", args, "null", (code, log) => {
      if (code === 0) return null;
      return runcErrorMessage(log) ?? `exit status ${code}`;
    });
  }

  /** `runc start`: lets a created container's init run its command. */
  async start(id: string): Promise<void> {
    checkId(id);
    await this.#run("start", [id]);
  }

  /** `runc state`: the container's status and pid, or null when runc does not know the ID. */
  async state(id: string): Promise<RuncState | null> {
    checkId(id);
    const out = await this.#spawnOutput("state", [...this.#globalArgs(), "state", id]);
    if (out.code !== 0) {
      const message = runcErrorMessage(decoder.decode(out.stderr)) ?? `exit status ${out.code}`;
      if (/does not exist/.test(message)) return null;
      throw runtimeErrorFor("state", message);
    }
    return JSON.parse(decoder.decode(out.stdout)) as RuncState;
  }

  /** `runc list`: every container in this root (empty when none). */
  async list(): Promise<RuncState[]> {
    const out = await this.#run("list", ["--format", "json"]);
    const parsed = JSON.parse(decoder.decode(out.stdout) || "null") as RuncState[] | null;
    return parsed ?? [];
  }

  /**
   * `runc kill`: sends `signal` (a name such as `TERM`/`SIGTERM`, or a number) to the init, or
   * with `all` to every process of the container.
   */
  async kill(id: string, signal: string | number, options: { all?: boolean } = {}): Promise<void> {
    checkId(id);
    const number = parseSignal(String(signal));
    const args = options.all ? ["--all", id, String(number)] : [id, String(number)];
    await this.#run("kill", args);
  }

  /** `runc delete`: removes the container's runc state; `force` kills a running one first. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    await this.#run("delete", options.force ? ["--force", id] : [id]);
  }

  /** `runc pause`: freezes every process of the container. */
  async pause(id: string): Promise<void> {
    checkId(id);
    await this.#run("pause", [id]);
  }

  /** `runc resume`: thaws a paused container. */
  async resume(id: string): Promise<void> {
    checkId(id);
    await this.#run("resume", [id]);
  }

  /**
   * `runc exec` without a terminal: runs a process in the running container and waits for it.
   * Returns its exit code (and output when `stdio` is "piped"). Throws CommandNotFoundError
   * (127) or CommandNotInvokableError (126) when the command cannot be run, RuntimeError when
   * runc fails otherwise.
   *
   * @example
   * ```ts
   * const r = await runc.exec(id, { args: ["sh", "-c", "echo hi; exit 3"] });
   * r.exitCode; // 3
   * new TextDecoder().decode(r.stdout); // "hi\n"
   * ```
   */
  async exec(
    id: string,
    options: RuncExecOptions,
    stdio: ExecStdio = "piped",
  ): Promise<RuncExecResult> {
    checkId(id);
    if (options.tty) throw new InvalidArgError("runc exec: a terminal is not supported");
    if (options.args.length === 0) throw new InvalidArgError("runc exec: no command given");
    const args: string[] = [];
    if (options.cwd !== undefined) args.push("--cwd", options.cwd);
    for (const pair of options.env ?? []) {
      if (!pair.includes("=")) throw new InvalidArgError(`runc exec: invalid env ${pair}`);
      args.push("--env", pair);
    }
    if (options.user !== undefined) args.push("--user", options.user);
    let processFile: string | undefined;
    if (options.process !== undefined) {
      processFile = await Deno.makeTempFile({ prefix: "denopod-runc-", suffix: ".json" });
      await Deno.writeTextFile(processFile, JSON.stringify(options.process));
      args.splice(0, args.length, "--process", processFile);
    }
    const detach = options.detach === true;
    if (detach) args.push("--detach");
    try {
      return await this.#exec(
        id,
        args,
        processFile ? [] : options.args,
        detach ? "null" : stdio,
        options.stdin === true && !detach,
        options.onStarted,
      );
    } finally {
      if (processFile !== undefined) await Deno.remove(processFile).catch(() => {});
    }
  }

  /** Runs `runc exec ARGS ID COMMAND`; see {@linkcode Runc.exec}. */
  async #exec(
    id: string,
    args: string[],
    command: string[],
    stdio: ExecStdio,
    stdin: boolean,
    onStarted?: (pid: number) => void,
  ): Promise<RuncExecResult> {
    const failed = (code: number, log: string) => {
      if (code === 0) return null;
      // A process may exit 255 itself; only an error in runc's own log is runc failing.
      return /"level":"(error|fatal|panic)"/.test(log) ? runcErrorMessage(log) : null;
    };
    if (stdio === "inherit") {
      const logFile = await Deno.makeTempFile({ prefix: "denopod-runc-", suffix: ".log" });
      const pidFile = `${logFile}.pid`;
      try {
        const execArgs = [...this.#globalArgs(logFile), "exec", "--pid-file", pidFile];
        const code = await this.#execPassingStderr([...execArgs, ...args, id, ...command], {
          pidFile,
          stdin,
          onStarted,
          failed: async (code) => failed(code, await Deno.readTextFile(logFile).catch(() => "")),
        });
        return { exitCode: code, stdout: new Uint8Array(), stderr: new Uint8Array() };
      } finally {
        await Deno.remove(logFile).catch(() => {});
        await Deno.remove(pidFile).catch(() => {});
      }
    }
    const out = await this.#runLogged(
      "exec",
      [...args, id, ...command],
      stdio,
      failed,
      stdin ? "inherit" : "null",
    );
    return { exitCode: out.code, stdout: out.stdout, stderr: out.stderr };
  }

  /**
   * Runs `runc exec` with our stdin and stdout and a pipe for stderr, which is passed on to ours
   * from the moment the process has started (runc wrote `pidFile`, which it does only after the
   * exec succeeded; `onStarted` then gets its pid). Before that, what arrives is held; if runc then fails (`failed` returns its
   * message), the held bytes are runc's own error line: they are dropped and the error thrown.
   * Returns the process's exit code.
   */
  async #execPassingStderr(
    args: string[],
    opts: {
      pidFile: string;
      stdin: boolean;
      onStarted?: (pid: number) => void;
      failed: (code: number) => Promise<string | null>;
    },
  ): Promise<number> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.binary, {
        args,
        stdin: opts.stdin ? "inherit" : "null",
        stdout: "inherit",
        stderr: "piped",
        // a session of its own: a Ctrl-C on the caller's terminal reaches the client, which
        // passes it on once (`onStarted`), not also runc, which would pass it on a second time
        detached: true,
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new RuntimeError(`runc exec: runc binary "${this.binary}" not found`, { cause: err });
      }
      throw new RuntimeError(`runc exec: ${(err as Error).message}`, { cause: err });
    }
    const held: Uint8Array[] = [];
    let started = false;
    const hasStarted = (): boolean => {
      if (!started) {
        let pid: number;
        try {
          pid = Number(Deno.readTextFileSync(opts.pidFile).trim());
        } catch {
          return false; // not yet
        }
        // runc writes the file whole (a rename), so a pid is there once it exists
        started = true;
        if (pid > 0) opts.onStarted?.(pid);
      }
      return started;
    };
    const flush = () => {
      for (const chunk of held.splice(0)) writeAllSync(Deno.stderr, chunk);
    };
    const poll = setInterval(() => {
      if (hasStarted()) flush();
    }, 20);
    const reader = child.stderr.getReader();
    const pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (hasStarted()) {
          flush();
          writeAllSync(Deno.stderr, value);
        } else held.push(value);
      }
    })();
    try {
      const { code } = await child.status;
      // The process is gone; what it wrote is in the pipe already. A child it left behind may
      // hold the pipe open: read on only while data is there, then let go.
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([pump, new Promise((resolve) => grace = setTimeout(resolve, 50))]);
      clearTimeout(grace);
      await reader.cancel().catch(() => {});
      await pump.catch(() => {});
      const message = hasStarted() ? null : await opts.failed(code);
      if (message !== null) throw runtimeErrorFor("exec", message);
      flush();
      return code;
    } finally {
      clearInterval(poll);
    }
  }

  /**
   * Spawns `runc exec ARGS` with runc's log in `logFile` and stdio on /dev/null (for a process
   * whose terminal comes through `--console-socket`); the caller waits for it and reads the log.
   */
  spawnExec(args: string[], logFile: string): Deno.ChildProcess {
    try {
      return new Deno.Command(this.binary, {
        args: [...this.#globalArgs(logFile), "exec", ...args],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (err) {
      throw new RuntimeError(`runc exec: ${(err as Error).message}`, { cause: err });
    }
  }

  /** `runc --version`, parsed. */
  async version(): Promise<RuncVersion> {
    const out = await this.#spawnOutput("--version", ["--version"]);
    if (out.code !== 0) {
      throw new RuntimeError(`runc --version: exit status ${out.code}`);
    }
    return parseRuncVersion(decoder.decode(out.stdout));
  }
}

/**
 * Parses `runc --version` output:
 * `runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n...`.
 */
export function parseRuncVersion(text: string): RuncVersion {
  const version = /^runc version (\S+)/m.exec(text)?.[1];
  if (version === undefined) {
    throw new RuntimeError(`runc --version: unexpected output: ${text.split("\n")[0]}`);
  }
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, "m").exec(text)?.[1]?.trim();
  const result: RuncVersion = { runc: version };
  const commit = field("commit");
  const spec = field("spec");
  const go = field("go");
  const libseccomp = field("libseccomp");
  if (commit !== undefined) result.commit = commit;
  if (spec !== undefined) result.spec = spec;
  if (go !== undefined) result.go = go;
  if (libseccomp !== undefined) result.libseccomp = libseccomp;
  return result;
}

interface ParsedVersion {
  core: [number, number, number];
  rc: number | null;
}

function parseVersion(text: string): ParsedVersion | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-rc\.?(\d+))?/.exec(text);
  if (!m) return null;
  return {
    core: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)],
    rc: m[4] === undefined ? null : Number(m[4]),
  };
}

function compareVersions(a: ParsedVersion, b: ParsedVersion): number {
  for (let i = 0; i < 3; i++) {
    if (a.core[i] !== b.core[i]) return a.core[i] - b.core[i];
  }
  if (a.rc === b.rc) return 0;
  if (a.rc === null) return 1;
  if (b.rc === null) return -1;
  return a.rc - b.rc;
}

/** A known container breakout and the releases that fix it, one per release branch. */
interface Advisory {
  cves: string;
  /** Fixed in these versions; a version is fixed when it is at least the fix on its branch. */
  fixedIn: string[];
}

const ADVISORIES: Advisory[] = [
  { cves: "CVE-2019-5736", fixedIn: ["1.0.0-rc7"] },
  { cves: "CVE-2024-21626", fixedIn: ["1.1.12"] },
  {
    cves: "CVE-2025-31133, CVE-2025-52565, CVE-2025-52881",
    fixedIn: ["1.2.8", "1.3.3", "1.4.0-rc3"],
  },
];

function isFixed(version: ParsedVersion, fixedIn: string[]): boolean {
  const fixes = fixedIn.map((v) => parseVersion(v)!);
  // The fix on the same major.minor branch decides; otherwise any later branch's fix counts.
  const sameBranch = fixes.find((f) =>
    f.core[0] === version.core[0] && f.core[1] === version.core[1]
  );
  if (sameBranch) return compareVersions(version, sameBranch) >= 0;
  const oldest = fixes[0];
  if (compareVersions(version, oldest) < 0) return false;
  // Newer than the oldest fix but on a branch without one of its own: fixed only when it is
  // newer than every listed branch.
  return fixes.every((f) => compareVersions(version, f) >= 0);
}

/**
 * Returns a warning when `version` is older than the runc releases that fix known container
 * breakouts (CVE-2019-5736, CVE-2024-21626, and the November 2025 set), else null. It warns and
 * never refuses: a distribution build such as Debian's `1.1.5+ds1-1+deb12u1` may carry the fixes
 * as backports, and the warning says so.
 *
 * @example
 * ```ts
 * runcSecurityWarning({ runc: "1.1.12" });     // warns about the 2025 CVEs only
 * runcSecurityWarning({ runc: "1.2.8" });      // null
 * ```
 */
export function runcSecurityWarning(version: RuncVersion): string | null {
  const parsed = parseVersion(version.runc);
  if (parsed === null) {
    return `cannot tell whether runc ${version.runc} has the fixes for known container breakouts`;
  }
  const missing = ADVISORIES.filter((a) => !isFixed(parsed, a.fixedIn));
  if (missing.length === 0) return null;
  const list = missing.map((a) => `${a.cves} (fixed in ${a.fixedIn.join("/")})`).join("; ");
  let message =
    `runc ${version.runc} is older than the releases that fix known container breakouts: ${list}`;
  const build = `${version.runc} ${version.commit ?? ""}`;
  if (/\+ds|\+dfsg|deb\d|ubuntu|\.el\d|\.fc\d/.test(build)) {
    message += `; this is a distribution build (${
      version.commit ?? version.runc
    }), which may carry backported fixes: check the distribution's security tracker`;
  }
  return message;
}
