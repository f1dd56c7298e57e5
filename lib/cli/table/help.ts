/**
 * `--help` from the command table, laid out as podman 4.3 prints it: the short line, then
 * `Description:`, `Usage:`, `Aliases:`, `Examples:`, `Available Commands:` and `Options:` sections,
 * the options aligned as pflag aligns them.
 * @module
 */
import { type CommandSpec, type FlagSpec, GLOBAL_FLAGS } from "./spec.ts";
import { PROGRAM } from "./parse.ts";

/** The help text of the last command of `path` (the program when `path` has only the root). */
export function helpText(path: readonly CommandSpec[]): string {
  const cmd = path[path.length - 1];
  const isRoot = path.length === 1;
  const name = [PROGRAM, ...path.slice(1).map((s) => s.name)].join(" ");
  const out: string[] = [cmd.short, ""];
  if (!isRoot) out.push("Description:", indent(cmd.long ?? cmd.short), "");
  out.push("Usage:");
  if (isRoot) out.push(`  ${name} [options] [command]`);
  else if (cmd.subcommands && !cmd.action) out.push(`  ${name} [command]`);
  else out.push(`  ${name} ${cmd.usage ?? "[options]"}`.trimEnd());
  out.push("");
  if (cmd.aliases?.length) {
    out.push("Aliases:", `  ${[cmd.name, ...cmd.aliases].join(", ")}`, "");
  }
  if (cmd.examples?.length) {
    out.push("Examples:", ...cmd.examples.map((e) => `  ${e}`), "");
  }
  const visible = (cmd.subcommands ?? []).filter((s) => !s.hidden);
  if (visible.length > 0) {
    out.push("Available Commands:");
    const sorted = [...visible].sort((a, b) => a.name.localeCompare(b.name));
    const width = Math.max(11, ...sorted.map((s) => s.name.length));
    for (const sub of sorted) out.push(`  ${sub.name.padEnd(width)} ${sub.short}`);
    out.push("");
  }
  const flags = isRoot ? GLOBAL_FLAGS : (cmd.flags ?? []);
  const shown = flags.filter((f) => !f.hidden);
  if (shown.length > 0) {
    out.push("Options:", flagUsages(shown), "");
  }
  return out.join("\n");
}

/** pflag's FlagUsages: `  -a, --all   Show all` with the help column aligned. */
export function flagUsages(flags: readonly FlagSpec[]): string {
  const sorted = [...flags].sort((a, b) => a.name.localeCompare(b.name));
  const heads = sorted.map((flag) => {
    let head = flag.short ? `  -${flag.short}, --${flag.name}` : `      --${flag.name}`;
    const valueName = valueNameOf(flag);
    if (valueName !== "") head += ` ${valueName}`;
    return head;
  });
  const width = Math.max(...heads.map((h) => h.length)) + 1;
  return sorted.map((flag, i) => {
    let help = flag.help;
    const shownDefault = defaultText(flag);
    if (shownDefault !== undefined) help += ` (default ${shownDefault})`;
    const lines = help.split("\n");
    return [
      `${heads[i].padEnd(width)}  ${lines[0]}`,
      ...lines.slice(1).map((l) => `${" ".repeat(width + 2)}${l}`),
    ].join("\n");
  }).join("\n");
}

/** The value's name after the flag in help (`string`, `int`, `stringArray`; none for a switch). */
function valueNameOf(flag: FlagSpec): string {
  if (flag.valueName !== undefined) return flag.valueName;
  if (flag.type === "bool") return "";
  if (flag.repeatable) return flag.type === "string" ? "stringArray" : `${flag.type}Slice`;
  return flag.type;
}

/** pflag shows a default unless it is the type's zero value; strings quoted. */
function defaultText(flag: FlagSpec): string | undefined {
  const value = flag.default;
  if (value === undefined || value === "" || value === false || value === 0) return undefined;
  return typeof value === "string" && (valueNameOf(flag) === "string")
    ? `"${value}"`
    : String(value);
}

function indent(text: string): string {
  return text.split("\n").map((line) => line === "" ? "" : `  ${line}`).join("\n");
}
