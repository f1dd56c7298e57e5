/**
 * Parses a command line against the command table, with podman's (cobra/pflag's) rules: global
 * flags before or after the command; `--flag=value`, `--flag value`, `-f value`, `-fvalue`,
 * bundles like `-aq`; bool flags take a value only after `=` (`--all=false`); flags may follow
 * positional arguments unless the command stops at its first one (`run IMAGE CMD -x`); `--` ends
 * the flags. Usage errors are {@linkcode UsageError}s with pflag's and cobra's wording.
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import {
  type ArgSpec,
  type CommandSpec,
  flagKey,
  type FlagSpec,
  GLOBAL_FLAGS,
  type GlobalOptions,
  isNamed,
} from "./spec.ts";

/** A usage error: unknown flag or command, missing value, wrong number of arguments. */
export class UsageError extends InvalidArgError {}

/** What the command line asks for. */
export type ParseResult =
  | { kind: "run"; path: CommandSpec[]; params: unknown[]; globals: GlobalOptions }
  | { kind: "help"; path: CommandSpec[] }
  | { kind: "version" }
  /** A group without its command: podman prints the help, then an error. */
  | { kind: "missing-command"; path: CommandSpec[] };

/** The program's name in messages. */
export const PROGRAM = "denopod";

/** Parses `argv` (without the program name) against `root`'s table. */
export function parseCommandLine(root: CommandSpec, argv: readonly string[]): ParseResult {
  const path: CommandSpec[] = [root];
  let cmd = root;
  const positionals: string[] = [];
  const values = new Map<FlagSpec, unknown>();
  let help = false;
  let flagsEnded = false;

  const lookupLong = (name: string): FlagSpec | undefined =>
    cmd.flags?.find((f) => f.name === name) ?? GLOBAL_FLAGS.find((f) => f.name === name);
  const lookupShort = (letter: string): FlagSpec | undefined =>
    cmd.flags?.find((f) => f.short === letter) ??
      (cmd === root ? GLOBAL_FLAGS.find((f) => f.short === letter) : undefined);

  const set = (flag: FlagSpec, text: string) => {
    const value = convert(flag, text);
    if (flag.repeatable) {
      const list = (values.get(flag) as unknown[] | undefined) ?? [];
      list.push(value);
      values.set(flag, list);
    } else {
      values.set(flag, value);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (flagsEnded || token === "-" || !token.startsWith("-")) {
      const sub = positionals.length === 0 && !flagsEnded
        ? cmd.subcommands?.find((s) => isNamed(s, token))
        : undefined;
      if (sub) {
        cmd = sub;
        path.push(sub);
        continue;
      }
      if (cmd.subcommands && !cmd.action && positionals.length === 0) {
        throw new UsageError(`unrecognized command \`${commandPath(path)} ${token}\``);
      }
      positionals.push(token);
      if (cmd.interspersed === false) flagsEnded = true;
      continue;
    }
    if (token === "--") {
      flagsEnded = true;
      continue;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = token.slice(2, eq < 0 ? undefined : eq);
      const flag = lookupLong(name);
      if (!flag) {
        if (name === "help") {
          help = true;
          continue;
        }
        throw new UsageError(`unknown flag: --${name}`);
      }
      if (eq >= 0) set(flag, token.slice(eq + 1));
      else if (flag.type === "bool") set(flag, "true");
      else if (i + 1 < argv.length) set(flag, argv[++i]);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    // a bundle of short flags: -aq, -n5, -n 5
    for (let j = 1; j < token.length; j++) {
      const letter = token[j];
      const flag = lookupShort(letter);
      if (!flag) {
        if (letter === "h") {
          help = true;
          continue;
        }
        throw new UsageError(`unknown shorthand flag: '${letter}' in ${token}`);
      }
      if (flag.type === "bool") {
        if (token[j + 1] === "=") {
          set(flag, token.slice(j + 2));
          break;
        }
        set(flag, "true");
        continue;
      }
      const rest = token.slice(j + 1).replace(/^=/, "");
      if (rest !== "") set(flag, rest);
      else if (i + 1 < argv.length) set(flag, argv[++i]);
      else throw new UsageError(`flag needs an argument: '${letter}' in ${token}`);
      break;
    }
  }

  const versionFlag = GLOBAL_FLAGS.find((f) => f.name === "version")!;
  if (help) return { kind: "help", path };
  if (values.get(versionFlag) === true && cmd === root) return { kind: "version" };
  if (!cmd.action) return { kind: "missing-command", path };

  checkArgCount(path, cmd.args ?? [], positionals.length);
  const globals: GlobalOptions = {};
  for (const flag of GLOBAL_FLAGS) {
    if (values.has(flag)) (globals as Record<string, unknown>)[flagKey(flag)] = values.get(flag);
  }
  const flags: Record<string, unknown> = {};
  for (const flag of cmd.flags ?? []) {
    const key = flagKey(flag);
    if (values.has(flag)) {
      const value = values.get(flag);
      flags[key] = flag.negates ? value !== true : value;
    } else if (flag.repeatable) {
      flags[key] = [];
    } else if (flag.default !== undefined) {
      flags[key] = flag.parse && typeof flag.default === "string"
        ? flag.parse(flag.default)
        : flag.default;
    }
  }
  return { kind: "run", path, params: [...spread(cmd.args ?? [], positionals), flags], globals };
}

/** `denopod image ls` for a path of specs. */
export function commandPath(path: readonly CommandSpec[]): string {
  return [PROGRAM, ...path.slice(1).map((s) => s.name)].join(" ");
}

/** One parameter per declared argument: a list for a variadic one, undefined when absent. */
function spread(args: readonly ArgSpec[], positionals: string[]): unknown[] {
  return args.map((arg, index) =>
    arg.variadic ? positionals.slice(index) : positionals[index] as string | undefined
  );
}

/** cobra's argument-count messages. */
function checkArgCount(path: CommandSpec[], args: readonly ArgSpec[], given: number): void {
  const min = args.filter((a) => a.required).length;
  const max = args.some((a) => a.variadic) ? Infinity : args.length;
  if (max === 0 && given > 0) {
    throw new UsageError(`\`${commandPath(path)}\` takes no arguments`);
  }
  if (given >= min && given <= max) return;
  if (max === Infinity) {
    throw new UsageError(`requires at least ${min} arg(s), only received ${given}`);
  }
  if (min === max) throw new UsageError(`accepts ${min} arg(s), received ${given}`);
  if (given > max && min === 0) {
    throw new UsageError(`accepts at most ${max} arg(s), received ${given}`);
  }
  throw new UsageError(`accepts between ${min} and ${max} arg(s), received ${given}`);
}

/** Checks a flag's text against its type and runs its own parser. */
function convert(flag: FlagSpec, text: string): unknown {
  const label = flag.short ? `-${flag.short}, --${flag.name}` : `--${flag.name}`;
  switch (flag.type) {
    case "bool": {
      if (/^(1|t|T|TRUE|true|True)$/.test(text)) return true;
      if (/^(0|f|F|FALSE|false|False)$/.test(text)) return false;
      throw new UsageError(
        `invalid argument "${text}" for "${label}" flag: strconv.ParseBool: parsing "${text}": invalid syntax`,
      );
    }
    case "int":
    case "uint": {
      if (flag.parse) return flag.parse(text);
      const pattern = flag.type === "int" ? /^[+-]?\d+$/ : /^\+?\d+$/;
      if (!pattern.test(text)) {
        const fn = flag.type === "int" ? "ParseInt" : "ParseUint";
        throw new UsageError(
          `invalid argument "${text}" for "${label}" flag: strconv.${fn}: parsing "${text}": invalid syntax`,
        );
      }
      return Number(text);
    }
    case "string":
      return flag.parse ? flag.parse(text) : text;
  }
}
