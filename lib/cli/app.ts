/**
 * Builds the command tree: the program with its global flags and every command group. Errors from
 * commander (unknown flags, missing arguments) are reported podman's way, on one line, exit 125.
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { addGlobalOptions } from "./common.ts";
import { registerContainerCommands } from "./containers.ts";
import { registerImageCommands } from "./images.ts";
import { registerSystemCommands } from "./system.ts";
import { registerLifecycleCommands } from "./lifecycle.ts";
import { registerTransportCommands } from "./transport.ts";
import { registerVolumeCommands } from "./volumes.ts";
import { VERSION } from "../version.ts";
import { InvalidArgError } from "../errors.ts";

/** Thrown for a usage error commander found; its message is commander's, without the prefix. */
export class UsageError extends InvalidArgError {}

/** Builds the `denopod` program. */
export function buildProgram(): Command {
  const program = new Command("denopod")
    .description("daemonless container manager: images, containers, runc")
    .version(VERSION, "-v, --version", "print the version")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  addGlobalOptions(program, false);
  registerContainerCommands(program);
  registerLifecycleCommands(program);
  registerImageCommands(program);
  registerTransportCommands(program);
  registerSystemCommands(program);
  registerVolumeCommands(program);
  for (const cmd of program.commands) configureSubcommand(cmd);
  return program;
}

function configureSubcommand(cmd: Command<unknown[], Record<string, unknown>>): void {
  cmd.exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
  if (!cmd.options.some((o) => o.long === "--root")) addGlobalOptions(cmd, true);
  for (const sub of cmd.commands) configureSubcommand(sub);
}

/** Turns a CommanderError into the exit status: 0 for help/version, else a UsageError. */
export function mapCommanderError(err: CommanderError): number | UsageError {
  if (
    err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
    err.code === "commander.help"
  ) {
    return 0;
  }
  return new UsageError(err.message.replace(/^error: /, ""));
}
