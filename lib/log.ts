/**
 * Logging for denopod: a thin logger with no dependency, so that every command can load it.
 * Library code gets a logger with {@linkcode logger} and never prints; the CLI calls
 * {@linkcode setupLogging} once with the `--log-level` flag. Records go to stderr in podman's
 * shape: `WARN[0000] message`. Messages may hold `{name}` placeholders filled from the
 * properties given with them (as logtape's did).
 *
 * @example
 * ```ts
 * const log = logger("storage");
 * log.debug("mounted {path}", { path: "/var/lib/denopod/layers/x/merged" });
 * ```
 * @module
 */
import { InvalidArgError } from "./errors.ts";

/** Log levels accepted by `--log-level`, podman's names. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"] as const;

/** The levels a record can have, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error" | "fatal";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, fatal: 4 };

const LABELS: Record<LogLevel, string> = {
  debug: "DEBU",
  info: "INFO",
  warning: "WARN",
  error: "ERRO",
  fatal: "FATA",
};

/** Properties that fill a message's `{name}` placeholders. */
export type LogProperties = Record<string, unknown>;

/** A component's logger: one method per level. */
export interface Logger {
  debug(message: string, properties?: LogProperties): void;
  info(message: string, properties?: LogProperties): void;
  warn(message: string, properties?: LogProperties): void;
  error(message: string, properties?: LogProperties): void;
  fatal(message: string, properties?: LogProperties): void;
}

/** The lowest level written (warnings until setupLogging says otherwise). */
let lowest: LogLevel = "warning";
const started = performance.now();
const encoder = new TextEncoder();

function write(level: LogLevel, message: string, properties?: LogProperties): void {
  if (RANK[level] < RANK[lowest]) return;
  const text = properties === undefined
    ? message
    : message.replace(/\{(\w+)\}/g, (whole, name: string) =>
      name in properties ? String(properties[name]) : whole);
  const seconds = Math.floor((performance.now() - started) / 1000).toString().padStart(4, "0");
  Deno.stderr.writeSync(encoder.encode(`${LABELS[level]}[${seconds}] ${text}\n`));
}

/** Returns the logger for a denopod component (the component is not shown, as in podman). */
export function logger(_component: string): Logger {
  return {
    debug: (message, properties) => write("debug", message, properties),
    info: (message, properties) => write("info", message, properties),
    warn: (message, properties) => write("warning", message, properties),
    error: (message, properties) => write("error", message, properties),
    fatal: (message, properties) => write("fatal", message, properties),
  };
}

/** Maps a podman `--log-level` name to a level; throws InvalidArgError for others. */
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

/** Writes records at `level` and above to stderr. Safe to call more than once. */
export function setupLogging(level: LogLevel): void {
  lowest = level;
}
