/**
 * The shapes of denopod's command table: a command (name, aliases, help text, examples,
 * positional arguments, flags, subcommands) and the lazily loaded action that runs it. The table
 * itself is `lib/cli/commands.ts`; the parser (`parse.ts`), the help printer (`help.ts`) and the
 * completion generator (`completion.ts`) all read the same table.
 *
 * ## How to add a command
 *
 * 1. Write the action in a module under `lib/cli/` as a plain function that takes one parameter
 *    per positional argument (a variadic one is a `string[]`, an optional one `string |
 *    undefined`), then the flags object, with `this` the {@linkcode Invocation}:
 *
 *    ```ts
 *    export async function events(this: Invocation, flags: { since?: string; follow?: boolean }) {
 *      await withRuntime(this, async (runtime) => { ... });
 *    }
 *    ```
 *
 *    A flag's key in the flags object is its long name in camelCase (`--no-trunc` → `noTrunc`
 *    unless the spec says `key`); a repeatable flag is a `string[]` (empty when not given); a
 *    bool flag not given is `undefined`.
 * 2. Add its {@linkcode CommandSpec} to `PROGRAM_SPEC.subcommands` in `lib/cli/commands.ts` (or
 *    to a group's `subcommands`: `image`, `container`, `system`), with the action loaded lazily
 *    so that other commands never load its module:
 *
 *    ```ts
 *    {
 *      name: "events",
 *      short: "Show denopod events",
 *      usage: "[options]",
 *      examples: ["denopod events --since 10m"],
 *      flags: [{ name: "since", type: "string", help: "Show all events created since timestamp" }],
 *      action: () => import("./events.ts").then((m) => m.events),
 *    }
 *    ```
 *
 * Help, usage errors, the global flags and shell completion then come from the table.
 *
 * Porting a commander command: `.argument("<name>")` is `{ name, required: true }`,
 * `"[names...]"` is `{ name, variadic: true }`; `.option("-f, --foo <x>", help, collect, [])` is
 * `{ name: "foo", short: "f", type: "string", repeatable: true, help }`; a default becomes
 * `default`; `--no-trunc` is `{ name: "no-trunc", type: "bool", key: "trunc", negates: true }`
 * (the action still reads `flags.trunc === false`); `.passThroughOptions()` is
 * `interspersed: false`; the action keeps its body (`withRuntime(this, ...)` takes the
 * Invocation as it took the Command).
 * @module
 */

/** A flag value's kind: a switch, or a value that follows it. */
export type FlagType = "bool" | "string" | "int" | "uint";

/** Where completion finds candidates: the store's containers or images, files, or a fixed list. */
export type Completer = "containers" | "images" | "files" | readonly string[];

/** One flag of a command. */
export interface FlagSpec {
  /** Long name without dashes: `all`, `no-trunc`. */
  name: string;
  /** One-letter short form without the dash: `a`. */
  short?: string;
  /** A switch (`bool`: `--all`, `--all=false`) or a flag that takes a value. */
  type: FlagType;
  /** The flag may be given many times; its value is then a list (empty when absent). */
  repeatable?: boolean;
  /** The value when the flag is not given (shown in help as `(default X)`). */
  default?: string | number | boolean;
  /** One line of help (a second line may follow after `\n`). */
  help: string;
  /** The key in the flags object the action gets (default: the long name in camelCase). */
  key?: string;
  /** A bool flag that stores `false` under `key` when given (commander's `--no-trunc`). */
  negates?: boolean;
  /** Turns the text into the value (may throw a DenopodError); after the type's own check. */
  parse?: (value: string) => unknown;
  /** The value's name in help (`string`, `strings`, `stringArray`, `int`, `uint`, `choice`). */
  valueName?: string;
  /** Completion for the flag's value. */
  complete?: Completer;
  /** Left out of help and completion. */
  hidden?: boolean;
}

/** One positional argument. */
export interface ArgSpec {
  /** Its name in usage errors and completion. */
  name: string;
  /** Takes this and every following argument (the last one only). */
  variadic?: boolean;
  /** Must be given (at least one, when variadic). */
  required?: boolean;
  /** Completion for the argument. */
  complete?: Completer;
}

/** What a command's action gets as `this`: the global flags and the command it runs as. */
export interface Invocation {
  /** `--root`, `--runroot`, `--log-level`, `--monitor`, wherever they were given. */
  globals: GlobalOptions;
  /** The command's path, e.g. `["image", "ls"]`. */
  path: string[];
}

/** The global flags. */
export interface GlobalOptions {
  root?: string;
  runroot?: string;
  logLevel?: string;
  monitor?: string;
}

/**
 * A command's action: one parameter per positional argument, then the flags object. Declared
 * with `never[]` so that actions with their own precise parameter types fit.
 */
export type Action = (this: Invocation, ...params: never[]) => unknown;

/** One command or command group of the table. */
export interface CommandSpec {
  /** The name typed: `ps`. */
  name: string;
  /** Other names for it: `ls`, `list`. */
  aliases?: readonly string[];
  /** One line: the command list's text and the help's first line. */
  short: string;
  /** The help's Description (default: `short`). */
  long?: string;
  /** What follows `denopod NAME` in Usage: `[options] CONTAINER [CONTAINER...]`. */
  usage?: string;
  /** Example command lines for the help's Examples section. */
  examples?: readonly string[];
  /** Positional arguments, in order. */
  args?: readonly ArgSpec[];
  /** The command's own flags. */
  flags?: readonly FlagSpec[];
  /** false: flags end at the first positional argument (`run IMAGE CMD -x`). Default true. */
  interspersed?: boolean;
  /** Left out of help listings and completion. */
  hidden?: boolean;
  /** Loads the action's module and returns the action (absent for a pure group). */
  action?: () => Promise<Action>;
  /** The group's commands (`image ls`, `system refresh`). */
  subcommands?: readonly CommandSpec[];
}

/** The global flags, accepted before or after the command name. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: "log-level",
    type: "string",
    default: "warn",
    help: "Log messages above specified level (debug, info, warn, error, fatal, panic)",
  },
  {
    name: "monitor",
    type: "string",
    help:
      "Container monitor: conmon or builtin (env DENOPOD_MONITOR; default conmon when installed)",
    complete: ["conmon", "builtin"],
  },
  {
    name: "root",
    type: "string",
    help: "Path to the root directory in which data, including images, is stored",
    complete: "files",
  },
  {
    name: "runroot",
    type: "string",
    help: "Path to the 'run directory' where all state information is stored",
    complete: "files",
  },
  { name: "version", short: "v", type: "bool", help: "version for denopod" },
];

/** The key a flag's value is stored under: `key`, else the long name in camelCase. */
export function flagKey(flag: FlagSpec): string {
  return flag.key ?? flag.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** True when `spec` is called `name` or has it as an alias. */
export function isNamed(spec: CommandSpec, name: string): boolean {
  return spec.name === name || (spec.aliases?.includes(name) ?? false);
}
