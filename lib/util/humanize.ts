/**
 * podman's human output formats, byte for byte: sizes as go-units `HumanSizeWithPrecision(n,
 * 3)`, durations as go-units `HumanDuration`, the `ps` STATUS column, and the parsers for
 * `--shm-size` (go-units `RAMInBytes`), Go durations and `--since`/`--until` times.
 *
 * @example
 * ```ts
 * humanSize(1234);                    // "1.23kB"
 * humanDuration(90);                  // "About a minute"
 * psStatus({ state: "exited", exitCode: 0, finishedAt, now }); // "Exited (0) 3 seconds ago"
 * parseSize("64m");                   // 67108864
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

export { parseSize } from "./size.ts";

/**
 * Formats a number like Go's `%.{precision}g`: shortest form with `precision` significant
 * digits, exponent form (`1e+03`) when the exponent is below -4 or at least `precision`.
 */
export function formatGoG(value: number, precision: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  if (value === 0) return "0";
  const p = Math.max(1, precision);
  const [mantissa, expText] = value.toExponential(p - 1).split("e");
  const exp = Number(expText);
  const trim = (s: string) => s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
  if (exp < -4 || exp >= p) {
    const sign = exp < 0 ? "-" : "+";
    return `${trim(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return trim(value.toFixed(Math.max(0, p - 1 - exp)));
}

const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/**
 * A size in bytes as podman prints it (decimal units, 3 significant digits), exactly as
 * go-units `HumanSizeWithPrecision(size, 3)`.
 *
 * @example
 * ```ts
 * humanSize(0);         // "0B"
 * humanSize(12345678);  // "12.3MB"
 * humanSize(999999);    // "1e+03kB" (go-units prints so too)
 * ```
 */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${formatGoG(size, 3)}${DECIMAL_UNITS[unit]}`;
}

/**
 * A duration in seconds in words, exactly as go-units `HumanDuration`.
 *
 * @example
 * ```ts
 * humanDuration(0.5);     // "Less than a second"
 * humanDuration(5);       // "5 seconds"
 * humanDuration(3600);    // "About an hour"
 * humanDuration(86400*3); // "3 days"
 * ```
 */
export function humanDuration(seconds: number): string {
  const s = Math.trunc(seconds);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(seconds / 3600 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(seconds / 3600) / 24 / 365)} years`;
}

/**
 * How long ago `date` was, as podman's CREATED column: `"3 seconds ago"`,
 * `"Less than a second ago"`.
 */
export function timeAgo(date: Date, now: Date = new Date()): string {
  return `${humanDuration((now.getTime() - date.getTime()) / 1000)} ago`;
}

/** A container state as `ps` and `inspect` name it. */
export type ContainerStateName =
  | "configured"
  | "created"
  | "running"
  | "paused"
  | "stopping"
  | "stopped"
  | "exited"
  | "removing"
  | "unknown";

/** What {@linkcode psStatus} needs to describe a container. */
export interface PsStatusInput {
  /** The container's state. */
  state: ContainerStateName;
  /** When it last started (for `Up …`). */
  startedAt?: Date;
  /** When it last exited (for `Exited …`). */
  finishedAt?: Date;
  /** Its last exit code. */
  exitCode?: number;
  /** The current time. */
  now?: Date;
}

/**
 * The STATUS column of `ps`, as podman 4.3 prints it: `Created` (configured too), `Up 5 seconds`, `Paused`, `Stopping`, `Exited (0) 3 seconds ago`.
 */
export function psStatus(input: PsStatusInput): string {
  const now = input.now ?? new Date();
  switch (input.state) {
    case "configured":
    case "created":
      return "Created";
    case "running":
      // the issue asks for podman 5's `Up 5 seconds` (podman 4.3 printed `Up 5 seconds ago`)
      return `Up ${humanDuration((now.getTime() - (input.startedAt ?? now).getTime()) / 1000)}`;
    case "stopped":
    case "exited":
      return `Exited (${input.exitCode ?? 0}) ${timeAgo(input.finishedAt ?? now, now)}`;
    default:
      return input.state[0].toUpperCase() + input.state.slice(1);
  }
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`10m`, `1h30m`, `1.5s`, `-2h`, `0`) into milliseconds, as Go's
 * `time.ParseDuration`. Throws {@linkcode InvalidArgError} (`time: invalid duration "…"`).
 */
export function parseGoDuration(text: string): number {
  const bad = (): never => {
    throw new InvalidArgError(`time: invalid duration ${JSON.stringify(text)}`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") bad();
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (rest !== "") {
    const m = part.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) bad();
    const [whole, intPart, fracPart, unit] = m as RegExpExecArray;
    total += Number(`${intPart || "0"}.${fracPart || "0"}`) * DURATION_UNITS_MS[unit];
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses a `--since`/`--until` value as podman does: an RFC 3339 time (`2024-05-01T10:00:00Z`,
 * with or without fraction or zone; no zone means UTC), a date (`2024-05-01`), Unix seconds
 * (`1714557600.5`), or a Go duration counted back from `now` (`10m` → ten minutes ago; forward
 * when `since` is false). Throws {@linkcode InvalidArgError}.
 */
export function parseTimeInput(text: string, now: Date = new Date(), since = true): Date {
  const m = DATE_TIME.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const ms = frac ? Number(frac.padEnd(9, "0").slice(0, 3)) : 0;
    let t = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      ms,
    );
    if (zone && zone !== "Z") {
      const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      t -= zone[0] === "+" ? offset : -offset;
    }
    const date = new Date(t);
    if (!Number.isNaN(date.getTime()) && Number(mo) >= 1 && Number(mo) <= 12) return date;
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return new Date(Number(text) * 1000);
  try {
    const ms = parseGoDuration(text);
    return new Date(now.getTime() + (since ? -ms : ms));
  } catch {
    throw new InvalidArgError(`unable to interpret time value ${JSON.stringify(text)}`);
  }
}

/**
 * A time that Go holds in UTC rather than in the local zone: an image's creation time, parsed
 * from its config's `...Z` text. Templates print it as `... +0000 UTC` whatever `TZ` says, as
 * podman does.
 */
export class UtcDate extends Date {}

/**
 * Formats a date as Go's `time.Time.String()` does, in the local zone (in UTC for a
 * {@linkcode UtcDate}), which is what podman's templates print for times:
 * `2024-05-01 10:00:00.123 +0000 UTC`.
 */
export function goTimeString(date: Date): string {
  const offsetMin = date instanceof UtcDate ? 0 : -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const ms = local.getUTCMilliseconds();
  const frac = ms === 0 ? "" : `.${pad(ms, 3).replace(/0+$/, "")}`;
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${pad(Math.trunc(abs / 60))}${pad(abs % 60)}`;
  let zone = "UTC";
  if (offsetMin !== 0) {
    const named = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
      .formatToParts(date).find((p) => p.type === "timeZoneName")?.value;
    zone = named && !named.startsWith("GMT")
      ? named
      : `${sign}${pad(Math.trunc(abs / 60))}${abs % 60 ? pad(abs % 60) : ""}`;
  }
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${frac} ${offset} ${zone}`;
}
