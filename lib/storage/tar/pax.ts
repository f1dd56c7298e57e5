/**
 * PAX extended header records (`LENGTH KEY=VALUE\n`, POSIX.1-2001), decoded and encoded as bytes,
 * so binary values such as `SCHILY.xattr.security.capability` survive unchanged.
 *
 * @example
 * ```ts
 * const bytes = encodePaxRecords([["path", "a/very/long/name"]]);
 * parsePaxRecords(bytes).get("path"); // Uint8Array of "a/very/long/name"
 * ```
 * @module
 */
import { ArchiveError } from "../../errors.ts";

/** Key prefix under which GNU tar and libarchive store extended attributes. */
export const PAX_XATTR_PREFIX = "SCHILY.xattr.";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SPACE = 0x20;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;

/**
 * Parses the data of a PAX header into key → raw value bytes (later records win, as in tar).
 * Throws {@linkcode ArchiveError} on a malformed record. Trailing NUL padding is ignored.
 */
export function parsePaxRecords(data: Uint8Array): Map<string, Uint8Array> {
  const records = new Map<string, Uint8Array>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    let cursor = at;
    let length = 0;
    while (cursor < data.length && data[cursor] >= 0x30 && data[cursor] <= 0x39) {
      length = length * 10 + (data[cursor] - 0x30);
      if (length > data.length) throw malformed(at, "record length runs past the header");
      cursor++;
    }
    if (cursor === at || data[cursor] !== SPACE) throw malformed(at, "bad record length");
    const end = at + length;
    if (end > data.length || data[end - 1] !== NEWLINE) {
      throw malformed(at, "record does not end with a newline where its length says");
    }
    const record = data.subarray(cursor + 1, end - 1);
    const equals = record.indexOf(EQUALS);
    if (equals <= 0) throw malformed(at, "record has no key");
    records.set(decoder.decode(record.subarray(0, equals)), record.subarray(equals + 1));
    at = end;
  }
  return records;
}

/** Encodes records as PAX header data; string values are written as UTF-8. */
export function encodePaxRecords(records: Iterable<[string, string | Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [key, value] of records) {
    const keyBytes = encoder.encode(key);
    const valueBytes = typeof value === "string" ? encoder.encode(value) : value;
    // " KEY=VALUE\n" plus the decimal length, which counts its own digits.
    const rest = 1 + keyBytes.length + 1 + valueBytes.length + 1;
    const guessDigits = String(rest).length;
    let length = rest + guessDigits;
    if (String(length).length > guessDigits) length = rest + String(length).length;
    const digits = encoder.encode(String(length));
    const record = new Uint8Array(length);
    record.set(digits, 0);
    record[digits.length] = SPACE;
    record.set(keyBytes, digits.length + 1);
    record[digits.length + 1 + keyBytes.length] = EQUALS;
    record.set(valueBytes, digits.length + 2 + keyBytes.length);
    record[length - 1] = NEWLINE;
    parts.push(record);
    total += length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function malformed(offset: number, why: string): ArchiveError {
  return new ArchiveError(`malformed PAX header: ${why} (at byte ${offset} of the header)`);
}
