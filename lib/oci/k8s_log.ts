/**
 * The `k8s-file` container log format, as conmon writes it: one record per line of output,
 * `TIMESTAMP STREAM TAG MESSAGE`, where TIMESTAMP is local time with nanoseconds and the UTC
 * offset, STREAM is `stdout` or `stderr`, and TAG is `F` for a full line or `P` for a partial one
 * (output that did not end in a newline yet; the record still ends in one). Lines of one read
 * share a timestamp. Messages are kept as bytes: output need not be UTF-8.
 *
 * @example
 * ```ts
 * encodeK8sRecords("stdout", new TextEncoder().encode("a\nb"), "2026-11-28T10:00:00.123456789+00:00");
 * // "2026-11-28T10:00:00.123456789+00:00 stdout F a\n2026-11-28T10:00:00.123456789+00:00 stdout P b\n"
 * parseK8sLogLine("2026-11-28T10:00:00.123456789+00:00 stderr F oops");
 * // { timestamp: "2026-11-28T10:00:00.123456789+00:00", stream: "stderr", partial: false, message: "oops", ... }
 * ```
 * @module
 */

/** The container stream a log record came from. */
export type LogStream = "stdout" | "stderr";

/** Nanoseconds since the Unix epoch, now (microsecond resolution). */
export function nowEpochNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms * 1000)) * 1000n;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * Formats an instant as conmon does: `2026-11-28T10:00:00.123456789+00:00`, in local time with
 * its UTC offset (`offsetMinutes` east of UTC; the host's offset at that instant by default).
 */
export function k8sTimestamp(epochNs: bigint, offsetMinutes?: number): string {
  const seconds = epochNs / 1_000_000_000n;
  const nanos = Number(epochNs % 1_000_000_000n);
  const epochMs = Number(seconds) * 1000;
  const offset = offsetMinutes ?? -new Date(epochMs).getTimezoneOffset();
  const local = new Date(epochMs + offset * 60_000);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.` +
    `${pad(nanos, 9)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/**
 * Encodes one chunk of a stream's output as k8s-file records: each line that ends in `\n` is a
 * full (`F`) record; a trailing remainder without one is a partial (`P`) record. An empty chunk
 * gives no records.
 */
export function encodeK8sRecords(
  stream: LogStream,
  chunk: Uint8Array,
  timestamp: string,
): Uint8Array {
  const full = encoder.encode(`${timestamp} ${stream} F `);
  const partial = encoder.encode(`${timestamp} ${stream} P `);
  const parts: Uint8Array[] = [];
  let start = 0;
  while (start < chunk.length) {
    const end = chunk.indexOf(NEWLINE, start);
    if (end === -1) {
      parts.push(partial, chunk.subarray(start), Uint8Array.of(NEWLINE));
      break;
    }
    parts.push(full, chunk.subarray(start, end + 1));
    start = end + 1;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** One parsed k8s-file record. */
export interface K8sLogRecord {
  /** The timestamp exactly as written (nanoseconds and offset). */
  timestamp: string;
  /** The timestamp as a Date (millisecond precision). */
  time: Date;
  /** Which stream the output came from. */
  stream: LogStream;
  /** True for a `P` record: the line continues in the next record of the same stream. */
  partial: boolean;
  /** The output, without the record's trailing newline. */
  message: string;
}

const RECORD =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) (stdout|stderr) ([FP]) ?(.*)$/s;

/** Parses one line of a k8s-file log (with or without its newline); null when malformed. */
export function parseK8sLogLine(line: string): K8sLogRecord | null {
  const m = RECORD.exec(line.endsWith("\n") ? line.slice(0, -1) : line);
  if (!m) return null;
  const time = new Date(m[1].replace(/(\.\d{3})\d*/, "$1"));
  if (Number.isNaN(time.getTime())) return null;
  return {
    timestamp: m[1],
    time,
    stream: m[2] as LogStream,
    partial: m[3] === "P",
    message: m[4],
  };
}

/**
 * Appends container output to a k8s-file log. Writes are synchronous and whole, so records of
 * the two streams never interleave mid-line.
 */
export class K8sLogWriter {
  readonly #file: Deno.FsFile;

  /** Wraps a file opened for appending; the writer owns it from now on. */
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens (creating, mode 0600) the log at `path` for appending. */
  static async open(path: string): Promise<K8sLogWriter> {
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    return new K8sLogWriter(file);
  }

  /** Writes one chunk of a stream's output as records stamped `epochNs` (now by default). */
  write(stream: LogStream, chunk: Uint8Array, epochNs: bigint = nowEpochNs()): void {
    let bytes = encodeK8sRecords(stream, chunk, k8sTimestamp(epochNs));
    while (bytes.length > 0) bytes = bytes.subarray(this.#file.writeSync(bytes));
  }

  /** Closes the log file. */
  close(): void {
    this.#file.close();
  }
}
