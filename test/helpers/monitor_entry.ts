/**
 * Test entry for the built-in monitor: what `denopod __monitor <json>` does, without the CLI.
 * `monitorCommand(request, { entry })` runs it as `deno run -A monitor_entry.ts __monitor <json>`.
 * @module
 */
import { MONITOR_SUBCOMMAND } from "../../lib/oci/builtin_monitor.ts";
import { builtinMonitorMain } from "../../lib/oci/monitor_main.ts";

if (Deno.args[0] === MONITOR_SUBCOMMAND) {
  Deno.exit(await builtinMonitorMain(Deno.args.slice(1)));
}
