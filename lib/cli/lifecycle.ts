/**
 * Running commands: `start`, `run`, `stop`, `kill`, `wait`, `logs`, `exec`, `pause`,
 * `unpause`, `restart`, and the hidden `container cleanup` the monitor calls on exit.
 * Thin: parse flags, load and call the library, print, set the exit status.
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { Command } from "@commander-js/extra-typings";
import { InvalidArgError } from "../errors.ts";
import { isRunning, needsStopToRestart } from "../container/status.ts";
import { parseTimeInput } from "../util/humanize.ts";
import {
  collect,
  exitStatus,
  globalOptions,
  parseWholeNumber,
  println,
  withRuntime,
} from "./common.ts";
import { forEachTarget } from "./containers.ts";
import { createOptionsFrom, withCreateFlags } from "./container_flags.ts";

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

/** Registers the running commands on `program`. */
export function registerLifecycleCommands(program: Command): void {
  withCreateFlags(
    program.command("run").description("create and start a container, attached unless -d")
      .argument("<image>").argument("[command...]").passThroughOptions()
      .option("-d, --detach", "run in the background and print the container ID"),
  ).action(async function (image, command, flags) {
    const { createContainer } = await import("../container/create.ts");
    const { startAndAttach } = await import("./attach.ts");
    await withRuntime(this, async (runtime) => {
      const ctr = await createContainer(runtime, createOptionsFrom(flags, image, command));
      const code = await startAndAttach(runtime, ctr, !flags.detach, flags.rm === true);
      if (code === undefined) println(ctr.id);
      else exitStatus.code = code;
    });
  });

  program.command("start").description("start containers")
    .argument("<names...>")
    .option("-a, --attach", "attach to the container's output and return its exit code")
    .action(async function (names, flags) {
      const { startAndAttach, startDetached } = await import("./attach.ts");
      await withRuntime(this, async (runtime) => {
        if (flags.attach) {
          if (names.length !== 1) {
            throw new InvalidArgError("you cannot start and attach multiple containers at once");
          }
          const ctr = runtime.lookupContainer(names[0]);
          exitStatus.code = (await startAndAttach(runtime, ctr, true, ctr.config.autoRemove)) ?? 0;
          return;
        }
        await forEachTarget(names, async (name) => {
          await startDetached(runtime, runtime.lookupContainer(name));
          println(name);
        });
      });
    });

  program.command("stop").description(
    "stop containers: stop signal, then SIGKILL after the timeout",
  )
    .argument("[names...]")
    .option("-t, --time <seconds>", "seconds to wait before SIGKILL", parseWholeNumber("--time"))
    .option("-a, --all", "stop all running containers")
    .action(async function (names, flags) {
      const { stopContainer } = await import("../container/lifecycle/stop.ts");
      await withRuntime(this, async (runtime) => {
        const targets = flags.all
          ? runtime.allContainers().filter((c) => isRunning(c.state.status)).map((c) => c.id)
          : names;
        if (targets.length === 0 && !flags.all) {
          throw new InvalidArgError("you must provide at least one name or id");
        }
        await forEachTarget(targets, async (name) => {
          await stopContainer(runtime.lookupContainer(name), { timeout: flags.time });
          println(name);
        });
      });
    });

  program.command("kill").description("send a signal to running containers")
    .argument("<names...>")
    .option("-s, --signal <signal>", "signal to send", "KILL")
    .action(async function (names, flags) {
      const { parseSignal } = await import("../util/signals.ts");
      const { killContainer } = await import("../container/lifecycle/stop.ts");
      await withRuntime(this, async (runtime) => {
        const signal = parseSignal(flags.signal);
        await forEachTarget(names, async (name) => {
          await killContainer(runtime.lookupContainer(name), signal);
          println(name);
        });
      });
    });

  program.command("wait").description("wait for containers to exit and print their exit codes")
    .argument("<names...>")
    .action(async function (names) {
      const { waitForContainer } = await import("../container/lifecycle/wait.ts");
      await withRuntime(this, async (runtime) => {
        await forEachTarget(names, async (name) => {
          println(String(await waitForContainer(runtime, name)));
        });
      });
    });

  program.command("logs").description("show a container's output")
    .argument("<name>")
    .option("-f, --follow", "keep following the output while the container runs")
    .option("-t, --timestamps", "show timestamps")
    .option(
      "--since <time>",
      "show output since a time (RFC 3339, unix seconds, or a duration like 10m)",
    )
    .option("--tail <n>", "show only the last n lines", parseWholeNumber("--tail"))
    .action(async function (name, flags) {
      const { readLogs } = await import("../container/logs.ts");
      const { stillRunning } = await import("./attach.ts");
      await withRuntime(this, async (runtime) => {
        const ctr = runtime.lookupContainer(name);
        const since = flags.since === undefined
          ? undefined
          : parseTimeInput(flags.since, clockNow());
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
    });

  program.command("exec").description("run a command in a running container")
    .argument("<name>").argument("<command...>").passThroughOptions()
    .option("-e, --env <KEY=VALUE>", "set an environment variable", collect, [] as string[])
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user[:group] to run as")
    .action(async function (name, command, flags) {
      const { execInContainer } = await import("../container/lifecycle/exec.ts");
      await withRuntime(this, async (runtime) => {
        const ctr = runtime.lookupContainer(name);
        const options = { command, env: flags.env, workdir: flags.workdir, user: flags.user };
        exitStatus.code = (await execInContainer(ctr, options, "inherit")).exitCode;
      });
    });

  program.command("pause").description("pause running containers")
    .argument("<names...>")
    .action(async function (names) {
      const { pauseContainer } = await import("../container/lifecycle/stop.ts");
      await withRuntime(this, async (runtime) => {
        await forEachTarget(names, async (name) => {
          await pauseContainer(runtime.lookupContainer(name));
          println(name);
        });
      });
    });

  program.command("unpause").description("unpause paused containers")
    .argument("<names...>")
    .action(async function (names) {
      const { unpauseContainer } = await import("../container/lifecycle/stop.ts");
      await withRuntime(this, async (runtime) => {
        await forEachTarget(names, async (name) => {
          await unpauseContainer(runtime.lookupContainer(name));
          println(name);
        });
      });
    });

  program.command("restart").description("stop, then start containers")
    .argument("<names...>")
    .option("-t, --time <seconds>", "seconds to wait before SIGKILL", parseWholeNumber("--time"))
    .action(async function (names, flags) {
      const { stopContainer } = await import("../container/lifecycle/stop.ts");
      const { startDetached } = await import("./attach.ts");
      await withRuntime(this, async (runtime) => {
        await forEachTarget(names, async (name) => {
          const ctr = runtime.lookupContainer(name);
          if (needsStopToRestart(ctr.state.status)) {
            await stopContainer(ctr, { timeout: flags.time });
          }
          await startDetached(runtime, ctr);
          println(name);
        });
      });
    });

  const cleanup = new Command("cleanup")
    .description("finish an exited container (run by its monitor)")
    .argument("<id>")
    .action(async function (id) {
      // Runs late, from a monitor: when the roots are gone (deleted, or never there), there is
      // nothing to finish, and opening the runtime would create them anew.
      const { resolveRoots } = await import("../runtime.ts");
      const { Paths } = await import("../paths.ts");
      const { cleanupContainer } = await import("../container/lifecycle/cleanup.ts");
      const global = globalOptions(this);
      const { root, runRoot } = resolveRoots({ root: global.root, runRoot: global.runroot });
      if (!(await exists(new Paths(root, runRoot).stateDb))) return;
      await withRuntime(this, (runtime) => cleanupContainer(runtime, id));
    });
  program.command("container").description("manage containers")
    .addCommand(cleanup, { hidden: true });
}
