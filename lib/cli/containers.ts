/**
 * Container commands of the storage half: `create`, `ps`, `inspect`, `mount`, `umount`,
 * `export`, `rm`. Thin: parse flags, load and call the library, print.
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { Command, Option } from "@commander-js/extra-typings";
import {
  ContainerRemovedError,
  DenopodError,
  InvalidArgError,
  NoSuchContainerError,
} from "../errors.ts";
import { CONTAINER_STATUSES, type ContainerStatus, statusName } from "../container/status.ts";
import type { Container } from "../container/container.ts";
import type { Runtime } from "../runtime.ts";
import { collect, eprintln, exitStatus, parseWholeNumber, println, withRuntime } from "./common.ts";
import { createOptionsFrom, withCreateFlags } from "./container_flags.ts";

/** Runs `fn` for each name, printing podman-style errors for the ones that fail. */
export async function forEachTarget(
  names: string[],
  fn: (name: string) => Promise<void>,
): Promise<void> {
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      if (!(err instanceof DenopodError)) throw err;
      eprintln(`Error: ${err.message}`);
      exitStatus.code = err.exitCode;
    }
  }
}

const PS_HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedHuman: "CREATED",
  RunningFor: "CREATED",
  Status: "STATUS",
  Ports: "PORTS",
  Names: "NAMES",
  Size: "SIZE",
  State: "STATE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  Pid: "PID",
  ExitCode: "EXIT CODE",
};

const PS_DEFAULT =
  "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

interface PsFilter {
  matches(ctr: Container): boolean;
}

/** Parses `ps --filter KEY=VALUE` (name, id, status, label). */
export function parsePsFilter(spec: string): PsFilter {
  const eq = spec.indexOf("=");
  if (eq < 0) throw new InvalidArgError(`invalid filter "${spec}": must be KEY=VALUE`);
  const key = spec.slice(0, eq);
  const value = spec.slice(eq + 1);
  switch (key) {
    case "name": {
      let pattern: RegExp;
      try {
        pattern = new RegExp(value);
      } catch {
        throw new InvalidArgError(`invalid filter "${spec}": bad regular expression`);
      }
      return { matches: (c) => pattern.test(c.name) };
    }
    case "id":
      return { matches: (c) => c.id.startsWith(value) };
    case "status": {
      if (!CONTAINER_STATUSES.includes(value as ContainerStatus)) {
        throw new InvalidArgError(
          `invalid filter "${spec}": status must be one of ${CONTAINER_STATUSES.join(", ")}`,
        );
      }
      return {
        matches: (c) => statusName(c.state.status) === statusName(value as ContainerStatus),
      };
    }
    case "label": {
      const leq = value.indexOf("=");
      const labelKey = leq < 0 ? value : value.slice(0, leq);
      return {
        matches: (c) =>
          labelKey in c.config.labels &&
          (leq < 0 || c.config.labels[labelKey] === value.slice(leq + 1)),
      };
    }
  }
  throw new InvalidArgError(
    `invalid filter "${key}": supported filters are name, id, status, label`,
  );
}

function lookupAll(runtime: Runtime, names: string[], all: boolean, latest = false): Container[] {
  if (all) return runtime.allContainers();
  if (latest) {
    const newest = runtime.allContainers()[0];
    if (!newest) throw new NoSuchContainerError("latest");
    return [newest];
  }
  return names.map((n) => runtime.lookupContainer(n));
}

