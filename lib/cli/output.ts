/**
 * `--format` for listing commands: `json`, a Go-template (`{{.Names}}`), or `table ...` with a
 * header row; without `--format`, the command's default table. The template engine loads only
 * for a template the plain path cannot print (a default `ps` or `images` never loads it).
 * @module
 */
import { alignColumns } from "../util/tabwriter.ts";
import type { TemplateOptions } from "../util/template/parse.ts";
import { println, writeOut } from "./common.ts";
import { INSPECT_ERROR_PREFIX } from "./template_contexts.ts";

/** A `--format` value that asks for a table (`table …`). */
function isTableFormat(format: string): boolean {
  return format.startsWith("table ");
}

/**
 * Prints `rows` as `--format` asks, or as `defaultTable` (a `table ...` template) otherwise;
 * `\t` and `\n` typed in a template print as a tab and a newline, as in podman; `noHeading`
 * drops a table's header row (`--noheading`). `options` names the data as podman does in a bad
 * template's message (`./template_contexts.ts`).
 */
export async function printRows(
  rows: object[],
  format: string | undefined,
  defaultTable: string,
  headers: Record<string, string>,
  noHeading = false,
  options: TemplateOptions = {},
): Promise<void> {
  if (format === "json") {
    println(JSON.stringify(rows, null, 4));
    return;
  }
  const text = format ?? defaultTable;
  const plain = plainTable(text, rows, headers, noHeading);
  if (plain !== undefined) {
    writeOut(plain);
    return;
  }
  const { formatTable } = await import("../util/template.ts");
  if (noHeading && isTableFormat(text)) {
    const body = text.slice("table ".length).replaceAll(" ", "\t");
    writeOut(alignColumns(formatTable(body, rows, headers, options)));
    return;
  }
  writeOut(formatTable(text, rows, headers, options));
}

/** `table {{.A}}\t{{.B}}`: fields only, one tab between them. */
const PLAIN_TABLE = /^table (\{\{\.(\w+)\}\}(\\t|\t))*\{\{\.(\w+)\}\}$/;

/**
 * The common case without the template engine (whose first parse costs milliseconds of start-up):
 * a `table` of bare fields whose values are all strings or numbers, printed as the template
 * would print it; undefined for anything else.
 */
function plainTable(
  template: string,
  rows: object[],
  headers: Record<string, string>,
  noHeading: boolean,
): string | undefined {
  if (!PLAIN_TABLE.test(template)) return undefined;
  const fields = [...template.matchAll(/\{\{\.(\w+)\}\}/g)].map((m) => m[1]);
  const lines: string[] = [];
  if (!noHeading) {
    const titles = fields.map((f) => headers[f]);
    if (titles.some((t) => t === undefined)) return undefined;
    lines.push(titles.join("\t"));
  }
  for (const row of rows) {
    const values = fields.map((f) => (row as Record<string, unknown>)[f]);
    if (values.some((v) => typeof v !== "string" && typeof v !== "number")) return undefined;
    lines.push(values.map((v) => String(v)).join("\t"));
  }
  // no header and no row: nothing at all, as podman prints
  return lines.length === 0 ? "" : alignColumns(`${lines.join("\n")}\n`);
}

/**
 * Prints `inspect`-style data: a JSON array, or one template line per object (`\t` a tab).
 * `templates` gives each object's names for a bad template's message (`./template_contexts.ts`),
 * which then starts as podman's: `inspecting object: printing inspect output: template: ...`.
 */
export async function printInspect(
  objects: object[],
  format: string | undefined,
  templates: readonly TemplateOptions[] = [],
): Promise<void> {
  if (format === undefined || format === "json") {
    // podman indents inspect's JSON by five spaces
    println(JSON.stringify(objects, null, 5));
    return;
  }
  const { formatTable } = await import("../util/template.ts");
  const { TemplateError } = await import("../util/template/parse.ts");
  let out = "";
  try {
    if (templates.every((t) => t === templates[0])) {
      out = formatTable(format, objects, {}, templates[0]);
    } else {
      objects.forEach((object, i) => out += formatTable(format, [object], {}, templates[i]));
    }
  } catch (err) {
    if (!(err instanceof TemplateError) || templates.length === 0) throw err;
    throw new TemplateError(`${INSPECT_ERROR_PREFIX}${err.message}`, { cause: err });
  }
  writeOut(out);
}
