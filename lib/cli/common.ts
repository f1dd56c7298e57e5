/**
 * What every command shares: the global flags (`--root`, `--runroot`, `--log-level`,
 * `--monitor`), accepted before or after the command name as podman does; opening the runtime for
 * one command; printing to stdout; and the exit status a command leaves.
 *
 * Command modules register every command's flags, but load the library code a command runs only
 * when that command runs (`await import(...)` in its action, the runtime in `withRuntime`): a
 * process that exports a container does not compile the code that runs one.
 * @module
 */
import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import type { Runtime } from "../runtime.ts";
import { parseLogLevel, setupLogging } from "../log.ts";
import { InvalidArgError } from "../errors.ts";

/** The global flags. */
export interface GlobalOptions {
  root?: string;
  runroot?: string;
  logLevel?: string;
  monitor?: string;
}

/** Adds the global flags to a command (the program and, hidden, every subcommand). */
export function addGlobalOptions<C extends CommandUnknownOpts>(cmd: C, hidden: boolean): C {
  const options = [
    new Option("--root <dir>", "persistent storage root (env DENOPOD_ROOT)"),
    new Option("--runroot <dir>", "run-time state root, a tmpfs (env DENOPOD_RUNROOT)"),
    new Option("--log-level <level>", "debug, info, warn, error"),
    new Option(
      "--monitor <name>",
      "container monitor: conmon or builtin (env DENOPOD_MONITOR; default conmon when installed)",
    ),
  ];
  for (const option of options) cmd.addOption(hidden ? option.hideHelp() : option);
  return cmd;
}

/** Reads the global flags of a command, the subcommand's own values winning over the program's. */
export function globalOptions(cmd: CommandUnknownOpts): GlobalOptions {
  const merged: Record<string, unknown> = {};
  const chain: CommandUnknownOpts[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c; c = c.parent) chain.unshift(c);
  for (const c of chain) {
    for (const [k, v] of Object.entries(c.opts())) if (v !== undefined) merged[k] = v;
  }
  return {
    root: merged.root as string | undefined,
    runroot: merged.runroot as string | undefined,
    logLevel: merged.logLevel as string | undefined,
    monitor: merged.monitor as string | undefined,
  };
}

/** Applies `--log-level` (default warn) and `--monitor` from the command's global flags. */
export function applyGlobalOptions(options: GlobalOptions): void {
  setupLogging(parseLogLevel(options.logLevel ?? "warn"));
  if (options.monitor !== undefined) {
    if (options.monitor !== "conmon" && options.monitor !== "builtin") {
      throw new InvalidArgError(
        `invalid --monitor "${options.monitor}": must be conmon or builtin`,
      );
    }
    Deno.env.set("DENOPOD_MONITOR", options.monitor);
  }
}

/** Opens the runtime for a command, runs `fn`, and always closes it. */
export async function withRuntime<T>(
  cmd: CommandUnknownOpts,
  fn: (runtime: Runtime) => Promise<T> | T,
): Promise<T> {
  const options = globalOptions(cmd);
  applyGlobalOptions(options);
  const { Runtime: RuntimeClass } = await import("../runtime.ts");
  const runtime = await RuntimeClass.open({ root: options.root, runRoot: options.runroot });
  try {
    return await fn(runtime);
  } finally {
    runtime.close();
  }
}

const encoder = new TextEncoder();

/** Writes text to stdout, completely, synchronously (safe in pipes). */
export function writeOut(text: string): void {
  writeAll(Deno.stdout, encoder.encode(text));
}

/** Writes a line to stdout. */
export function println(text = ""): void {
  writeOut(`${text}\n`);
}

/** Writes a line to stderr (for podman-style per-item errors in multi-argument commands). */
export function eprintln(text: string): void {
  writeAll(Deno.stderr, encoder.encode(`${text}\n`));
}

/** Writes all of `bytes` to a synchronous writer. */
export function writeAll(writer: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writer.writeSync(bytes.subarray(offset));
}

/** The exit status the process ends with once the command returns (podman's rules). */
export const exitStatus = { code: 0 };

/** Collects repeatable flag values (`-e A -e B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses a whole, non-negative number flag. */
export function parseWholeNumber(flag: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) {
      throw new InvalidArgError(
        `invalid argument "${value}" for "${flag}": must be a whole number`,
      );
    }
    return Number(value);
  };
}
