/**
 * Go's `time.Duration.String()`, which podman prints for `stats`' CPU TIME and `top`'s ELAPSED
 * and TIME columns: `0s`, `850ns`, `1.5µs`, `31.597273ms`, `1.217715503s`, `1m5s`, `2h0m3.1s`.
 *
 * @example
 * ```ts
 * goDuration(31_597_273);      // "31.597273ms"
 * goDuration(65_000_000_000);  // "1m5s"
 * ```
 * @module
 */

/** `value / 10^digits` with the fraction's trailing zeros (and a bare point) dropped. */
function fraction(value: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(value / scale);
  const frac = String(value % scale).padStart(digits, "0").replace(/0+$/, "");
  return frac === "" ? String(whole) : `${whole}.${frac}`;
}

/** A duration in nanoseconds (rounded to whole ones) as Go's `Duration.String()` prints it. */
export function goDuration(nanos: number): string {
  let n = Math.round(Math.abs(nanos));
  const sign = nanos < 0 && n > 0 ? "-" : "";
  if (n === 0) return "0s";
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${fraction(n, 3)}µs`;
  if (n < 1e9) return `${sign}${fraction(n, 6)}ms`;
  let out = `${fraction(n % 60e9, 9)}s`;
  n = Math.floor(n / 60e9);
  if (n > 0) {
    out = `${n % 60}m${out}`;
    n = Math.floor(n / 60);
    if (n > 0) out = `${n}h${out}`;
  }
  return sign + out;
}
