/**
 * `ps --filter KEY=VALUE` as podman 4.3 evaluates it: the values given for one key OR together,
 * different keys AND; `name` and `id` are unanchored regular expressions (an exact match also
 * counts); `label` takes `KEY` or `KEY=VALUE` and every label value given must match;
 * `label!` (podman 5) is its negation; `status` uses the shown state (`configured` counts as
 * `created`, `stopped` as `exited`); `exited` matches exited containers by exit code;
 * `ancestor` the image ID, the image name, or the name without its `:latest`; `before`/`since`
 * the creation time of a named container; `until` a time or duration; `volume` a bind mount's
 * source (optionally `SOURCE:DEST`); `network` a network the container joins, by name;
 * `health` matches nothing here, as denopod has no health checks; `restart-policy` the policy's
 * name (`none`: no `--restart` given), what podman's `podman-restart.service` starts at boot.
 *
 * @example
 * ```ts
 * const keep = containerFilter(["name=web", "name=db", "status=running"], { lookup, now });
 * ctrs.filter((c) => keep(filterView(c)));
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { parseTimeInput } from "../util/humanize.ts";
import { type ContainerStatus, statusName } from "./status.ts";
import { matchLabels } from "./label_match.ts";

export { matchLabels };

/** What a filter looks at in a container. */
export interface FilterView {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  exitCode: number;
  imageId: string;
  imageName: string;
  /** RFC 3339. */
  created: string;
  volumes: readonly { source: string; destination: string }[];
  /** `--restart`'s policy name ("" when none was given). */
  restartPolicy: string;
  /** The bridge networks the container joins, by name. */
  networks?: readonly string[];
}

/** What filters need from outside: other containers' creation times, and the clock. */
export interface FilterContext {
  /** The creation time (RFC 3339) of a container by name or ID; throws when there is none. */
  created(nameOrId: string): string;
  now: Date;
}

/** The filter keys `ps` accepts. */
export const PS_FILTER_KEYS = [
  "ancestor",
  "before",
  "exited",
  "health",
  "id",
  "label",
  "label!",
  "name",
  "network",
  "restart-policy",
  "since",
  "status",
  "until",
  "volume",
] as const;

/** The values `restart-policy=` accepts (podman's `RestartPolicyMap`). */
const RESTART_POLICY_NAMES = ["none", "no", "always", "on-failure", "unless-stopped"];

type Predicate = (ctr: FilterView) => boolean;

/** The states `status=` accepts (podman's names). */
const STATES = [
  "unknown",
  "configured",
  "created",
  "running",
  "stopped",
  "paused",
  "exited",
  "removing",
  "stopping",
];

/** Splits `KEY=VALUE` specs into values by key, in the order keys first appear. */
export function groupFilters(specs: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) throw new InvalidArgError(`invalid filter ${JSON.stringify(spec)}`);
    // `label!=x` arrives split at its `=`: the key is `label!`
    const key = spec.slice(0, eq);
    const values = groups.get(key) ?? [];
    values.push(spec.slice(eq + 1));
    groups.set(key, values);
  }
  return groups;
}

/** podman's StringMatchRegexSlice: equal, or the value as an unanchored regular expression. */
function matchesAny(text: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (text === pattern) return true;
    try {
      return new RegExp(pattern).test(text);
    } catch {
      return false;
    }
  });
}

function predicateFor(key: string, values: string[], ctx: FilterContext): Predicate {
  switch (key) {
    case "id":
      return (c) => matchesAny(c.id, values);
    case "name":
      return (c) => matchesAny(c.name, values);
    case "label":
      return (c) => matchLabels(values, c.labels);
    case "label!":
      return (c) => !matchLabels(values, c.labels);
    case "status": {
      for (const value of values) {
        if (!STATES.includes(value)) {
          throw new InvalidArgError(`unknown container state: ${value}: invalid argument`);
        }
      }
      const wanted = values.map((v) => v === "stopped" ? "exited" : v);
      return (c) => {
        const shown = c.status === "stopped" ? "exited" : statusName(c.status);
        return wanted.includes(shown);
      };
    }
    case "exited": {
      const codes = values.map((value) => {
        if (!/^[+-]?\d+$/.test(value) || Math.abs(Number(value)) > 2 ** 31) {
          throw new InvalidArgError(
            `exited code out of range ${JSON.stringify(value)}: strconv.ParseInt: parsing ${
              JSON.stringify(value)
            }: invalid syntax`,
          );
        }
        return Number(value);
      });
      return (c) => (c.status === "exited" || c.status === "stopped") && codes.includes(c.exitCode);
    }
    case "ancestor":
      return (c) =>
        values.some((value) => {
          const colon = c.imageName.lastIndexOf(":");
          const hasTag = colon > c.imageName.lastIndexOf("/");
          const bare = hasTag ? c.imageName.slice(0, colon) : "";
          const tag = hasTag ? c.imageName.slice(colon + 1) : "";
          return c.imageId === value || c.imageName === value ||
            (bare === value && tag === "latest");
        });
    case "before":
    case "since": {
      const times = values.map((value) => Date.parse(ctx.created(value)));
      const edge = Math.min(...times);
      return key === "before"
        ? (c) => Date.parse(c.created) < edge
        : (c) => Date.parse(c.created) > edge;
    }
    case "until": {
      if (values.length !== 1) {
        throw new InvalidArgError("specify exactly one timestamp for until");
      }
      const until = parseTimeInput(values[0], ctx.now).getTime();
      return (c) => Date.parse(c.created) < until;
    }
    case "volume":
      return (c) =>
        values.some((value) => {
          const colon = value.indexOf(":");
          const source = colon < 0 ? value : value.slice(0, colon);
          const dest = colon < 0 ? "" : value.slice(colon + 1);
          return c.volumes.some((v) =>
            v.source === source && (dest === "" || v.destination === dest)
          );
        });
    case "restart-policy": {
      const bad = values.filter((v) => !RESTART_POLICY_NAMES.includes(v));
      if (bad.length > 0) {
        throw new InvalidArgError(
          `${bad.join(", ")} invalid restart ${bad.length > 1 ? "policies" : "policy"}`,
        );
      }
      return (c) => values.some((v) => c.restartPolicy === (v === "none" ? "" : v));
    }
    case "network":
      return (c) => values.some((value) => (c.networks ?? []).includes(value));
    case "health":
      // no health checks: nothing matches, as in podman for such containers
      return () => false;
  }
  throw new InvalidArgError(`${key} is an invalid filter`);
}

/** Builds the predicate for `--filter` specs; throws InvalidArgError with podman's messages. */
export function containerFilter(specs: readonly string[], ctx: FilterContext): Predicate {
  const predicates = [...groupFilters(specs)].map(([key, values]) =>
    predicateFor(key, values, ctx)
  );
  return (c) => predicates.every((p) => p(c));
}
