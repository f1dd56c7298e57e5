/**
 * Just enough of Go's `encoding/json` output rules to write the docker-archive legacy files
 * byte for byte as podman (containers/image) does: object keys sorted, raw config values
 * compacted with `<`, `>`, `&`, U+2028 and U+2029 escaped (what `json.Marshal` does with a
 * `json.RawMessage`).
 *
 * @example
 * ```ts
 * const members = topLevelMembers('{"os": "linux", "config": {"Cmd": ["a<b"]}}');
 * goMarshalObject({ os: members.get("os")!, id: goString("abc") });
 * // '{"id":"abc","os":"linux"}'
 * ```
 * @module
 */

/** A JSON string literal as Go's `json.Marshal` writes it (HTML-sensitive characters escaped). */
export function goString(value: string): string {
  return escapeHtml(JSON.stringify(value));
}

/**
 * A JSON object from already-encoded member values, keys sorted by code unit as Go sorts map
 * keys, no whitespace.
 */
export function goMarshalObject(members: Record<string, string>): string {
  const keys = Object.keys(members).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((key) => `${goString(key)}:${members[key]}`).join(",")}}`;
}

/**
 * The members of a JSON object text, each value as its raw text compacted the way Go compacts
 * a `json.RawMessage` (whitespace outside strings dropped, HTML-sensitive characters escaped).
 * A key that appears twice keeps its last value, as `json.Unmarshal` into a map does. The text
 * must be valid JSON (check it with `JSON.parse` first); throws a TypeError if it is not an
 * object.
 */
export function topLevelMembers(text: string): Map<string, string> {
  const members = new Map<string, string>();
  let pos = skipSpace(text, 0);
  if (text[pos] !== "{") throw new TypeError("JSON text is not an object");
  pos = skipSpace(text, pos + 1);
  if (text[pos] === "}") return members;
  while (pos < text.length) {
    const keyEnd = endOfString(text, pos);
    const key = JSON.parse(text.slice(pos, keyEnd)) as string;
    pos = skipSpace(text, keyEnd);
    pos = skipSpace(text, pos + 1); // ':'
    const valueEnd = endOfValue(text, pos);
    members.set(key, compact(text.slice(pos, valueEnd)));
    pos = skipSpace(text, valueEnd);
    if (text[pos] === "}") break;
    pos = skipSpace(text, pos + 1); // ','
  }
  return members;
}

function compact(raw: string): string {
  let out = "";
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c === '"') {
      const end = endOfString(raw, i);
      out += escapeHtml(raw.slice(i, end));
      i = end;
    } else {
      if (!isSpace(c)) out += c;
      i++;
    }
  }
  return out;
}

function escapeHtml(literal: string): string {
  return literal.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function endOfValue(text: string, pos: number): number {
  const c = text[pos];
  if (c === '"') return endOfString(text, pos);
  if (c === "{" || c === "[") {
    let depth = 0;
    let i = pos;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = endOfString(text, i);
        continue;
      }
      if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return text.length;
  }
  let i = pos;
  while (i < text.length && !",}] \t\n\r".includes(text[i])) i++;
  return i;
}

/** Index just past the closing quote of the string literal starting at `pos`. */
function endOfString(text: string, pos: number): number {
  let i = pos + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return text.length;
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text[pos])) pos++;
  return pos;
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}
