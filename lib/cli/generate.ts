/**
 * `generate systemd` (declared in `commands.ts`): prints the unit, or with `--files` writes
 * `<prefix>-<name>.service` in the current directory and prints its path; `--format json` prints
 * `{name: content-or-path}`. Thin: parse, call lib/generate, print.
 * @module
 */
import type { Invocation } from "./table/spec.ts";
import { println, withRuntime, writeOut } from "./common.ts";
import { InvalidArgError } from "../errors.ts";
import { now } from "../util/clock.ts";
import { VERSION } from "../version.ts";
import { join } from "../util/path.ts";

/** `generate systemd`'s flags. */
export interface GenerateSystemdFlags {
  name?: boolean;
  new?: boolean;
  files?: boolean;
  restartPolicy?: string;
  time?: number;
  stopTimeout?: number;
  startTimeout?: number;
  noHeader?: boolean;
  containerPrefix?: string;
  separator?: string;
  wants: string[];
  after: string[];
  requires: string[];
  format?: string;
}

/** `generate systemd [options] CONTAINER`. */
export async function generateSystemd(
  this: Invocation,
  nameOrId: string,
  flags: GenerateSystemdFlags,
) {
  const { unitForContainer } = await import("../generate/container_unit.ts");
  if (flags.time !== undefined && flags.stopTimeout !== undefined) {
    throw new InvalidArgError("stop-timeout and time are redundant and cannot be used together");
  }
  if (flags.format !== undefined && flags.format !== "json") {
    throw new InvalidArgError(`unknown --format argument: ${flags.format}`);
  }
  await withRuntime(this, async (runtime) => {
    const unit = unitForContainer(runtime.lookupContainer(nameOrId), {
      name: flags.name,
      new: flags.new,
      restartPolicy: flags.restartPolicy,
      stopTimeout: flags.stopTimeout ?? flags.time,
      startTimeout: flags.startTimeout,
      noHeader: flags.noHeader,
      containerPrefix: flags.containerPrefix,
      separator: flags.separator,
      wants: flags.wants,
      after: flags.after,
      requires: flags.requires,
      now: now(),
      version: VERSION,
    });
    let output = unit.content;
    if (flags.files) {
      const path = join(Deno.cwd(), `${unit.serviceName}.service`);
      await Deno.writeTextFile(path, unit.content);
      output = flags.format === "json" ? path : `${path}\n`;
    }
    if (flags.format === "json") {
      println(JSON.stringify({ [unit.serviceName]: output }, null, 1));
    } else {
      writeOut(output);
    }
  });
}
