/**
 * `--format` for listing commands: `json`, a Go-template (`{{.Names}}`), or `table ...` with a
 * header row; without `--format`, the command's default table.
 * @module
 */
import { alignColumns, formatTable, isTableFormat } from "../util/template.ts";
import { println, writeOut } from "./common.ts";

/**
 * Prints `rows` as `--format` asks, or as `defaultTable` (a `table ...` template) otherwise;
 * `\t` and `\n` typed in a template print as a tab and a newline, as in podman; `noHeading`
 * drops a table's header row (`--noheading`).
 */
export function printRows(
  rows: object[],
  format: string | undefined,
  defaultTable: string,
  headers: Record<string, string>,
  noHeading = false,
): void {
  if (format === "json") {
    println(JSON.stringify(rows, null, 4));
    return;
  }
  const template = format ?? defaultTable;
  if (noHeading && isTableFormat(template)) {
    const body = template.slice("table ".length).replaceAll(" ", "\t");
    writeOut(alignColumns(formatTable(body, rows, headers)));
    return;
  }
  writeOut(formatTable(template, rows, headers));
}

/** Prints `inspect`-style data: a JSON array, or one template line per object (`\t` a tab). */
export function printInspect(objects: object[], format: string | undefined): void {
  if (format === undefined || format === "json") {
    // podman indents inspect's JSON by five spaces
    println(JSON.stringify(objects, null, 5));
    return;
  }
  writeOut(formatTable(format, objects));
}
