/**
 * The cron jobs' commands: `container prune`, `image prune`, `system prune`, `system df`,
 * `system reset`, `system metrics`; the `container` group (podman's aliases of the top-level
 * container commands, and `container exists`) and `image exists`/`image prune`. Thin: parse
 * flags, ask (podman's prompts, unless `-f`), call lib/housekeeping, print.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { now as clockNow } from "../util/clock.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { collect, eprintln, exitStatus, println, withRuntime, writeOut } from "./common.ts";
import { registerContainerCommands } from "./containers.ts";
import { registerLifecycleCommands } from "./lifecycle.ts";

/** The answer to a prompt could not be read: stdin ended first (podman: `Error: EOF`). */
export class PromptEofError extends DenopodError {
  constructor(exitCode = 125) {
    super("EOF");
    this.exitCode = exitCode;
  }
}

/**
 * Prints `warning` and podman's `Are you sure you want to continue? [y/N] `, then reads one line
 * of stdin: true for an answer starting with y, false for anything else; PromptEofError when
 * stdin ends before a line (as podman does without a terminal).
 */
export async function confirm(warning: string, eofExitCode = 125): Promise<boolean> {
  writeOut(`${warning}\nAre you sure you want to continue? [y/N] `);
  const buffer = new Uint8Array(256);
  let answer = "";
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) {
      if (answer === "") throw new PromptEofError(eofExitCode);
      break;
    }
    answer += new TextDecoder().decode(buffer.subarray(0, n));
    if (answer.includes("\n")) break;
  }
  return /^\s*y/i.test(answer);
}

const CONTAINER_PRUNE_WARNING = "WARNING! This will remove all non running containers.";

function imagePruneWarning(all: boolean): string {
  return all
    ? "WARNING! This command removes all images without at least one container associated with them."
    : "WARNING! This command removes all dangling images.";
}

function systemPruneWarning(all: boolean, volumes: boolean): string {
  return [
    "WARNING! This command removes:",
    "\t- all stopped containers",
    ...(volumes
      ? ["\t- all volumes not used by at least one container (denopod has none yet)"]
      : []),
    all
      ? "\t- all images without at least one container associated with them"
      : "\t- all dangling images",
    "\t- all layer directories an interrupted image removal left behind",
    "",
  ].join("\n");
}

const PRUNE_FILTER_HELP = "until=DURATION|TIME, label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)";

/** Adds `prune` (containers) to `group`. */
function addContainerPrune(group: Command): void {
  group.command("prune").description("remove all containers that are not running")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--filter <key=value>", PRUNE_FILTER_HELP, collect, [] as string[])
    .action(async function (flags) {
      const { parsePruneFilters, pruneContainers, recordPrune } = await import(
        "../housekeeping/prune.ts"
      );
      const filter = parsePruneFilters(flags.filter, clockNow());
      if (!flags.force && !(await confirm(CONTAINER_PRUNE_WARNING))) return;
      await withRuntime(this, async (runtime) => {
        const { removed } = await pruneContainers(runtime, filter);
        recordPrune(runtime, "container");
        for (const item of removed) println(item.id);
      });
    });
}

/** Adds `prune` and `exists` to the `image` group. */
function addImageCommands(image: Command): void {
  image.command("prune").description("remove dangling images (-a: every image no container uses)")
    .option("-a, --all", "remove every image no container uses, not only dangling ones")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--filter <key=value>", PRUNE_FILTER_HELP, collect, [] as string[])
    .action(async function (flags) {
      const { parsePruneFilters, pruneImages, recordPrune } = await import(
        "../housekeeping/prune.ts"
      );
      const filter = parsePruneFilters(flags.filter, clockNow());
      if (!flags.force && !(await confirm(imagePruneWarning(flags.all === true)))) return;
      await withRuntime(this, async (runtime) => {
        const removed = await pruneImages(runtime, { all: flags.all === true, filter });
        recordPrune(runtime, "image");
        for (const item of removed) println(item.id);
      });
    });

  image.command("exists").description("exit 0 when the image exists, 1 when it does not")
    .argument("<image>")
    .action(async function (reference) {
      await withRuntime(this, (runtime) => {
        if (!runtime.images.find(reference)) exitStatus.code = 1;
      });
    });
}

