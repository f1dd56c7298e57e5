/**
 * How `events` shows a journal row, as podman does: the human line (`TIME TYPE STATUS ID
 * (image=..., name=..., label=...)`), the JSON object (`ID`, `Image`, `Name`, `Status`, `Time`,
 * `Type`, `Attributes`, `ContainerExitCode` when not 0), and the values a `--format` template
 * sees. Times are Go's: `time.Time.String()` and RFC 3339 with nanoseconds, in the local zone.
 *
 * @example
 * ```ts
 * formatEventLine(event); // "2024-05-01 10:00:00.5 +0000 UTC container start 3f2a... (image=localhost/busybox:latest, name=web)"
 * ```
 * @module
 */
import type { EventRecord } from "./journal.ts";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

interface LocalTime {
  date: string;
  clock: string;
  /** ".123456789" with trailing zeros dropped, or "". */
  fraction: string;
  offsetMinutes: number;
  zoneName: string;
}

function localTime(ns: bigint): LocalTime {
  const ms = Number(ns / 1_000_000n);
  const subNs = Number(((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
  const date = new Date(ms);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(ms + offsetMinutes * 60_000);
  const fraction = subNs === 0 ? "" : `.${pad(subNs, 9).replace(/0+$/, "")}`;
  let zoneName = "UTC";
  if (offsetMinutes !== 0) {
    const abs = Math.abs(offsetMinutes);
    const sign = offsetMinutes < 0 ? "-" : "+";
    const named = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
      .formatToParts(date).find((p) => p.type === "timeZoneName")?.value;
    zoneName = named && !named.startsWith("GMT")
      ? named
      : `${sign}${pad(Math.trunc(abs / 60))}${abs % 60 ? pad(abs % 60) : ""}`;
  }
  return {
    date: `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`,
    clock: `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${
      pad(local.getUTCSeconds())
    }`,
    fraction,
    offsetMinutes,
    zoneName,
  };
}

function offsetText(minutes: number, colon: boolean): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.trunc(abs / 60))}${colon ? ":" : ""}${
    pad(abs % 60)
  }`;
}

/** A nanosecond time as Go's `time.Time.String()`: `2024-05-01 10:00:00.123456789 +0000 UTC`. */
export function goTimeStringNs(ns: bigint): string {
  const t = localTime(ns);
  return `${t.date} ${t.clock}${t.fraction} ${offsetText(t.offsetMinutes, false)} ${t.zoneName}`;
}

/** A nanosecond time as Go's JSON (RFC 3339 with nanoseconds): `2024-05-01T10:00:00.5Z`. */
export function rfc3339Nano(ns: bigint): string {
  const t = localTime(ns);
  const zone = t.offsetMinutes === 0 ? "Z" : offsetText(t.offsetMinutes, true);
  return `${t.date}T${t.clock}${t.fraction}${zone}`;
}

function sortedAttributes(attributes: Record<string, string> | null): [string, string][] {
  return Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The event as podman's human line. */
export function formatEventLine(event: EventRecord): string {
  const head = `${goTimeStringNs(event.timeNs)} ${event.type} ${event.status}`;
  if (event.type === "container") {
    const extra = sortedAttributes(event.attributes).map(([k, v]) => `, ${k}=${v}`).join("");
    return `${head} ${event.id} (image=${event.image}, name=${event.name}${extra})`;
  }
  if (event.type === "image") return `${head} ${event.id} ${event.name}`;
  return head;
}

/** The event as podman's JSON object (field order and omitted empties as podman's). */
export function eventJson(event: EventRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (event.exitCode !== null && event.exitCode !== 0) out.ContainerExitCode = event.exitCode;
  if (event.id !== "") out.ID = event.id;
  if (event.image !== "") out.Image = event.image;
  if (event.name !== "") out.Name = event.name;
  out.Status = event.status;
  out.Time = rfc3339Nano(event.timeNs);
  out.Type = event.type;
  out.Attributes = event.type === "container"
    ? Object.fromEntries(sortedAttributes(event.attributes))
    : null;
  return out;
}

/** The values a `--format` template sees (`{{.Status}}`, `{{.Time}}`, `{{.Attributes}}`, ...). */
export function eventTemplateData(event: EventRecord): Record<string, unknown> {
  return {
    ContainerExitCode: event.exitCode ?? 0,
    ID: event.id,
    Image: event.image,
    Name: event.name,
    Status: event.status,
    Time: goTimeStringNs(event.timeNs),
    TimeNano: event.timeNs,
    Type: event.type,
    Attributes: Object.fromEntries(sortedAttributes(event.attributes)),
  };
}
