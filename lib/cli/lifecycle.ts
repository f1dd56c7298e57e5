/**
 * Running commands: `start`, `run`, `attach`, `stop`, `kill`, `wait`, `logs`, `exec`, `pause`,
 * `unpause`, `restart`, and the hidden `container cleanup` the monitor calls on exit.
 * Thin: parse flags, load and call the library, print, set the exit status.
 *
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { InvalidArgError } from "../errors.ts";
import { isRunning, needsStopToRestart } from "../container/status.ts";
import { parseTimeInput } from "../util/humanize.ts";
import { exitStatus, globalOptions, println, withRuntime } from "./common.ts";
import { forEachTarget } from "./containers.ts";
import { containerEvent, recordEvent } from "../events/journal.ts";
import type { CreateFlagValues } from "./container_flags.ts";
import type { Invocation } from "./table/spec.ts";
import { DEFAULT_DETACH_KEYS } from "../util/detach_keys.ts";

/** True when `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The flags of the commands that attach (`run`, `start -a`, `attach`). */
interface AttachFlagValues {
  detachKeys?: string;
  sigProxy?: boolean;
}

/** `run IMAGE [COMMAND...]`: attached unless `-d`; exits with the container's code. */
export async function run(
  this: Invocation,
  image: string,
  command: string[],
  flags: CreateFlagValues & AttachFlagValues & { detach?: boolean },
) {
  const { startAndAttach } = await import("./attach.ts");
  const { warnWhenNotATerminal } = await import("./terminal.ts");
  const { createFromFlags } = await import("./cidfile.ts");
  await withRuntime(this, async (runtime) => {
    const ctr = await createFromFlags(runtime, flags, image, command, true);
    if (!flags.detach) warnWhenNotATerminal(flags.tty === true);
    const code = await startAndAttach(runtime, ctr, !flags.detach, flags.rm === true, {
      interactive: flags.interactive === true,
      detachKeys: flags.detachKeys ?? DEFAULT_DETACH_KEYS,
      sigProxy: flags.sigProxy !== false,
    });
    if (code === undefined) println(ctr.id);
    else if (code !== "detached") exitStatus.code = code;
  });
}

/**
 * `attach NAME`: its terminal, or its output (and stdin when it keeps one open). It exits 0 when
 * the container exits, whatever the container's code, as podman 4.3.1's `attach` does (measured:
 * `exit 4` typed into an attached shell, `attach` of `sh -c 'exit 5'`: both exit 0); `wait` and
 * `inspect` give the code.
 */
export async function attach(
  this: Invocation,
  name: string,
  flags: AttachFlagValues & { stdin?: boolean },
) {
  const { attachToRunning } = await import("./attach.ts");
  await withRuntime(this, async (runtime) => {
    const ctr = runtime.lookupContainer(name);
    await attachToRunning(runtime, ctr, {
      interactive: flags.stdin !== false && ctr.config.stdin === true,
      detachKeys: flags.detachKeys ?? DEFAULT_DETACH_KEYS,
      sigProxy: flags.sigProxy !== false,
    });
  });
}

/**
 * `start NAME...`; `-a` attaches to one and returns its exit code (`-i`: its stdin too);
 * `--all` and `--filter` start every container that matches (podman-restart.service's
 * `start --all --filter restart-policy=always`), printing their IDs.
 */
