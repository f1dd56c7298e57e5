/**
 * Reading a container's `k8s-file` log: all of it, the last N lines, since a time, with or
 * without timestamps, and following it while the container runs. Attached `run` and `start -a`
 * follow the log from where it stood at start, so the container's stdout and stderr reach ours
 * live and in order.
 *
 * @example
 * ```ts
 * await readLogs(path, { follow: true, timestamps: false }, sinks, () => isRunning());
 * ```
 * @module
 */
import { parseK8sLogLine } from "../oci/k8s_log.ts";
import type { ChangeWatch } from "../util/change_watch.ts";

/** Where log records go: the container's stdout and stderr, each a synchronous writer. */
export interface LogSinks {
  stdout: { writeSync(p: Uint8Array): number };
  stderr: { writeSync(p: Uint8Array): number };
}

/** What to show of a log. */
export interface LogOptions {
  /** Keep reading while `stillRunning` says so. */
  follow: boolean;
  /** Prefix each line with its timestamp. */
  timestamps: boolean;
  /** Only records at or after this time. */
  since?: Date;
  /** Only the last N lines (before following). */
  tail?: number;
  /** Start reading at this byte offset (attach). */
  offset?: number;
}

const encoder = new TextEncoder();
const POLL_MS = 10;
/** How many first looks at a followed log come after 1 ms, not POLL_MS: a short run's end is seen at once. */
const QUICK_POLLS = 50;
/**
 * With a watch of the log and the exit file, the longest wait between looks: what no watch
 * announces (a monitor that died, a container removed by another command) is seen this late.
 */
const WATCHED_POLL_MS = 100;

function writeAll(writer: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writer.writeSync(bytes.subarray(at));
}

/** Splits text into complete lines; returns them and the unfinished remainder. */
function completeLines(text: string): [string[], string] {
  const lines = text.split("\n");
  const rest = lines.pop() ?? "";
  return [lines, rest];
}

/**
 * A log timestamp as `podman logs -t` prints it, Go's RFC 3339 with nanoseconds: a zero offset
 * is `Z`, the fraction loses its trailing zeros (`…T10:00:00.1234Z`).
 */
export function rfc3339Nano(timestamp: string): string {
  const m = /^(.*?T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)$/.exec(timestamp);
  if (!m) return timestamp;
  const fraction = (m[2] ?? "").replace(/0+$/, "").replace(/^\.$/, "");
  const zone = m[3] === "+00:00" || m[3] === "-00:00" ? "Z" : m[3];
  return `${m[1]}${fraction}${zone}`;
}

function emit(line: string, options: LogOptions, sinks: LogSinks): void {
  const record = parseK8sLogLine(line);
  if (!record) return;
  if (options.since && record.time < options.since) return;
  const prefix = options.timestamps ? `${rfc3339Nano(record.timestamp)} ` : "";
  const text = `${prefix}${record.message}${record.partial ? "" : "\n"}`;
  writeAll(record.stream === "stderr" ? sinks.stderr : sinks.stdout, encoder.encode(text));
}

function readMore(file: Deno.FsFile, buf: Uint8Array): Uint8Array {
  const n = file.readSync(buf);
  return n === null || n === 0 ? new Uint8Array(0) : buf.subarray(0, n);
}

/**
 * Writes the log at `path` to `sinks` as `options` ask; with `follow`, keeps reading until
 * `stillRunning()` turns false, then drains what is left. A missing log is an empty one.
 */
export async function readLogs(
  path: string,
  options: LogOptions,
  sinks: LogSinks,
  stillRunning: () => Promise<boolean>,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    await followLog(file, options, sinks, stillRunning);
  } finally {
    file.close();
  }
}

/**
 * As {@linkcode readLogs}, on a log file opened beforehand: reading goes on through the open
 * descriptor even when a `--rm` cleanup deletes the file meanwhile. With `watch` (a watch of the
 * log and of what `stillRunning` reads), the next look comes when one of them changes, not on a
 * timer.
 */
export async function followLog(
  file: Deno.FsFile,
  options: LogOptions,
  sinks: LogSinks,
  stillRunning: () => Promise<boolean>,
  watch?: ChangeWatch,
): Promise<void> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(256 * 1024);
  if (options.offset) file.seekSync(options.offset, Deno.SeekMode.Start);
  let text = "";
  for (let chunk = readMore(file, buf); chunk.length > 0; chunk = readMore(file, buf)) {
    text += decoder.decode(chunk, { stream: true });
  }
  let [lines, rest] = completeLines(text);
  if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
  for (const line of lines) emit(line, options, sinks);
  if (!options.follow) return;
  for (let polls = 0;; polls++) {
    const running = await stillRunning();
    let got = false;
    for (let chunk = readMore(file, buf); chunk.length > 0; chunk = readMore(file, buf)) {
      got = true;
      [lines, rest] = completeLines(rest + decoder.decode(chunk, { stream: true }));
      for (const line of lines) emit(line, options, sinks);
    }
    if (!running) {
      if (rest !== "") emit(rest, options, sinks);
      return;
    }
    if (got) continue;
    if (watch) await watch.wait(WATCHED_POLL_MS);
    else await new Promise((resolve) => setTimeout(resolve, polls < QUICK_POLLS ? 1 : POLL_MS));
  }
}