/** Registers the commands of this module on `program`. */
export function registerContainerCommands(program: Command): void {
  withCreateFlags(
    program.command("create").description("create a container without starting it")
      .argument("<image>").argument("[command...]").passThroughOptions(),
  ).action(async function (image, command, flags) {
    const { createContainer } = await import("../container/create.ts");
    await withRuntime(this, async (runtime) => {
      const ctr = await createContainer(runtime, createOptionsFrom(flags, image, command));
      println(ctr.id);
    });
  });

  program.command("ps").description("list containers")
    .option("-a, --all", "show all containers, not only running ones")
    .option("-q, --quiet", "print only the IDs")
    .option("-s, --size", "show the containers' sizes")
    .option("--no-trunc", "do not truncate output")
    .option("-l, --latest", "show the newest container")
    .option("-n, --last <n>", "show the n newest containers", Number)
    .option(
      "-f, --filter <key=value>",
      "filter: name=, id=, status=, label=",
      collect,
      [] as string[],
    )
    .option("--format <format>", "json, or a Go template")
    .action(async function (flags) {
      const { syncForDisplay } = await import("../container/lifecycle/sync.ts");
      const { psRow } = await import("../container/inspect.ts");
      const { printRows } = await import("./output.ts");
      await withRuntime(this, async (runtime) => {
        const filters = flags.filter.map(parsePsFilter);
        let ctrs: Container[] = [];
        for (const ctr of runtime.allContainers()) {
          if (await syncForDisplay(ctr)) ctrs.push(ctr);
        }
        if (!flags.all && filters.length === 0 && !flags.latest && flags.last === undefined) {
          ctrs = ctrs.filter((c) => c.state.status === "running" || c.state.status === "stopping");
        }
        ctrs = ctrs.filter((c) => filters.every((f) => f.matches(c)));
        if (flags.latest) ctrs = ctrs.slice(0, 1);
        if (flags.last !== undefined) ctrs = ctrs.slice(0, flags.last);
        const now = clockNow();
        const rows = ctrs.map((c) =>
          psRow(c, { noTrunc: flags.trunc === false, size: flags.size === true, now })
        );
        if (flags.quiet) {
          for (const row of rows) println(row.ID);
          return;
        }
        const defaultTable = flags.size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
        printRows(rows, flags.format, defaultTable, PS_HEADERS);
      });
    });

  program.command("inspect").alias("container-inspect").description(
    "show details of containers or images, as a JSON array",
  )
    .argument("<names...>")
    .option("-f, --format <format>", "json, or a Go template")
    .option("-s, --size", "show the container's sizes")
    .addOption(new Option("-t, --type <type>", "container, image or all").default("all"))
    .action(async function (names, flags) {
      const { syncForDisplay } = await import("../container/lifecycle/sync.ts");
      const { containerInspect } = await import("../container/inspect.ts");
      const { imageInspect } = await import("../image/inspect.ts");
      const { printInspect } = await import("./output.ts");
      await withRuntime(this, async (runtime) => {
        const found: object[] = [];
        let failure: DenopodError | undefined;
        for (const name of names) {
          const ctr = flags.type === "image" ? undefined : runtime.containers.find(name);
          if (ctr) {
            const container = runtime.lookupContainer(ctr.config.id);
            if (await syncForDisplay(container)) {
              found.push(containerInspect(container, { size: flags.size === true }));
              continue;
            }
          }
          const image = flags.type === "container" ? undefined : runtime.images.find(name);
          if (image) {
            found.push(imageInspect(runtime, image));
            continue;
          }
          failure = flags.type === "container"
            ? new NoSuchContainerError(name)
            : new InvalidArgError(`no such object: "${name}"`);
        }
        printInspect(found, flags.format);
        if (failure) throw failure;
      });
    });

  program.command("mount").description("mount containers' root filesystems and print where")
    .argument("[names...]")
    .option("--no-trunc", "print full container IDs when listing")
    .action(async function (names, flags) {
      await withRuntime(this, async (runtime) => {
        if (names.length === 0) {
          for (const ctr of runtime.allContainers()) {
            if (!ctr.state.mounted) continue;
            const id = flags.trunc === false ? ctr.id : ctr.id.slice(0, 12);
            println(`${id}  ${ctr.state.mountpoint}`);
          }
          return;
        }
        await forEachTarget(names, async (name) => {
          const ctr = runtime.lookupContainer(name);
          println(await ctr.withLock(() => ctr.mount()));
        });
      });
    });

  program.command("umount").alias("unmount").description("unmount containers' root filesystems")
    .argument("[names...]")
    .option("-a, --all", "unmount all containers")
    .option("-f, --force", "unmount even when other users hold a mount")
    .action(async function (names, flags) {
      await withRuntime(this, async (runtime) => {
        if (names.length === 0 && !flags.all) {
          throw new InvalidArgError("you must provide at least one container name or ID");
        }
        const targets = flags.all
          ? runtime.allContainers().filter((c) => c.state.mounted).map((c) => c.id)
          : names;
        await forEachTarget(targets, async (name) => {
          const ctr = runtime.lookupContainer(name);
          await ctr.withLock(() => ctr.unmount(flags.force === true));
          println(flags.all ? ctr.id : name);
        });
      });
    });

  program.command("export").description("export a container's filesystem as a tar archive")
    .argument("<name>")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .action(async function (name, flags) {
      const { exportContainer } = await import("../container/export.ts");
      const { progressReporter } = await import("./progress.ts");
      await withRuntime(this, async (runtime) => {
        const ctr = runtime.lookupContainer(name);
        if (flags.output === undefined && Deno.stdout.isTerminal()) {
          throw new InvalidArgError("refusing to export to terminal. Use -o flag or redirect");
        }
        const progress = flags.output ? await progressReporter("Exporting") : undefined;
        try {
          await exportContainer(ctr, { path: flags.output, onProgress: progress?.update });
        } finally {
          progress?.stop();
        }
      });
    });

  program.command("rm").description("remove containers")
    .argument("[names...]")
    .option("-f, --force", "stop running containers and remove them too")
    .option("-a, --all", "remove all containers")
    .option("-i, --ignore", "ignore errors when a container does not exist")
    .option("-v, --volumes", "remove the containers' anonymous volumes")
    .option(
      "-t, --time <seconds>",
      "with -f, seconds to wait after the stop signal before SIGKILL",
      parseWholeNumber("--time"),
    )
    .action(async function (names, flags) {
      const { removeContainer } = await import("../container/remove.ts");
      await withRuntime(this, async (runtime) => {
        if (names.length === 0 && !flags.all) {
          throw new InvalidArgError("you must provide at least one name or id");
        }
        if (flags.time !== undefined && !flags.force) {
          throw new InvalidArgError("--force option must be specified to use the --time option");
        }
        const targets = flags.all ? lookupAll(runtime, [], true).map((c) => c.id) : names;
        await forEachTarget(targets, async (name) => {
          let ctr: Container;
          try {
            ctr = runtime.lookupContainer(name);
          } catch (err) {
            if (flags.ignore && err instanceof NoSuchContainerError) return;
            throw err;
          }
          try {
            await removeContainer(ctr, {
              force: flags.force === true,
              timeout: flags.time,
              volumes: flags.volumes === true,
            });
          } catch (err) {
            // another process removed it between our lookup and our lock
            if (!(err instanceof ContainerRemovedError)) throw err;
            if (flags.ignore) return;
            throw new NoSuchContainerError(name, { cause: err });
          }
          println(name);
        });
      });
    });
}
