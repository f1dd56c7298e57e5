/**
 * denopod's entry point: runs the command line, maps errors to exit codes (podman's: 125 for
 * denopod's own errors, 126 cannot invoke, 127 not found, else the container's). Nothing else.
 * The built-in monitor (this program re-executed to hold one container) is dispatched first and
 * loads only its own modules, so it stays small in memory. A closed stdout (`denopod images |
 * head -1`) ends the process quietly, as the SIGPIPE that ends podman would.
 * @module
 */
import { DenopodError } from "./lib/errors.ts";

/** The hidden argv[0] that runs the built-in monitor (see lib/oci/builtin_monitor.ts). */
const MONITOR_SUBCOMMAND = "__monitor";

/** The status a shell reports for a process a SIGPIPE ended (128 + 13). */
const BROKEN_PIPE_STATUS = 141;

async function main(args: string[]): Promise<number> {
  if (args[0] === MONITOR_SUBCOMMAND) {
    const { builtinMonitorMain } = await import("./lib/oci/monitor_main.ts");
    return await builtinMonitorMain(args.slice(1));
  }
  try {
    const { runCommandLine } = await import("./lib/cli/app.ts");
    return await runCommandLine(args);
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return BROKEN_PIPE_STATUS;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Error: ${message.replaceAll("\n", " ")}`);
    return error instanceof DenopodError ? error.exitCode : 125;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
