/**
 * The free-space reserve extraction keeps under `--root`: a layer that inflates beyond what the
 * disk can spare (a gzip bomb: 10 MB that inflates to 10 GB) is stopped before it fills the
 * filesystem. The reserve is `DENOPOD_MIN_FREE` (bytes, with an optional K/M/G/T suffix in powers
 * of 1024, or a percentage of the filesystem such as `5%`; `0` turns the check off), by default
 * 5% of the filesystem or 1 GiB, whichever is smaller. A {@linkcode SpaceGuard} asks `statfs`
 * every 4 MiB written, so at most that much of the reserve is used before extraction stops.
 *
 * @example
 * ```ts
 * const guard = SpaceGuard.forRoot("/var/lib/denopod", "layer sha256:ab12...");
 * guard.wrote(chunk.length); // throws DiskReserveError once free space is below the reserve
 * ```
 * @module
 */
import { DenopodError, InvalidArgError } from "../../errors.ts";
import { statfs } from "../../sys/statfs.ts";

/** The environment variable that sets the reserve. */
export const MIN_FREE_ENV = "DENOPOD_MIN_FREE";
/** Bytes written between two `statfs` checks. */
export const CHECK_INTERVAL_BYTES = 4 * 1024 * 1024;
const DEFAULT_PERCENT = 5;
const DEFAULT_CAP = 1024 ** 3;
const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Writing more would leave less free space than the reserve; the message names both. */
export class DiskReserveError extends DenopodError {}

/**
 * The reserve in bytes for a filesystem of `totalBytes`, from `setting` (the value of
 * `DENOPOD_MIN_FREE`, or undefined for the default). Throws {@linkcode InvalidArgError} for a
 * value that is not a size or a percentage.
 */
export function reserveBytes(totalBytes: number, setting: string | undefined): number {
  if (setting === undefined || setting.trim() === "") {
    return Math.min(Math.floor(totalBytes * DEFAULT_PERCENT / 100), DEFAULT_CAP);
  }
  const text = setting.trim().toLowerCase();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent && Number(percent[1]) <= 100) {
    return Math.floor(totalBytes * Number(percent[1]) / 100);
  }
  const size = /^(\d+)([kmgt]?)(?:i?b)?$/.exec(text);
  if (size) return Number(size[1]) * UNITS[size[2]];
  throw new InvalidArgError(
    `${MIN_FREE_ENV}=${
      JSON.stringify(setting)
    }: want a size (e.g. 512M, 2G) or a percentage (e.g. 5%)`,
  );
}

/** Human-readable bytes for messages: `1.0 GiB`, `64 MiB`, `512 KiB`. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/** Stops a write that would eat into the reserve of the filesystem holding `path`. */
export class SpaceGuard {
  #sinceCheck = 0;

  constructor(
    /** A path on the filesystem being written. */
    readonly path: string,
    /** Bytes that must stay free. */
    readonly reserve: number,
    /** What is being written, for the message (e.g. `layer sha256:...`). */
    readonly what: string,
  ) {}

  /**
   * A guard for writes under `root`, with the reserve `DENOPOD_MIN_FREE` sets (or the default),
   * checked once now; undefined when the reserve is 0 (the check is off).
   */
  static forRoot(
    root: string,
    what: string,
    env = Deno.env.get(MIN_FREE_ENV),
  ): SpaceGuard | undefined {
    const reserve = reserveBytes(statfs(root).totalBytes, env);
    if (reserve === 0) return undefined;
    const guard = new SpaceGuard(root, reserve, what);
    guard.check();
    return guard;
  }

  /** Counts `bytes` written; every {@linkcode CHECK_INTERVAL_BYTES}, checks the free space. */
  wrote(bytes: number): void {
    this.#sinceCheck += bytes;
    if (this.#sinceCheck >= CHECK_INTERVAL_BYTES) this.check();
  }

  /** Throws {@linkcode DiskReserveError} when less than the reserve is free now. */
  check(): void {
    this.#sinceCheck = 0;
    const free = statfs(this.path).availableBytes;
    if (free < this.reserve) {
      throw new DiskReserveError(
        `${this.what}: stopped with ${
          formatBytes(free)
        } free under ${this.path}, below the reserve of ${
          formatBytes(this.reserve)
        } (${MIN_FREE_ENV})`,
      );
    }
  }
}
