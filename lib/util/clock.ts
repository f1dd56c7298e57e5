/**
 * The current time, as every "… ago" column and relative `--since`/`--until` sees it. Output that
 * depends on the clock takes it from here, so a test can fix it: `DENOPOD_NOW` (an RFC 3339 time,
 * as `SOURCE_DATE_EPOCH` fixes a build's) replaces the system clock when it is set.
 *
 * @example
 * ```ts
 * import { now } from "./clock.ts";
 * const age = now().getTime() - Date.parse(created);
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** The environment variable that fixes the clock (tests; reproducible output). */
export const CLOCK_ENV = "DENOPOD_NOW";

/**
 * The current time: the system clock, or the time `DENOPOD_NOW` names. A value that is not a
 * time gives InvalidArgError naming the variable.
 */
export function now(): Date {
  const fixed = Deno.env.get(CLOCK_ENV);
  if (fixed === undefined || fixed === "") return new Date();
  const time = Date.parse(fixed);
  if (Number.isNaN(time)) {
    throw new InvalidArgError(`invalid ${CLOCK_ENV} "${fixed}": must be an RFC 3339 time`);
  }
  return new Date(time);
}
