/**
 * denopod's entry point: builds the CLI, runs it, maps errors to exit codes (podman's: 125 for
 * denopod's own errors, 126 cannot invoke, 127 not found, else the container's). Nothing else.
 * @module
 */
import { CommanderError } from "@commander-js/extra-typings";
import { buildProgram, mapCommanderError } from "./lib/cli/app.ts";
import { exitStatus } from "./lib/cli/common.ts";
import { DenopodError } from "./lib/errors.ts";
import { builtinMonitorMain, MONITOR_SUBCOMMAND } from "./lib/oci/builtin_monitor.ts";

async function main(args: string[]): Promise<number> {
  // the built-in monitor: this binary re-executed to hold one container (see lib/oci/monitor.ts)
  if (args[0] === MONITOR_SUBCOMMAND) return await builtinMonitorMain(args.slice(1));
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return exitStatus.code;
  } catch (err) {
    let error: unknown = err;
    if (err instanceof CommanderError) {
      const mapped = mapCommanderError(err);
      if (typeof mapped === "number") return mapped;
      error = mapped;
    }
    if (error instanceof DenopodError) {
      console.error(`Error: ${error.message.replaceAll("\n", " ")}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Error: ${message.replaceAll("\n", " ")}`);
    return 125;
  }
}

if (import.meta.main) main(Deno.args).then((code) => Deno.exit(code));
