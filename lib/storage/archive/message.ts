/**
 * Helpers that keep archive error messages on one line and short, whatever a hostile archive
 * puts in its names and JSON.
 *
 * @module
 */

const MAX_QUOTED = 80;

/**
 * `value` as a short JSON literal for an error message: control characters escaped, anything
 * past 80 characters cut and marked with `…`.
 *
 * @example
 * ```ts
 * quoteForMessage("a\nb"); // "\"a\\nb\""
 * ```
 */
export function quoteForMessage(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = toOneLine(text);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

/** `text` with every run of control characters (newlines included) replaced by one space. */
export function toOneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
}

/** The one-line message of any thrown value (an Error's message, else its string form). */
export function messageOf(error: unknown): string {
  return toOneLine(error instanceof Error ? error.message : String(error));
}
