/**
 * Column alignment as Go's `text/tabwriter` does it (left-aligned, space padding), which is what
 * podman's tables go through: `tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)`. Cells are separated by
 * tabs; the last cell of a line is never padded; a column's width is set per block of
 * consecutive lines that have a cell in that column, as Go does.
 *
 * @example
 * ```ts
 * alignColumns("CONTAINER ID\tNAMES\n3f9c0a1b2c3d\tweb\n");
 * // "CONTAINER ID  NAMES\n3f9c0a1b2c3d  web\n"
 * ```
 * @module
 */

/** Go tabwriter settings. */
export interface TabwriterOptions {
  /** Minimal cell width including padding (podman: 12). */
  minWidth?: number;
  /** Padding added to the widest cell of a column (podman: 2). */
  padding?: number;
  /** The padding character (podman: space). */
  padChar?: string;
}

/** The number of characters (code points) Go's tabwriter counts for a cell. */
function cellWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Aligns tab-separated text into columns exactly as Go's tabwriter with podman's settings
 * (min width 12, padding 2, spaces). Newlines end lines; a trailing partial line is kept.
 */
export function alignColumns(text: string, options: TabwriterOptions = {}): string {
  const minWidth = options.minWidth ?? 12;
  const padding = options.padding ?? 2;
  const padChar = options.padChar ?? " ";
  const lines = text.split("\n").map((line) => line.split("\t"));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      let s = "";
      lines[i].forEach((cell, j) => {
        s += cell;
        if (j < widths.length) s += padChar.repeat(Math.max(0, widths[j] - cellWidth(cell)));
      });
      out.push(s);
    }
  };

  // Port of tabwriter's recursive format(): columns are decided block by block.
  const format = (start: number, end: number) => {
    const column = widths.length;
    let line0 = start;
    for (let current = start; current < end; current++) {
      if (column >= lines[current].length - 1) continue;
      writeLines(line0, current);
      line0 = current;
      let width = minWidth;
      for (; current < end; current++) {
        const line = lines[current];
        if (column >= line.length - 1) break;
        width = Math.max(width, cellWidth(line[column]) + padding);
      }
      widths.push(width);
      format(line0, current);
      widths.pop();
      line0 = current; // the line that ended the block has no cell here: skipping it is safe
    }
    writeLines(line0, end);
  };

  format(0, lines.length);
  return out.join("\n");
}

/**
 * Aligns rows of cells into a table as podman prints them (each row a line, ending in a
 * newline).
 *
 * @example
 * ```ts
 * formatColumns([["ID", "NAME"], ["abc", "web"]]); // "ID          NAME\nabc         web\n"
 * ```
 */
export function formatColumns(rows: string[][], options: TabwriterOptions = {}): string {
  if (rows.length === 0) return "";
  return alignColumns(rows.map((r) => r.join("\t")).join("\n") + "\n", options);
}
