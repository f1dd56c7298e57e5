/** The clock every "… ago" column reads: the system's, or the one `DENOPOD_NOW` fixes. */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import { CLOCK_ENV, now } from "../lib/util/clock.ts";

function withClockEnv(value: string | undefined, fn: () => void): void {
  const saved = Deno.env.get(CLOCK_ENV);
  if (value === undefined) Deno.env.delete(CLOCK_ENV);
  else Deno.env.set(CLOCK_ENV, value);
  try {
    fn();
  } finally {
    if (saved === undefined) Deno.env.delete(CLOCK_ENV);
    else Deno.env.set(CLOCK_ENV, saved);
  }
}

Deno.test("now() is the system clock when DENOPOD_NOW is unset or empty", () => {
  for (const value of [undefined, ""]) {
    withClockEnv(value, () => {
      const before = Date.now();
      const t = now().getTime();
      assert.ok(t >= before && t <= Date.now(), `${value}: ${t}`);
    });
  }
});

Deno.test("now() is the time DENOPOD_NOW names, whatever the zone it is written in", () => {
  withClockEnv("2026-12-01T21:34:12Z", () => {
    assert.equal(now().toISOString(), "2026-12-01T21:34:12.000Z");
  });
  withClockEnv("2026-12-01T23:34:12+02:00", () => {
    assert.equal(now().toISOString(), "2026-12-01T21:34:12.000Z");
  });
});

Deno.test("a DENOPOD_NOW that is not a time is refused, naming the variable", () => {
  withClockEnv("yesterday", () => {
    assert.throws(() => now(), (err: unknown) =>
      err instanceof InvalidArgError &&
      err.message === 'invalid DENOPOD_NOW "yesterday": must be an RFC 3339 time');
  });
});
