/**
 * Runs one command line: parses it against the command table (`commands.ts`), prints help or the
 * version when asked, else loads the command's action and runs it. Returns the exit status; errors
 * propagate to `main.ts`, which prints them podman's way. A command line that runs one of the
 * common commands (`common_commands.ts`) is parsed against those alone; the whole table loads
 * for anything else.
 * @module
 */
import { COMMON_PROGRAM_SPEC } from "./common_commands.ts";
import { commandPath, parseCommandLine, type ParseResult, UsageError } from "./table/parse.ts";
import { exitStatus, println, writeOut } from "./common.ts";
import { VERSION } from "../version.ts";

/** Parses `args` and runs what they ask for; resolves to the exit status. */
export async function runCommandLine(args: readonly string[]): Promise<number> {
  const parsed = parseCommon(args) ??
    parseCommandLine((await import("./commands.ts")).PROGRAM_SPEC, args);
  switch (parsed.kind) {
    case "help": {
      const { helpText } = await import("./table/help.ts");
      writeOut(`${helpText(parsed.path)}\n`);
      return 0;
    }
    case "version":
      println(`denopod version ${VERSION}`);
      return 0;
    case "missing-command": {
      const { helpText } = await import("./table/help.ts");
      writeOut(`${helpText(parsed.path)}\n`);
      throw new UsageError(`missing command '${commandPath(parsed.path)} COMMAND'`);
    }
    case "run": {
      const spec = parsed.path[parsed.path.length - 1];
      const action = await spec.action!();
      const invocation = { globals: parsed.globals, path: parsed.path.slice(1).map((s) => s.name) };
      await action.apply(invocation, parsed.params as never[]);
      return exitStatus.code;
    }
  }
}

/**
 * The parse of a command line that runs one of the common commands, against their table alone;
 * undefined for anything else (help, a usage error, another command), which the whole table
 * then parses, and answers as it always does.
 */
function parseCommon(args: readonly string[]): ParseResult | undefined {
  try {
    const parsed = parseCommandLine(COMMON_PROGRAM_SPEC, args);
    return parsed.kind === "run" ? parsed : undefined;
  } catch {
    return undefined;
  }
}
