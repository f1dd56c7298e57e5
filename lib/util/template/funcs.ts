/**
 * The functions a `--format` template can call: Go's built-ins (`and`, `or`, `not`, `len`,
 * `index`, `slice`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `print`, `printf`, `println`) and
 * podman's additions (`json`, `lower`, `upper`, `title`, `join`, `split`, `pad`, `truncate`).
 *
 * @example
 * ```ts
 * FUNCTIONS.join(["a", "b"], ","); // "a,b"
 * goSprintf("%-4s|%03d", ["ab", 7]); // "ab  |007"
 * ```
 * @module
 */
import { formatGoValue, goJson, goTypeName, isPlainObject, truth } from "./values.ts";

/** A function refused its arguments; the executor adds the position. */
export class FuncError extends Error {}

/** A template function. */
export type TemplateFunc = (...args: unknown[]) => unknown;

function asString(value: unknown, fn: string): string {
  if (typeof value !== "string") {
    throw new FuncError(`error calling ${fn}: expected a string, got ${formatGoValue(value)}`);
  }
  return value;
}

function asInt(value: unknown, fn: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new FuncError(`error calling ${fn}: expected an integer, got ${formatGoValue(value)}`);
  }
  return value;
}

function goLen(value: unknown): number {
  if (typeof value === "string") return new TextEncoder().encode(value).length;
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  if (isPlainObject(value)) return Object.keys(value).length;
  throw new FuncError(`error calling len: len of type ${goTypeName(value)}`);
}

function indexOne(item: unknown, key: unknown): unknown {
  if (Array.isArray(item) || typeof item === "string") {
    const i = asInt(key, "index");
    if (i < 0 || i >= item.length) {
      throw new FuncError(`error calling index: index out of range: ${i}`);
    }
    return typeof item === "string" ? item.charCodeAt(i) : item[i];
  }
  if (item instanceof Map) return item.get(key);
  if (isPlainObject(item)) return Object.hasOwn(item, String(key)) ? item[String(key)] : undefined;
  if (item === null || item === undefined) {
    throw new FuncError("error calling index: index of untyped nil");
  }
  throw new FuncError(`error calling index: can't index item of type ${goTypeName(item)}`);
}

function compare(fn: string, a: unknown, b: unknown): number {
  const ok = (typeof a === "number" && typeof b === "number") ||
    (typeof a === "string" && typeof b === "string");
  if (!ok) throw new FuncError(`error calling ${fn}: incompatible types for comparison`);
  return (a as number | string) < (b as number | string)
    ? -1
    : (a as number | string) > (b as number | string)
    ? 1
    : 0;
}

function basicEqual(a: unknown, b: unknown): boolean {
  const basic = (v: unknown) =>
    v === null || v === undefined || ["string", "number", "boolean"].includes(typeof v);
  if (!basic(a) || !basic(b)) throw new FuncError("error calling eq: non-comparable types");
  return (a ?? null) === (b ?? null);
}

/** Go's `fmt.Sprint`: a space between operands when neither is a string. */
function goSprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatGoValue(a ?? null);
  });
  return out;
}

