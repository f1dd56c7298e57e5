/**
 * Values as Go's `fmt` and `encoding/json` print them, for templates: `%v` formatting
 * (`[a b]`, `map[a:b]`, `<nil>`, `<no value>`), podman's `json` function, and Go's template
 * truth.
 *
 * @example
 * ```ts
 * formatGoValue({ b: "2", a: "1" }); // "map[a:1 b:2]"
 * goJson(new Map([["b", 1], ["a", 2]])); // '{"a":2,"b":1}'
 * ```
 * @module
 */
import { goTimeString } from "../humanize.ts";

/** Go's `reflect.Value` zero: a missing map key prints as `<no value>`. */
export const NO_VALUE = "<no value>";

/** A map's or plain object's entries with keys as text, sorted as Go sorts map keys. */
export function sortedEntries(
  value: Map<unknown, unknown> | Record<string, unknown>,
): [string, unknown][] {
  const entries: [string, unknown][] = value instanceof Map
    ? [...value.entries()].map(([k, v]) => [formatGoValue(k), v])
    : Object.entries(value);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** True for `{…}` objects (not class instances, arrays or maps). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Formats a value as Go's `fmt.Sprint` (`%v`) does for the types denopod passes to templates:
 * strings as is, integers without exponent, arrays `[a b]`, maps and plain objects
 * `map[k:v]` with sorted keys, null `<nil>`, undefined `<no value>`, dates like `time.Time`.
 *
 * @example
 * ```ts
 * formatGoValue({ b: "2", a: "1" }); // "map[a:1 b:2]"
 * formatGoValue(["x", 1]);           // "[x 1]"
 * ```
 */
export function formatGoValue(value: unknown): string {
  if (value === undefined) return NO_VALUE;
  if (value === null) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    if (Number.isInteger(value)) return BigInt(value).toString();
    return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  }
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Date) return goTimeString(value);
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "<nil>" : formatGoValue(v))).join(" ")}]`;
  }
  if (value instanceof Map || isPlainObject(value)) {
    const body = sortedEntries(value).map(([k, v]) => `${k}:${formatGoValue(v ?? null)}`);
    return `map[${body.join(" ")}]`;
  }
  if (typeof value === "object") {
    // A class instance: print its own enumerable fields in order, as Go prints a struct.
    return `{${Object.values(value).map((v) => formatGoValue(v ?? null)).join(" ")}}`;
  }
  return String(value);
}

function toGoJson(value: unknown): unknown {
  if (value instanceof Date) {
    // RFC 3339 with the fraction's trailing zeros cut, as Go marshals time.Time.
    return value.toISOString().replace(/\.?0+Z$/, "Z").replace(/\.(\d*?)0*Z$/, ".$1Z");
  }
  if (value instanceof Map) {
    return Object.fromEntries(sortedEntries(value).map(([k, v]) => [k, toGoJson(v)]));
  }
  if (Array.isArray(value)) return value.map((v) => toGoJson(v ?? null));
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toGoJson(v);
    return out;
  }
  return value;
}

/**
 * Marshals a value as podman's `json` template function does (Go's `encoding/json` with HTML
 * escaping off): compact, `Map` keys sorted, dates as RFC 3339.
 */
export function goJson(value: unknown): string {
  const text = JSON.stringify(toGoJson(value)) ?? "null";
  return text.replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Go's template truth: false, 0, "", nil, and empty arrays and maps are false. */
export function truth(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  return true;
}

/** Go's name for a value's type in error messages (`string`, `[]interface {}`, …). */
export function goTypeName(value: unknown, rootName?: string): string {
  if (value === null || value === undefined) return "interface {}";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) {
    // podman's reporters hold lists of strings (`Names`, `Mounts`): an empty list is one too
    return value.every((v) => typeof v === "string") ? "[]string" : "[]interface {}";
  }
  if (value instanceof Map) return "map[string]interface {}";
  if (rootName !== undefined) return rootName;
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== "Object" ? ctor : "struct";
}