/** Adds `prune`, `df`, `reset` and `metrics` to the `system` group. */
function addSystemCommands(system: Command): void {
  system.command("prune").description("remove unused containers and images, and leftovers")
    .option("-a, --all", "remove every image no container uses, not only dangling ones")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--volumes", "prune volumes too (denopod has no volumes yet: nothing to remove)")
    .option("--filter <key=value>", PRUNE_FILTER_HELP, collect, [] as string[])
    .action(async function (flags) {
      const { parsePruneFilters, pruneContainers, pruneImages, pruneLeftovers, recordPrune } =
        await import("../housekeeping/prune.ts");
      const { humanSize } = await import("../util/humanize.ts");
      const filter = parsePruneFilters(flags.filter, clockNow());
      const all = flags.all === true;
      if (!flags.force && !(await confirm(systemPruneWarning(all, flags.volumes === true)))) {
        return;
      }
      await withRuntime(this, async (runtime) => {
        const containers = await pruneContainers(runtime, filter);
        const images = await pruneImages(runtime, { all, filter });
        const leftovers = await pruneLeftovers(runtime);
        recordPrune(runtime, "system");
        if (containers.removed.length > 0) {
          println("Deleted Containers");
          for (const item of containers.removed) println(item.id);
        }
        if (images.length > 0) {
          println("Deleted Images");
          for (const item of images) println(item.id);
        }
        const total = [...containers.removed, ...images].reduce((n, i) => n + i.size, leftovers);
        println(`Total reclaimed space: ${humanSize(total)}`);
      });
    });

  system.command("df").description("show disk usage of images, containers and volumes")
    .option("-v, --verbose", "show every image and container")
    .option("--format <format>", "json, or a Go template")
    .action(async function (flags) {
      if (flags.verbose && flags.format !== undefined) {
        throw new InvalidArgError("cannot combine --format and --verbose flags");
      }
      const df = await import("../housekeeping/df.ts");
      const { formatTable } = await import("../util/template.ts");
      await withRuntime(this, (runtime) => {
        const usage = df.diskUsage(runtime);
        if (flags.verbose) {
          const now = clockNow();
          writeOut("Images space usage:\n\n");
          writeOut(formatTable(
            "table {{.Repository}}\t{{.Tag}}\t{{.ImageID}}\t{{.Created}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
            df.imageRowsVerbose(usage, now),
            { ImageID: "IMAGE ID", SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE" },
          ));
          writeOut("\nContainers space usage:\n\n");
          writeOut(formatTable(
            "table {{.ContainerID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.RWSize}}\t{{.Created}}\t{{.Status}}\t{{.Names}}",
            df.containerRowsVerbose(usage, now),
            { ContainerID: "CONTAINER ID", LocalVolumes: "LOCAL VOLUMES", RWSize: "SIZE" },
          ));
          writeOut("\nLocal Volumes space usage:\n\n");
          writeOut(formatTable("table {{.VolumeName}}\t{{.Links}}\t{{.Size}}", [], {
            VolumeName: "VOLUME NAME",
          }));
          return;
        }
        const rows = df.summaryRows(usage);
        if (flags.format === "json") return println(JSON.stringify(rows, null, 4));
        writeOut(formatTable(
          flags.format ??
            "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
          rows,
          { Size: "SIZE", Reclaimable: "RECLAIMABLE" },
        ));
      });
    });

  system.command("reset").description(
    "remove every container (stopping running ones), image and layer: an empty store",
  )
    .option("-f, --force", "do not prompt for confirmation")
    .action(async function (flags) {
      const { resetStore } = await import("../housekeeping/reset.ts");
      await withRuntime(this, async (runtime) => {
        if (!flags.force) {
          const warning = [
            "WARNING! This will remove:",
            "        - all containers",
            "        - all images",
            `        - the graphRoot directory: "${runtime.paths.root}"`,
            `        - the runRoot directory: "${runtime.paths.runRoot}"`,
          ].join("\n");
          if (!(await confirm(warning, 1))) return;
        }
        const { busy } = await resetStore(runtime, { lockWaitMs: 10_000 });
        for (const id of busy) {
          eprintln(`Error: container ${id} is in use by another process: not removed`);
          exitStatus.code = 125;
        }
      });
    });

  system.command("metrics").description(
    "print the store's figures in the Prometheus text format (0.0.4)",
  )
    .option(
      "--textfile <path>",
      "write them to PATH atomically (node_exporter's textfile collector)",
    )
    .action(async function (flags) {
      const { collectMetrics, renderMetrics, writeTextfile } = await import("../events/metrics.ts");
      await withRuntime(this, async (runtime) => {
        const text = renderMetrics(collectMetrics(runtime));
        if (flags.textfile === undefined) return writeOut(text);
        await writeTextfile(flags.textfile, text);
      });
    });
}

/** Fills the `container` group with podman's aliases of the container commands. */
function fillContainerGroup(group: Command): void {
  registerContainerCommands(group);
  registerLifecycleCommands(group);
  // registerLifecycleCommands adds its own `container` group (for `cleanup`): not inside this one
  const nested = group.commands.findIndex((c) => c.name() === "container");
  if (nested >= 0) (group.commands as Command[]).splice(nested, 1);
  for (const sub of group.commands) {
    if (sub.name() === "ps") sub.aliases(["ls", "list"]);
    // `container inspect` looks at containers only
    if (sub.name() === "inspect") {
      sub.description("show details of containers, as a JSON array")
        .setOptionValueWithSource("type", "container", "default");
    }
  }
  addContainerPrune(group);
  group.command("exists").description("exit 0 when the container exists, 1 when it does not")
    .argument("<container>")
    .action(async function (name) {
      await withRuntime(this, (runtime) => {
        if (!runtime.containers.find(name)) exitStatus.code = 1;
      });
    });
}

function group(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`the ${name} command group must be registered first`);
  return found as unknown as Command;
}

/**
 * Registers the housekeeping commands on the `container`, `image` and `system` groups (which
 * must exist: call after the other register functions).
 */
export function registerHousekeepingCommands(program: Command): void {
  fillContainerGroup(group(program, "container"));
  addImageCommands(group(program, "image"));
  addSystemCommands(group(program, "system"));
}
