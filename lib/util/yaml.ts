/**
 * YAML as podman's `info` prints it (Go's yaml.v2 marshalling a map): keys sorted, lists not
 * indented under their key, plain scalars where they stay strings, `"12"` quoted when it would
 * read as a number, bool or null, `'a: b'` single-quoted, multi-line text as a `|-` block.
 *
 * @example
 * ```ts
 * toYaml({ host: { arch: "amd64", cpus: 2, list: ["a"] } });
 * // "host:\n  arch: amd64\n  cpus: 2\n  list:\n  - a\n"
 * ```
 * @module
 */

/** True when a plain scalar would be read back as something other than this string. */
function needsQuotes(text: string): boolean {
  if (text === "") return true;
  if (
    /^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/
      .test(text)
  ) {
    return true;
  }
  return /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(text) ||
    /^0x[0-9a-fA-F]+$/.test(text) || /^[-+]?\.(inf|Inf|INF)$/.test(text) ||
    /^\.(nan|NaN|NAN)$/.test(text);
}

/** True when a plain scalar cannot hold this string (indicators, `: `, ` #`, edges). */
function needsSingleQuotes(text: string): boolean {
  return /^[-?:,[\]{}#&*!|>'"%@`\s]/.test(text) || /[\s]$/.test(text) || text.includes(": ") ||
    text.includes(" #") || text.endsWith(":");
}

function scalar(value: unknown, indent: string): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = String(value);
  if (text.includes("\n")) {
    return `|-\n${text.split("\n").map((line) => `${indent}${line}`).join("\n")}`;
  }
  if (needsQuotes(text)) return JSON.stringify(text);
  if (needsSingleQuotes(text)) return `'${text.replaceAll("'", "''")}'`;
  return text;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function emit(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return " []\n";
    return "\n" + value.map((item) => {
      if (isMap(item) && Object.keys(item).length > 0) {
        const body = emit(item, `${indent}  `).replace(/^\n\s*/, "");
        return `${indent}- ${body}`;
      }
      return `${indent}-${emit(item, `${indent}  `)}`;
    }).join("");
  }
  if (isMap(value)) {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return " {}\n";
    return "\n" + keys.map((key) => {
      const child = value[key];
      const nested = Array.isArray(child) ? indent : `${indent}  `;
      return `${indent}${key}:${emit(child, nested)}`;
    }).join("");
  }
  return ` ${scalar(value, indent)}\n`;
}

/** The YAML text of `value` (a map at the top), ending in a newline. */
export function toYaml(value: Record<string, unknown>): string {
  return emit(value, "").replace(/^\n/, "");
}