export async function start(
  this: Invocation,
  names: string[],
  flags: AttachFlagValues & {
    attach?: boolean;
    interactive?: boolean;
    all?: boolean;
    filter?: string[];
  },
) {
  const { startAndAttach, startDetached } = await import("./attach.ts");
  const filters = flags.filter ?? [];
  if (names.length === 0 && !flags.all && filters.length === 0) {
    throw new InvalidArgError("start requires at least one argument");
  }
  if (names.length > 0 && flags.all) {
    throw new InvalidArgError(
      "either start all containers or the container(s) provided in the arguments",
    );
  }
  if (flags.attach && flags.all) {
    throw new InvalidArgError("you cannot start and attach all containers at once");
  }
  await withRuntime(this, async (runtime) => {
    if (flags.all || filters.length > 0) {
      const { containerFilter } = await import("../container/filters.ts");
      const { filterView } = await import("../container/ps.ts");
      const keep = containerFilter(filters, {
        now: clockNow(),
        created: (name) => runtime.lookupContainer(name).config.created,
      });
      const named = new Set(names.map((name) => runtime.lookupContainer(name).id));
      const targets = runtime.allContainers().filter((c) =>
        (flags.all || named.size === 0 || named.has(c.id)) && keep(filterView(c))
      ).map((c) => c.id);
      await forEachTarget(targets, async (id) => {
        await startDetached(runtime, runtime.lookupContainer(id));
        println(id);
      });
      return;
    }
    if (flags.attach) {
      if (names.length !== 1) {
        throw new InvalidArgError("you cannot start and attach multiple containers at once");
      }
      const ctr = runtime.lookupContainer(names[0]);
      const code = await startAndAttach(runtime, ctr, true, ctr.config.autoRemove, {
        interactive: flags.interactive === true && ctr.config.stdin === true,
        detachKeys: flags.detachKeys ?? DEFAULT_DETACH_KEYS,
        sigProxy: flags.sigProxy !== false,
      });
      exitStatus.code = typeof code === "number" ? code : 0;
      return;
    }
    await forEachTarget(names, async (name) => {
      await startDetached(runtime, runtime.lookupContainer(name));
      println(name);
    });
  });
}

/** `stop NAME...`: the stop signal, then SIGKILL after the timeout. */
export async function stop(
  this: Invocation,
  names: string[],
  flags: { time?: number; all?: boolean; ignore?: boolean; cidfile?: string[] },
) {
  const { stopContainer } = await import("../container/lifecycle/stop.ts");
  const { readCidfiles } = await import("./cidfile.ts");
  const { ContainerRemovedError, NoSuchContainerError } = await import("../errors.ts");
  await withRuntime(this, async (runtime) => {
    const cidfiles = flags.cidfile ?? [];
    const named = [...names, ...await readCidfiles(cidfiles, flags.ignore === true)];
    const targets = flags.all
      ? runtime.allContainers().filter((c) => isRunning(c.state.status)).map((c) => c.id)
      : named;
    if (targets.length === 0 && !flags.all && cidfiles.length === 0) {
      throw new InvalidArgError("you must provide at least one name or id");
    }
    await forEachTarget(targets, async (name) => {
      try {
        await stopContainer(runtime.lookupContainer(name), { timeout: flags.time });
      } catch (err) {
        const gone = err instanceof NoSuchContainerError || err instanceof ContainerRemovedError;
        if (flags.ignore && gone) return;
        throw err;
      }
      println(name);
    });
  });
}

/** `kill NAME...`. */
export async function kill(this: Invocation, names: string[], flags: { signal: string }) {
  const { parseSignal } = await import("../util/signals.ts");
  const { killContainer } = await import("../container/lifecycle/stop.ts");
  await withRuntime(this, async (runtime) => {
    const signal = parseSignal(flags.signal);
    await forEachTarget(names, async (name) => {
      await killContainer(runtime.lookupContainer(name), signal);
      println(name);
    });
  });
}

/** `wait NAME...`: prints each exit code. */
export async function wait(this: Invocation, names: string[]) {
  const { waitForContainer } = await import("../container/lifecycle/wait.ts");
  await withRuntime(this, async (runtime) => {
    await forEachTarget(names, async (name) => {
      println(String(await waitForContainer(runtime, name)));
    });
  });
}

/** `logs` flags. */
export interface LogsFlags {
  follow?: boolean;
  timestamps?: boolean;
  since?: string;
  tail?: number;
}

