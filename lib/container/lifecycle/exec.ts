/**
 * `exec`: runs a process in a running container. The user (`-u name[:group]`, or numbers) is
 * resolved in the container's rootfs as `run -u` resolves it — the group and the supplementary
 * groups too — and handed to runc as numbers (runc's `--user` takes no names). The environment is
 * the container's, then `-e` (a bare `KEY` takes the caller's value). Every check happens before
 * runc runs, so a bad value is one `Error:` line.
 *
 * stdin is the caller's only with `-i` (`stdin`), else /dev/null; `-d` (`detach`) returns once
 * the process started. With a terminal ({@linkcode startExecSession}) a monitor holds the pty
 * master (`oci/exec_session.ts`), so the process outlives a client that detaches.
 *
 * @example
 * ```ts
 * const code = await execInContainer(ctr, { command: ["id"], env: [], user: "nobody" });
 * ```
 * @module
 */
import { warmCgroupMigration } from "../../sys/cgroup_warmup.ts";
import { join } from "../../util/path.ts";
import { ContainerStateError } from "../../errors.ts";
import type { ExecStdio, RuncExecResult } from "../../oci/runc.ts";
import { type ExecSession, execSessionPaths } from "../../oci/exec_session.ts";
import { readExitRecord } from "../../oci/exitfile.ts";
import type { WindowSize } from "../../sys/socket.ts";
import type { Container } from "../container.ts";
import { mergeEnv, validateEnvFlags } from "../env.ts";
import { canExec } from "../status.ts";
import type { ProcessUser } from "../files.ts";
import { resolveUser } from "../user.ts";
import { normalizeUserSpec } from "../user_spec.ts";
import { syncContainer } from "./sync.ts";

/** The OCI process of the container's `config.json`, or an empty one when it cannot be read. */
function ownProcess(ctr: Container): Record<string, unknown> {
  try {
    const spec = JSON.parse(Deno.readTextFileSync(join(ctr.bundlePath, "config.json")));
    const process: unknown = spec?.process;
    return typeof process === "object" && process !== null && !Array.isArray(process)
      ? process as Record<string, unknown>
      : {};
  } catch {
    return {};
  }
}

/**
 * The whole process for `runc exec --process`: the container's own, with the command, the
 * environment, the working directory and the user (with only the user's own supplementary
 * groups: runc would add `--additional-gids` to the container's) replaced.
 */
function processFor(ctr: Container, options: ExecOptions, user: ProcessUser | undefined) {
  const own = ownProcess(ctr);
  const ownEnv = Array.isArray(own.env) ? own.env.filter((e) => typeof e === "string") : [];
  const ownUser = typeof own.user === "object" && own.user !== null ? own.user : {};
  const gids = user?.additionalGids ?? [];
  return {
    ...own,
    terminal: false,
    args: options.command,
    env: mergeEnv(ownEnv.length > 0 ? ownEnv : ctr.config.env, options.env),
    cwd: options.workdir ?? (typeof own.cwd === "string" ? own.cwd : ctr.config.workdir),
    user: user === undefined ? ownUser : {
      ...ownUser,
      uid: user.uid,
      gid: user.gid,
      ...(gids.length > 0 ? { additionalGids: gids } : { additionalGids: undefined }),
    },
  };
}

/** What to run with {@linkcode execInContainer}. */
export interface ExecOptions {
  /** The command and its arguments. */
  command: string[];
  /** `-e` values: `KEY=VALUE`, or `KEY` for the caller's value. */
  env: string[];
  /** `-w`: the working directory; the container's when absent. */
  workdir?: string;
  /** `-u`: `user[:group]`, names or numbers; the container's user when absent. */
  user?: string;
  /** `-i`: the process reads the caller's stdin (else /dev/null). */
  stdin?: boolean;
  /** `-d`: start it and return at once, exit code 0. */
  detach?: boolean;
  /** Called with the process's host pid once it runs (attached, "inherit" stdio only). */
  onStarted?: (pid: number) => void;
}

