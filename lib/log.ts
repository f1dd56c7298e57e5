/**
 * Logging for denopod, on `@logtape/logtape`. Library code gets a logger with
 * {@linkcode logger} and never prints; the CLI calls {@linkcode setupLogging} once with the
 * `--log-level` flag. Records go to stderr in podman's shape: `WARN[0000] message`.
 *
 * @example
 * ```ts
 * const log = logger("storage");
 * log.debug("mounted {path}", { path: "/var/lib/denopod/layers/x/merged" });
 * ```
 * @module
 */
import {
  configureSync,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";
import { InvalidArgError } from "./errors.ts";

/** Log levels accepted by `--log-level`, podman's names. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"] as const;

/** Returns the logger for a denopod component (`denopod.<component>`). */
export function logger(component: string): Logger {
  return getLogger(["denopod", component]);
}

const started = performance.now();
const encoder = new TextEncoder();

const LABELS: Record<LogLevel, string> = {
  trace: "TRAC",
  debug: "DEBU",
  info: "INFO",
  warning: "WARN",
  error: "ERRO",
  fatal: "FATA",
};

function stderrSink(record: LogRecord): void {
  const seconds = Math.floor((performance.now() - started) / 1000).toString().padStart(4, "0");
  const text = record.message.map((part) => typeof part === "string" ? part : String(part))
    .join("");
  Deno.stderr.writeSync(encoder.encode(`${LABELS[record.level]}[${seconds}] ${text}\n`));
}

/** Maps a podman `--log-level` name to a logtape level; throws InvalidArgError for others. */
export function parseLogLevel(name: string): LogLevel {
  switch (name) {
    case "debug":
    case "trace":
      return "debug";
    case "info":
      return "info";
    case "warn":
    case "warning":
      return "warning";
    case "error":
      return "error";
    case "fatal":
    case "panic":
      return "fatal";
  }
  throw new InvalidArgError(
    `invalid log level "${name}": must be one of ${LOG_LEVELS.join(", ")}`,
  );
}

/** Routes denopod's records at `level` and above to stderr. Safe to call more than once. */
export function setupLogging(level: LogLevel): void {
  configureSync({
    reset: true,
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["denopod"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
    ],
  });
}