/** `logs NAME`. */
export async function logs(this: Invocation, name: string, flags: LogsFlags) {
  const { readLogs } = await import("../container/logs.ts");
  const { stillRunning } = await import("./attach.ts");
  await withRuntime(this, async (runtime) => {
    const ctr = runtime.lookupContainer(name);
    const since = flags.since === undefined ? undefined : parseTimeInput(flags.since, clockNow());
    await readLogs(
      runtime.paths.logPath(ctr.id),
      {
        follow: flags.follow === true,
        timestamps: flags.timestamps === true,
        since,
        tail: flags.tail,
      },
      { stdout: Deno.stdout, stderr: Deno.stderr },
      () => stillRunning(runtime, ctr),
    );
  });
}

/** `exec NAME COMMAND...`: exits with the command's code. */
export async function exec(
  this: Invocation,
  name: string,
  command: string[],
  flags: {
    env: string[];
    workdir?: string;
    user?: string;
    interactive?: boolean;
    tty?: boolean;
    detach?: boolean;
    detachKeys?: string;
  },
) {
  const { execInContainerCli } = await import("./exec.ts");
  const { warnWhenNotATerminal } = await import("./terminal.ts");
  await withRuntime(this, async (runtime) => {
    if (!flags.detach) warnWhenNotATerminal(flags.tty === true);
    exitStatus.code = await execInContainerCli(runtime, name, command, {
      env: flags.env,
      workdir: flags.workdir,
      user: flags.user,
      interactive: flags.interactive === true,
      tty: flags.tty === true,
      detach: flags.detach === true,
      detachKeys: flags.detachKeys ?? DEFAULT_DETACH_KEYS,
    }, (ctr) => recordEvent(runtime.db, containerEvent(ctr, "exec")));
  });
}

/** `pause NAME...`. */
export async function pause(this: Invocation, names: string[]) {
  const { pauseContainer } = await import("../container/lifecycle/stop.ts");
  await withRuntime(this, async (runtime) => {
    await forEachTarget(names, async (name) => {
      await pauseContainer(runtime.lookupContainer(name));
      println(name);
    });
  });
}

/** `unpause NAME...`. */
export async function unpause(this: Invocation, names: string[]) {
  const { unpauseContainer } = await import("../container/lifecycle/stop.ts");
  await withRuntime(this, async (runtime) => {
    await forEachTarget(names, async (name) => {
      await unpauseContainer(runtime.lookupContainer(name));
      println(name);
    });
  });
}

/** `restart NAME...`. */
export async function restart(this: Invocation, names: string[], flags: { time?: number }) {
  const { stopContainer } = await import("../container/lifecycle/stop.ts");
  const { startDetached } = await import("./attach.ts");
  await withRuntime(this, async (runtime) => {
    await forEachTarget(names, async (name) => {
      const ctr = runtime.lookupContainer(name);
      recordEvent(runtime.db, containerEvent(ctr, "restart"));
      if (needsStopToRestart(ctr.state.status)) {
        await stopContainer(ctr, { timeout: flags.time });
      }
      await startDetached(runtime, ctr);
      println(name);
    });
  });
}

/** The hidden `container cleanup ID` the monitor runs when the container exits. */
export async function cleanup(this: Invocation, id: string) {
  // Runs late, from a monitor: when the roots are gone (deleted, or never there), there is
  // nothing to finish, and opening the runtime would create them anew.
  const { resolveRoots } = await import("../runtime.ts");
  const { Paths } = await import("../paths.ts");
  const { cleanupContainer } = await import("../container/lifecycle/cleanup.ts");
  const global = globalOptions(this);
  const { root, runRoot } = resolveRoots({ root: global.root, runRoot: global.runroot });
  if (!(await exists(new Paths(root, runRoot).stateDb))) return;
  await withRuntime(this, async (runtime) => {
    await cleanupContainer(runtime, id);
    // a command killed while this waited for the lock (e.g. `rm -f`, whose stop made the container
    // exit) left an intent that the next command's replay skipped while this held the lock
    await runtime.replayInterrupted();
  });
}
