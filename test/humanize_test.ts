/**
 * podman's human output formats (go-units sizes and durations, the ps STATUS column) and the
 * parsers for --shm-size, Go durations and --since times.
 */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import {
  formatGoG,
  goTimeString,
  humanDuration,
  humanSize,
  parseGoDuration,
  parseSize,
  parseTimeInput,
  psStatus,
  timeAgo,
} from "../lib/util/humanize.ts";

Deno.test("humanSize prints like go-units HumanSizeWithPrecision(n, 3)", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [1, "1B"],
    [999, "999B"],
    [1000, "1kB"],
    [1234, "1.23kB"],
    [12345, "12.3kB"],
    [100000, "100kB"],
    [999999, "1e+03kB"],
    [2140000, "2.14MB"],
    [12345678, "12.3MB"],
    [5e9, "5GB"],
    [1e15, "1PB"],
  ];
  for (const [bytes, text] of cases) assert.equal(humanSize(bytes), text, String(bytes));
});

Deno.test("formatGoG follows Go's %g switch to exponent form", () => {
  assert.equal(formatGoG(0.0001234, 3), "0.000123");
  assert.equal(formatGoG(0.00001234, 3), "1.23e-05");
  assert.equal(formatGoG(1234567, 3), "1.23e+06");
  assert.equal(formatGoG(10, 3), "10");
});

Deno.test("humanDuration prints like go-units HumanDuration", () => {
  const cases: [number, string][] = [
    [0, "Less than a second"],
    [0.9, "Less than a second"],
    [-5, "Less than a second"],
    [1, "1 second"],
    [5, "5 seconds"],
    [59, "59 seconds"],
    [60, "About a minute"],
    [119, "About a minute"],
    [180, "3 minutes"],
    [3599, "59 minutes"],
    [3600, "About an hour"],
    [5399, "About an hour"],
    [2 * 3600, "2 hours"],
    [47 * 3600, "47 hours"],
    [3 * 86400, "3 days"],
    [13 * 86400, "13 days"],
    [14 * 86400, "2 weeks"],
    [120 * 86400, "4 months"],
    [2 * 365 * 86400, "2 years"],
  ];
  for (const [seconds, text] of cases) assert.equal(humanDuration(seconds), text, String(seconds));
});

Deno.test("timeAgo is the CREATED column", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  assert.equal(timeAgo(new Date("2024-05-01T11:59:57Z"), now), "3 seconds ago");
  assert.equal(timeAgo(now, now), "Less than a second ago");
});

Deno.test("psStatus matches podman 4.3's STATUS column", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  const earlier = new Date("2024-05-01T11:59:55Z");
  assert.equal(psStatus({ state: "configured", now }), "Created");
  assert.equal(psStatus({ state: "created", now }), "Created");
  assert.equal(psStatus({ state: "running", startedAt: earlier, now }), "Up 5 seconds");
  assert.equal(psStatus({ state: "paused", startedAt: earlier, now }), "Paused");
  assert.equal(psStatus({ state: "stopping", now }), "Stopping");
  assert.equal(
    psStatus({ state: "exited", exitCode: 3, finishedAt: earlier, now }),
    "Exited (3) 5 seconds ago",
  );
  assert.equal(
    psStatus({ state: "stopped", exitCode: 0, finishedAt: new Date("2024-05-01T11:58:00Z"), now }),
    "Exited (0) 2 minutes ago",
  );
});

Deno.test("parseSize reads --shm-size like go-units RAMInBytes", () => {
  const cases: [string, number][] = [
    ["64m", 67108864],
    ["64M", 67108864],
    ["64mb", 67108864],
    ["64MiB", 67108864],
    ["512k", 524288],
    ["1g", 1073741824],
    ["1.5g", 1610612736],
    ["100", 100],
    ["100b", 100],
    ["2 m", 2097152],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
  for (const bad of ["", "m", "-1m", "64x", "1.2.3m", "64 mbb"]) {
    assert.throws(
      () => parseSize(bad),
      (err: unknown) => err instanceof InvalidArgError && err.message === `invalid size: '${bad}'`,
    );
  }
});

Deno.test("parseGoDuration reads Go durations in milliseconds", () => {
  assert.equal(parseGoDuration("10m"), 600_000);
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("-2h"), -7_200_000);
  assert.equal(parseGoDuration("250ms"), 250);
  assert.equal(parseGoDuration("0"), 0);
  for (const bad of ["", "10", "1d", "h", "1h 30m", ".s"]) {
    assert.throws(() => parseGoDuration(bad), InvalidArgError, bad);
  }
});

Deno.test("parseTimeInput takes RFC 3339, dates, unix seconds and durations back from now", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  const iso = (s: string) => parseTimeInput(s, now).toISOString();
  assert.equal(iso("2024-05-01T10:00:00Z"), "2024-05-01T10:00:00.000Z");
  assert.equal(iso("2024-05-01T10:00:00+02:00"), "2024-05-01T08:00:00.000Z");
  assert.equal(iso("2024-05-01T10:00:00.123456789Z"), "2024-05-01T10:00:00.123Z");
  assert.equal(iso("2024-05-01T10:00:00"), "2024-05-01T10:00:00.000Z");
  assert.equal(iso("2024-05-01"), "2024-05-01T00:00:00.000Z");
  assert.equal(iso("1714557600"), "2024-05-01T10:00:00.000Z");
  assert.equal(iso("1714557600.5"), "2024-05-01T10:00:00.500Z");
  assert.equal(iso("10m"), "2024-05-01T11:50:00.000Z");
  assert.equal(parseTimeInput("1h", now, false).toISOString(), "2024-05-01T13:00:00.000Z");
  assert.throws(
    () => parseTimeInput("yesterday", now),
    (err: unknown) =>
      err instanceof InvalidArgError && err.message.startsWith("unable to interpret time value"),
  );
});

Deno.test("goTimeString prints like Go's time.Time.String()", () => {
  const date = new Date(Date.UTC(2026, 10, 29, 1, 56, 34, 400));
  const text = goTimeString(date);
  if (date.getTimezoneOffset() === 0) {
    assert.equal(text, "2026-11-29 01:56:34.4 +0000 UTC");
    assert.equal(
      goTimeString(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))),
      "2024-01-02 03:04:05 +0000 UTC",
    );
  } else {
    assert.match(text, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.4 [+-]\d{4} \S+$/);
  }
});
