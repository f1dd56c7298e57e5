/**
 * `--format` for listing commands: `json`, a Go-template (`{{.Names}}`), or `table ...` with a
 * header row; without `--format`, the command's default table.
 * @module
 */
import { formatTable, renderTemplate } from "../util/template.ts";
import { println, writeOut } from "./common.ts";

/** Prints `rows` as `--format` asks, or as `defaultTable` (a `table ...` template) otherwise. */
export function printRows(
  rows: object[],
  format: string | undefined,
  defaultTable: string,
  headers: Record<string, string>,
): void {
  if (format === "json") {
    println(JSON.stringify(rows, null, 4));
    return;
  }
  const template = format ?? defaultTable;
  if (/^\s*table\b/.test(template)) {
    writeOut(formatTable(template, rows, headers));
    return;
  }
  for (const row of rows) println(renderTemplate(template, row));
}

/** Prints `inspect`-style data: a JSON array, or one template line per object. */
export function printInspect(objects: object[], format: string | undefined): void {
  if (format === undefined || format === "json") {
    println(JSON.stringify(objects, null, 4));
    return;
  }
  for (const object of objects) println(renderTemplate(format, object));
}
