/**
 * `stats` and `top`: the resource usage of containers and the processes of one, printed as
 * podman 4.3 prints them. The figures come from `lib/container/stats.ts` and
 * `lib/container/top.ts`.
 * @module
 */
import { InvalidArgError, NoSuchContainerError } from "../errors.ts";
import type { Container } from "../container/container.ts";
import type { Runtime } from "../runtime.ts";
import { type Invocation, println, withRuntime, writeOut } from "./common.ts";
import { printRows } from "./output.ts";

/** podman's default `stats` table. */
const STATS_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t" +
  "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}";

/** podman's `stats` column titles. */
const STATS_HEADERS: Record<string, string> = {
  ID: "ID",
  UpTime: "CPU TIME",
  CPUPerc: "CPU %",
  AVGCPU: "AVG CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemUsageBytes: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET IO",
  BlockIO: "BLOCK IO",
  PIDS: "PIDS",
};

/** What clears a terminal and homes the cursor between reports (goterm's Clear, MoveCursor). */
const CLEAR_SCREEN = "\x1b[2J\x1b[1;1H";

/** `json`, or `{{json .}}` in any spacing: podman's `report.IsJSON`. */
function isJsonFormat(format: string | undefined): boolean {
  return format !== undefined && /^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$/.test(format);
}

/** A container named to `stats` or `top` is not there; the message has podman's prefix. */
class NamedContainerMissingError extends NoSuchContainerError {
  constructor(prefix: string, name: string, cause: NoSuchContainerError) {
    super(name, { cause });
    this.message = `${prefix}${this.message}`;
  }
}

/** The containers a report covers: the named ones (each looked up again), else every one. */
function statsTargets(runtime: Runtime, names: readonly string[]): Container[] {
  if (names.length === 0) return runtime.allContainers();
  return names.map((name) => {
    try {
      return runtime.lookupContainer(name);
    } catch (err) {
      if (err instanceof NoSuchContainerError) {
        const prefix = `unable to get list of containers: unable to look up container ${name}: `;
        throw new NamedContainerMissingError(prefix, name, err);
      }
      throw err;
    }
  });
}

/** `denopod stats [CONTAINER...]`. */
export async function stats(
  this: Invocation,
  names: string[],
  flags: {
    all?: boolean;
    format?: string;
    interval?: number;
    noReset?: boolean;
    noStream?: boolean;
    trunc?: boolean;
  },
) {
  if (flags.all && names.length > 0) {
    throw new InvalidArgError("--all, --latest and containers cannot be used together");
  }
  const interval = flags.interval ?? 5;
  if (interval < 1) {
    throw new InvalidArgError("invalid interval, must be a positive number greater zero");
  }
  const { sampleStats, statsJson, statsRow } = await import("../container/stats.ts");
  const noTrunc = flags.trunc === false;
  const clear = !flags.noReset && Deno.stdout.isTerminal();
  await withRuntime(this, async (runtime) => {
    const previous = new Map();
    for (;;) {
      // as podman: every container when none is named, -a or not; one that does not run shows zeros
      const samples = await sampleStats(statsTargets(runtime, names), previous);
      if (clear) writeOut(CLEAR_SCREEN);
      if (isJsonFormat(flags.format)) {
        println(JSON.stringify(samples.map((s) => statsJson(s, noTrunc)), null, " "));
      } else {
        await printRows(
          samples.map((s) => statsRow(s, noTrunc)),
          flags.format,
          STATS_TABLE,
          STATS_HEADERS,
        );
      }
      if (flags.noStream) return;
      await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    }
  });
}

/** `denopod top CONTAINER [DESCRIPTOR...]`. */
export async function top(this: Invocation, name: string, descriptors: string[]) {
  const { topTable } = await import("../container/top.ts");
  const { syncForDisplay } = await import("../container/lifecycle/sync.ts");
  const { formatColumns } = await import("../util/tabwriter.ts");
  await withRuntime(this, async (runtime) => {
    let ctr: Container;
    try {
      ctr = runtime.lookupContainer(name);
    } catch (err) {
      if (err instanceof NoSuchContainerError) {
        throw new NamedContainerMissingError("unable to look up requested container: ", name, err);
      }
      throw err;
    }
    await syncForDisplay(ctr);
    writeOut(formatColumns(topTable(ctr, descriptors)));
  });
}