/** A `printf` covering the verbs scripts use: %v %s %d %q %t %x %X %f %e %g %c %%. */
export function goSprintf(format: string, args: unknown[]): string {
  let argIndex = 0;
  return format.replace(
    /%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqtxXfegcb%])/g,
    (_whole, flags: string, width?: string, prec?: string, verb?: string) => {
      if (verb === "%") return "%";
      if (argIndex >= args.length) return `%!${verb}(MISSING)`;
      const arg = args[argIndex++];
      let s: string;
      switch (verb) {
        case "d":
          s = typeof arg === "number" ? Math.trunc(arg).toString() : `%!d(${formatGoValue(arg)})`;
          break;
        case "q":
          s = JSON.stringify(formatGoValue(arg));
          break;
        case "x":
        case "X":
          s = typeof arg === "number"
            ? Math.trunc(arg).toString(16)
            : Array.from(new TextEncoder().encode(formatGoValue(arg)), (b) =>
              b.toString(16).padStart(2, "0")).join("");
          if (verb === "X") s = s.toUpperCase();
          break;
        case "f":
          s = typeof arg === "number"
            ? arg.toFixed(prec ? Number(prec) : 6)
            : `%!f(${formatGoValue(arg)})`;
          break;
        case "e":
          s = typeof arg === "number"
            ? arg.toExponential(prec ? Number(prec) : 6).replace(/e([+-])(\d)$/, "e$10$2")
            : `%!e(${formatGoValue(arg)})`;
          break;
        case "c":
          s = typeof arg === "number" ? String.fromCodePoint(arg) : `%!c(${formatGoValue(arg)})`;
          break;
        case "b":
          s = typeof arg === "number" ? Math.trunc(arg).toString(2) : `%!b(${formatGoValue(arg)})`;
          break;
        default:
          s = formatGoValue(arg ?? null);
          if (prec !== undefined && (verb === "s" || verb === "v")) {
            s = [...s].slice(0, Number(prec)).join("");
          }
      }
      if (width !== undefined) {
        const w = Number(width);
        const padChar = flags.includes("0") && !flags.includes("-") ? "0" : " ";
        s = flags.includes("-") ? s.padEnd(w, " ") : s.padStart(w, padChar);
      }
      return s;
    },
  ) + (argIndex < args.length
    ? `%!(EXTRA ${
      args.slice(argIndex).map((a) => formatGoValue(a)).join(", ")
    })`
    : "");
}

/** Every function a template can call, by name (`and`/`or` are evaluated lazily by the executor). */
export const FUNCTIONS: Record<string, TemplateFunc> = {
  // Go's built-ins (and/or are handled lazily by the evaluator).
  and: () => undefined,
  or: () => undefined,
  not: (v) => !truth(v),
  len: (v) => goLen(v),
  index: (item, ...keys) => keys.reduce((acc, k) => indexOne(acc, k), item),
  slice: (item, ...idx) => {
    if (typeof item !== "string" && !Array.isArray(item)) {
      throw new FuncError(`error calling slice: can't slice item of type ${goTypeName(item)}`);
    }
    const from = idx.length > 0 ? asInt(idx[0], "slice") : 0;
    const to = idx.length > 1 ? asInt(idx[1], "slice") : item.length;
    if (from < 0 || to > item.length || from > to) {
      throw new FuncError(`error calling slice: index out of range: ${from}:${to}`);
    }
    return item.slice(from, to);
  },
  eq: (a, ...rest) => {
    if (rest.length === 0) throw new FuncError("error calling eq: missing argument for comparison");
    return rest.some((b) => basicEqual(a, b));
  },
  ne: (a, b) => !basicEqual(a, b),
  lt: (a, b) => compare("lt", a, b) < 0,
  le: (a, b) => compare("le", a, b) <= 0,
  gt: (a, b) => compare("gt", a, b) > 0,
  ge: (a, b) => compare("ge", a, b) >= 0,
  print: (...args) => goSprint(args),
  println: (...args) => args.map((a) => formatGoValue(a ?? null)).join(" ") + "\n",
  printf: (format, ...args) => goSprintf(asString(format, "printf"), args),
  // podman's additions (containers/common pkg/report).
  json: (v) => goJson(v),
  lower: (s) => asString(s, "lower").toLowerCase(),
  upper: (s) => asString(s, "upper").toUpperCase(),
  title: (s) =>
    asString(s, "title").replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, a, b) => a + b.toUpperCase()),
  join: (list, sep) => {
    if (!Array.isArray(list)) {
      throw new FuncError(`error calling join: expected a list, got ${formatGoValue(list)}`);
    }
    return list.map((v) => formatGoValue(v ?? null)).join(asString(sep, "join"));
  },
  split: (s, sep) => asString(s, "split").split(asString(sep, "split")),
  pad: (s, prefix, suffix) =>
    " ".repeat(Math.max(0, asInt(prefix, "pad"))) + asString(s, "pad") +
    " ".repeat(Math.max(0, asInt(suffix, "pad"))),
  truncate: (s, n) => {
    const str = asString(s, "truncate");
    const len = asInt(n, "truncate");
    return str.length > len ? str.slice(0, len) : str;
  },
};
