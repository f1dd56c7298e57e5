/**
 * `events --filter KEY=VALUE`: `type=`, `event=` (or `status=`), `container=`, `image=`,
 * `label=KEY[=VALUE]`. As podman: values of one key are alternatives, different keys must all
 * match.
 *
 * @example
 * ```ts
 * const keep = parseEventFilters(["type=container", "event=start", "event=died"]);
 * events.filter(keep);
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import type { EventRecord } from "./journal.ts";

type Test = (event: EventRecord) => boolean;

const KEYS = ["type", "event", "status", "container", "image", "label"];

function matcher(key: string, value: string): Test {
  switch (key) {
    case "type":
      if (!["container", "image", "system"].includes(value)) {
        throw new InvalidArgError(
          `invalid filter "type=${value}": must be container, image or system`,
        );
      }
      return (e) => e.type === value;
    case "event":
    case "status":
      return (e) => e.status === value;
    case "container":
      return (e) =>
        e.type === "container" && (e.name === value || (value !== "" && e.id.startsWith(value)));
    case "image":
      return (e) =>
        e.type === "image"
          ? e.name === value || (value !== "" && e.id.startsWith(value)) ||
            e.name.endsWith(`/${value}`) || e.name.endsWith(`/${value}:latest`)
          : e.image === value || e.image.endsWith(`/${value}`) ||
            e.image.endsWith(`/${value}:latest`);
    case "label": {
      const eq = value.indexOf("=");
      const k = eq < 0 ? value : value.slice(0, eq);
      return (e) =>
        e.attributes !== null && k in e.attributes &&
        (eq < 0 || e.attributes[k] === value.slice(eq + 1));
    }
  }
  throw new InvalidArgError(
    `invalid filter "${key}": supported filters are ${
      KEYS.filter((k) => k !== "status").join(", ")
    }`,
  );
}

/** Parses the filters into one predicate; throws InvalidArgError naming a bad one. */
export function parseEventFilters(specs: string[]): Test {
  const byKey = new Map<string, Test[]>();
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) throw new InvalidArgError(`invalid filter "${spec}": must be KEY=VALUE`);
    const key = spec.slice(0, eq) === "status" ? "event" : spec.slice(0, eq);
    const test = matcher(key, spec.slice(eq + 1));
    byKey.set(key, [...(byKey.get(key) ?? []), test]);
  }
  const groups = [...byKey.values()];
  return (event) => groups.every((tests) => tests.some((t) => t(event)));
}
