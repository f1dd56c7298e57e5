/**
 * Checks shared by the rundir file builders: no control characters in user values (so a value
 * can never add a line to `resolv.conf` or `hosts`), and IP address parsing like Go's
 * `net.ParseIP` (dotted-quad IPv4 without leading zeros, IPv6 without a zone).
 *
 * @example
 * ```ts
 * assertNoControlChars("--hostname", "web\nevil"); // throws InvalidArgError
 * isIpAddress("fe80::1"); // true
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";

/** The network mode of a container, as far as its rundir files care. */
export type NetworkMode = "private" | "none" | "host";

// C0 controls, DEL and C1 controls, plus the Unicode line and paragraph separators.
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Throws {@linkcode InvalidArgError} naming `flag` and the value (JSON-quoted, so the control
 * character is visible) when `value` holds a newline, tab or other control character.
 *
 * @example
 * ```ts
 * assertNoControlChars("--dns-search", "a.com\nnameserver 6.6.6.6");
 * // InvalidArgError: invalid value for --dns-search: "a.com\nnameserver 6.6.6.6" contains a control character
 * ```
 */
export function assertNoControlChars(flag: string, value: string): void {
  if (CONTROL_CHARS.test(value)) {
    throw new InvalidArgError(
      `invalid value for ${flag}: ${JSON.stringify(value)} contains a control character`,
    );
  }
}

/** Returns the 4 bytes of a dotted-quad IPv4 address (no leading zeros), or null. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** Returns the 16 bytes of an IPv6 address (`::` and an embedded IPv4 tail allowed; no zone), or null. */
export function parseIpv6(text: string): number[] | null {
  if (text.includes("%") || !text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  // An embedded IPv4 tail is only allowed at the very end.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  let words: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** True when `text` is an IPv4 or IPv6 address as Go's `net.ParseIP` accepts it (no zone). */
export function isIpAddress(text: string): boolean {
  return parseIpv4(text) !== null || parseIpv6(text) !== null;
}

/** True for IPv6 addresses, including IPv4-mapped ones such as `::ffff:1.2.3.4`. */
export function isIpv6Address(text: string): boolean {
  return parseIpv6(text) !== null;
}

/**
 * True for loopback addresses: `127.0.0.0/8`, `::1` and IPv4-mapped `::ffff:127.x.x.x`
 * (as Go's `IP.IsLoopback`).
 */
export function isLoopbackAddress(text: string): boolean {
  const v4 = parseIpv4(text);
  if (v4 !== null) return v4[0] === 127;
  const v6 = parseIpv6(text);
  if (v6 === null) return false;
  if (v6.slice(0, 15).every((b) => b === 0) && v6[15] === 1) return true;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped && v6[12] === 127;
}
