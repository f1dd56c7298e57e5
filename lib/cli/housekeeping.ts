/**
 * The cron jobs' commands: `container prune`, `image prune`, `system prune`, `system df`,
 * `system reset`, `system metrics` (their flags are in the command table, `commands.ts`). Thin:
 * ask (podman's prompts, unless `-f`), call lib/housekeeping, print.
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { eprintln, exitStatus, println, withRuntime, writeOut } from "./common.ts";
import type { Invocation } from "./table/spec.ts";

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
    ...(volumes ? ["\t- all volumes not used by at least one container"] : []),
    all
      ? "\t- all images without at least one container associated with them"
      : "\t- all dangling images",
    "\t- all layer directories an interrupted image removal left behind",
    "",
  ].join("\n");
}

/** `prune` flags of the `container`, `image` and `system` groups. */
export interface PruneFlags {
  force?: boolean;
  all?: boolean;
  volumes?: boolean;
  filter: string[];
}

/** `container prune`: removes every container that is not running; prints their IDs. */
export async function containerPrune(this: Invocation, flags: PruneFlags) {
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
}

/** `image prune`: removes dangling images (`-a`: every image no container uses). */
export async function imagePrune(this: Invocation, flags: PruneFlags) {
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
}

/** `system prune`: containers, then images, then leftovers; podman's sections and total. */
export async function systemPrune(this: Invocation, flags: PruneFlags) {
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
    const volumes = flags.volumes
      ? await (await import("../container/volume_remove.ts")).pruneVolumes(runtime)
      : [];
    const images = await pruneImages(runtime, { all, filter });
    const leftovers = await pruneLeftovers(runtime);
    recordPrune(runtime, "system");
    if (containers.removed.length > 0) {
      println("Deleted Containers");
      for (const item of containers.removed) println(item.id);
    }
    if (volumes.length > 0) {
      println("Deleted Volumes");
      for (const item of volumes) println(item.name);
    }
    if (images.length > 0) {
      println("Deleted Images");
      for (const item of images) println(item.id);
    }
    const total = [...containers.removed, ...images, ...volumes].reduce(
      (n, i) => n + i.size,
      leftovers,
    );
    println(`Total reclaimed space: ${humanSize(total)}`);
  });
}

/** `system df` flags. */
export interface DfFlags {
  verbose?: boolean;
  format?: string;
}

/** `system df`: disk usage of images, containers and volumes, from kept sizes. */
export async function systemDf(this: Invocation, flags: DfFlags) {
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
      writeOut(
        formatTable("table {{.VolumeName}}\t{{.Links}}\t{{.Size}}", df.volumeRowsVerbose(usage), {
          VolumeName: "VOLUME NAME",
        }),
      );
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
}

/** `system reset`: every container (stopping running ones), image and layer removed. */
export async function systemReset(this: Invocation, flags: { force?: boolean }) {
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
}

/** `system metrics`: the store's figures in the Prometheus text format (0.0.4). */
export async function systemMetrics(this: Invocation, flags: { textfile?: string }) {
  const { collectMetrics, renderMetrics, writeTextfile } = await import("../events/metrics.ts");
  await withRuntime(this, async (runtime) => {
    const text = renderMetrics(collectMetrics(runtime));
    if (flags.textfile === undefined) return writeOut(text);
    await writeTextfile(flags.textfile, text);
  });
}
