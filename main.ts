/**
 * denopod's entry point: builds the CLI, runs it, maps errors to exit codes (podman's: 125 for
 * denopod's own errors, 126 cannot invoke, 127 not found, else the container's). Nothing else.
 * The built-in monitor (this program re-executed to hold one container) is dispatched first and
 * loads only its own modules, so it stays small in memory.
 * @module
 */
import { DenopodError } from "./lib/errors.ts";

/** The hidden argv[0] that runs the built-in monitor (see lib/oci/builtin_monitor.ts). */
const MONITOR_SUBCOMMAND = "__monitor";

async function main(args: string[]): Promise<number> {
  if (args[0] === MONITOR_SUBCOMMAND) {
    const { builtinMonitorMain } = await import("./lib/oci/monitor_main.ts");
    return await builtinMonitorMain(args.slice(1));
  }
  const { CommanderError } = await import("@commander-js/extra-typings");
  const { buildProgram, mapCommanderError } = await import("./lib/cli/app.ts");
  const { exitStatus } = await import("./lib/cli/common.ts");
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
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Error: ${message.replaceAll("\n", " ")}`);
    return error instanceof DenopodError ? error.exitCode : 125;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
