/**
 * What every command shares: the global flags (`--root`, `--runroot`, `--log-level`,
 * `--monitor`), accepted before or after the command name as podman does; opening the runtime for
 * one command; printing to stdout; and the exit status a command leaves.
 *
 * The command table (`commands.ts`) declares every command's flags; an action's module, and the
 * library code it runs, load only when that command runs (`await import(...)` in its action, the
 * runtime in `withRuntime`): a process that exports a container does not compile the code that
 * runs one.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import { parseLogLevel, setupLogging } from "../log.ts";
import { InvalidArgError } from "../errors.ts";
import type { GlobalOptions, Invocation } from "./table/spec.ts";

export type { GlobalOptions, Invocation };

/** The global flags the command was given (before or after its name). */
export function globalOptions(invocation: Invocation): GlobalOptions {
  return invocation.globals;
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

/**
 * Opens the runtime for a command, runs `fn`, and always closes it. `light`: what a command
 * that only reads needs (`ps`, `images`, `inspect`; see `RuntimeOptions.light`).
 */
export async function withRuntime<T>(
  invocation: Invocation,
  fn: (runtime: Runtime) => Promise<T> | T,
  options: { light?: boolean } = {},
): Promise<T> {
  const globals = globalOptions(invocation);
  applyGlobalOptions(globals);
  const { Runtime: RuntimeClass } = await import("../runtime.ts");
  const runtime = await RuntimeClass.open({
    root: globals.root,
    runRoot: globals.runroot,
    light: options.light,
  });
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