/**
 * Runs `options.command` in the running container `ctr` and returns runc's outcome (the
 * process's exit code; its output when `stdio` is "piped"). Throws ContainerStateError unless the
 * container runs, InvalidArgError for a bad `-e` or `-u` (an unknown user or group in the
 * container's own files, with podman's words), CommandNotFoundError (127) and
 * CommandNotInvokableError (126) as runc reports them.
 */
export async function execInContainer(
  ctr: Container,
  options: ExecOptions,
  stdio: ExecStdio = "inherit",
): Promise<RuncExecResult> {
  const user = await checkExec(ctr, options);
  const io = {
    stdin: options.stdin === true,
    detach: options.detach === true,
    onStarted: options.onStarted,
  };
  // runc exec moves the process into the container's cgroup (see sys/cgroup_warmup.ts)
  void warmCgroupMigration();
  if (user !== undefined) {
    return await ctr.ctx.oci.runc.exec(ctr.id, {
      args: options.command,
      process: processFor(ctr, options, user),
      ...io,
    }, stdio);
  }
  return await ctr.ctx.oci.runc.exec(ctr.id, {
    args: options.command,
    env: mergeEnv(ctr.config.env, options.env),
    cwd: options.workdir ?? ctr.config.workdir,
    ...io,
  }, stdio);
}

/** A terminal exec session of a container, held by a monitor (see `oci/exec_session.ts`). */
export interface ContainerExecSession extends ExecSession {
  /** Removes the session's directory (once the process ended and its code was read). */
  remove(): Promise<void>;
}

/**
 * Starts a monitor for `options.command` in the running container `ctr`, with a terminal of
 * `size` (set before it runs): the session's directory `<runDir>/exec/<session id>` holds the
 * process file, and the monitor's attach socket once this resolves. The process runs at
 * `start()`; it outlives the client (detach) because the monitor holds its terminal. Directories
 * of sessions that ended are removed on the way. Checks as {@linkcode execInContainer}.
 */
export async function startExecSession(
  ctr: Container,
  options: ExecOptions,
  size: WindowSize | undefined,
): Promise<ContainerExecSession> {
  const user = await checkExec(ctr, options);
  const process: Record<string, unknown> = { ...processFor(ctr, options, user), terminal: true };
  if (size !== undefined && size.rows > 0 && size.cols > 0) {
    process.consoleSize = { height: size.rows, width: size.cols };
  }
  const sessionsDir = join(ctr.runDir, "exec");
  await removeEndedSessions(sessionsDir, ctr.id);
  const sessionId = randomHex(32);
  const dir = join(sessionsDir, sessionId);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await Deno.writeTextFile(execSessionPaths(dir).processFile, JSON.stringify(process), {
      mode: 0o600,
    });
    const monitor = await ctr.ctx.oci.monitor();
    void warmCgroupMigration();
    const session = await monitor.startExec({
      id: ctr.id,
      name: ctr.config.name,
      sessionId,
      dir,
      runcRoot: ctr.ctx.paths.runcRoot,
      terminal: true,
      stdin: options.stdin === true,
    });
    return { ...session, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Removes the directories of a container's exec sessions whose exit file is written. */
async function removeEndedSessions(sessionsDir: string, id: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(sessionsDir)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(sessionsDir, entry.name);
    if (await readExitRecord(execSessionPaths(dir).exitDir, id).catch(() => null)) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The checks every exec makes; resolves the `-u` user (undefined: the container's own). */
async function checkExec(ctr: Container, options: ExecOptions): Promise<ProcessUser | undefined> {
  validateEnvFlags(options.env);
  const userSpec = options.user === undefined ? undefined : normalizeUserSpec(options.user);
  return await ctr.withLock(async (): Promise<ProcessUser | undefined> => {
    await syncContainer(ctr);
    if (!canExec(ctr.state.status)) {
      throw new ContainerStateError(
        `can only create exec sessions on running containers: container state improper`,
      );
    }
    if (userSpec === undefined) return undefined;
    if (ctr.state.mountpoint === "") {
      throw new ContainerStateError(`container ${ctr.id} has no root filesystem mounted`);
    }
    return resolveUser(ctr.state.mountpoint, userSpec);
  });
}
