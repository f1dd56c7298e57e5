/**
 * `system check [--repair] [--force] [--quick] [--max DURATION] [--format json]`: the CLI glue of
 * `lib/housekeeping/check.ts` and `repair.ts`. Quiet and exit 0 when the store is clean; one line
 * per finding otherwise (with `--repair`, what became of it); exit 1 when something found is not
 * repaired, 125 when a repair failed. The store is opened without the replay of interrupted
 * commands, so their leftovers are reported (and, with `--repair`, replayed) here.
 * @module
 */
import { applyGlobalOptions, exitStatus, globalOptions, println } from "./common.ts";
import { InvalidArgError } from "../errors.ts";
import type { Invocation } from "./table/spec.ts";

/** podman's default for `--max`: layers no image uses older than a day are cancelled imports. */
export const DEFAULT_MAX = "24h";

/** `system check` flags. */
export interface CheckFlags {
  repair?: boolean;
  force?: boolean;
  quick?: boolean;
  max: string;
  format?: string;
}

/** `system check`: see the module doc. */
export async function systemCheck(this: Invocation, flags: CheckFlags) {
  if (flags.format !== undefined && flags.format !== "json") {
    throw new InvalidArgError(`invalid --format "${flags.format}": only json is supported`);
  }
  const { parseGoDuration } = await import("../util/humanize.ts");
  const maxAgeMs = parseGoDuration(flags.max);
  const options = globalOptions(this);
  applyGlobalOptions(options);
  const { Runtime } = await import("../runtime.ts");
  const { checkStore } = await import("../housekeeping/check.ts");
  const { repairFindings } = await import("../housekeeping/repair.ts");
  const runtime = await Runtime.open({
    root: options.root,
    runRoot: options.runroot,
    replay: false,
  });
  try {
    const findings = await checkStore(runtime, { quick: flags.quick === true, maxAgeMs });
    const outcomes = flags.repair
      ? await repairFindings(findings, { force: flags.force === true })
      : findings.map((finding) => ({ finding, result: undefined, reason: undefined }));
    if (flags.format === "json") {
      println(JSON.stringify(
        {
          findings: outcomes.map(({ finding, result, reason }) => ({
            kind: finding.kind,
            subject: finding.subject,
            message: finding.message,
            ...(result ? { result } : {}),
            ...(reason ? { reason } : {}),
          })),
        },
        null,
        2,
      ));
    } else {
      for (const { finding, result, reason } of outcomes) {
        const suffix = result === "repaired"
          ? " (repaired)"
          : result
          ? ` (not repaired: ${reason})`
          : "";
        println(`${finding.kind}: ${finding.message}${suffix}`);
      }
    }
    if (outcomes.some((o) => o.result === "failed")) exitStatus.code = 125;
    else if (outcomes.some((o) => o.result !== "repaired")) exitStatus.code = 1;
  } finally {
    runtime.close();
  }
}
