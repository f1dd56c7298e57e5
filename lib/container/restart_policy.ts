/**
 * `--restart no|on-failure[:N]|always|unless-stopped`: parsed at create (podman's words for a bad
 * value), and decided when the container's process ends — the monitor's cleanup starts it again
 * after a backoff (100 ms, doubling, at most 5 s) and counts the restarts in `RestartCount`.
 * A container stopped by the user (`stop`, `rm -f`) is never restarted.
 *
 * @example
 * ```ts
 * parseRestartPolicy("on-failure:2"); // { name: "on-failure", maxRetries: 2 }
 * shouldRestart({ name: "on-failure", maxRetries: 2 }, { exitCode: 1, restartCount: 1, stoppedByUser: false }); // true
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** A restart policy, as podman's `HostConfig.RestartPolicy`. */
export interface RestartPolicy {
  name: "" | "no" | "on-failure" | "always" | "unless-stopped";
  /** With `on-failure`: restarts at most this many times (0: no limit). */
  maxRetries: number;
}

/** Parses `--restart`; podman's message for a bad value. */
export function parseRestartPolicy(text: string | undefined): RestartPolicy {
  if (text === undefined || text === "") return { name: "", maxRetries: 0 };
  const [name, count, ...rest] = text.split(":");
  const bad = () =>
    new InvalidArgError(
      `running container create option: "${text}" is not a valid restart policy: invalid argument`,
    );
  if (rest.length > 0) throw bad();
  if (name === "no" || name === "always" || name === "unless-stopped") {
    if (count !== undefined) {
      throw new InvalidArgError(
        "running container create option: restart policy retries can only be specified with on-failure restart policy: invalid argument",
      );
    }
    return { name, maxRetries: 0 };
  }
  if (name !== "on-failure") throw bad();
  if (count !== undefined && !/^\d+$/.test(count)) {
    throw new InvalidArgError(`restart policy retries must be a positive integer`);
  }
  return { name, maxRetries: count === undefined ? 0 : Number(count) };
}

/** What {@linkcode shouldRestart} looks at. */
export interface ExitFacts {
  exitCode: number;
  restartCount: number;
  stoppedByUser: boolean;
}

/** True when the policy restarts a container whose process ended so. */
export function shouldRestart(policy: RestartPolicy, facts: ExitFacts): boolean {
  if (facts.stoppedByUser) return false;
  switch (policy.name) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return facts.exitCode !== 0 &&
        (policy.maxRetries === 0 || facts.restartCount < policy.maxRetries);
    default:
      return false;
  }
}

/** podman's backoff before restart number `count + 1`: 100 ms doubling, capped at 5 s. */
export function restartDelayMs(count: number): number {
  return Math.min(100 * 2 ** count, 5000);
}
