/**
 * `--change` instructions for `import` (podman's subset of Containerfile syntax): `CMD`,
 * `ENTRYPOINT`, `ENV`, `WORKDIR`, `USER`, `LABEL`, `STOPSIGNAL`, `EXPOSE`, `VOLUME`, applied to an
 * image config's `config` section.
 *
 * @example
 * ```ts
 * applyChanges({}, ['CMD ["sh"]', "ENV A=1", "WORKDIR /srv"]);
 * // { Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/srv" }
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import type { ImageRuntimeConfig } from "../storage/archive/image_config.ts";
import { parseSignal, signalName } from "../util/signals.ts";
import { assertNoControlChars } from "../container/rundir/validate.ts";

function jsonOrShell(value: string): string[] {
  if (value.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed;
    } catch {
      // fall through to the shell form, as Docker does
    }
  }
  return ["/bin/sh", "-c", value];
}

function keyValues(value: string, instruction: string): [string, string][] {
  if (!value.includes("=")) {
    const space = value.search(/\s/);
    if (space < 0) {
      throw new InvalidArgError(`invalid --change "${instruction} ${value}": expected KEY=VALUE`);
    }
    return [[value.slice(0, space), value.slice(space).trim()]];
  }
  const pairs: [string, string][] = [];
  for (const match of value.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = match[2];
    pairs.push([match[1], raw.startsWith('"') ? JSON.parse(raw) as string : raw]);
  }
  return pairs;
}

/** Applies `--change` instructions to a copy of `config` and returns it. */
export function applyChanges(config: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = structuredClone(config);
  for (const change of changes) {
    assertNoControlChars("--change", change);
    const match = /^\s*(\S+)\s*(.*)$/.exec(change);
    if (!match) throw new InvalidArgError(`invalid --change "${change}"`);
    // podman also takes `INSTRUCTION=VALUE` (`STOPSIGNAL=SIGUSR1`) when there is no space
    const eq = match[2] === "" ? match[1].indexOf("=") : -1;
    const instruction = (eq > 0 ? match[1].slice(0, eq) : match[1]).toUpperCase();
    const value = eq > 0 ? match[1].slice(eq + 1) : match[2].trim();
    switch (instruction) {
      case "CMD":
        out.Cmd = jsonOrShell(value);
        break;
      case "ENTRYPOINT":
        out.Entrypoint = jsonOrShell(value);
        break;
      case "ENV": {
        const env = new Map((out.Env ?? []).map((e) => [e.split("=")[0], e]));
        for (const [k, v] of keyValues(value, instruction)) env.set(k, `${k}=${v}`);
        out.Env = [...env.values()];
        break;
      }
      case "LABEL":
        out.Labels = { ...(out.Labels ?? {}) };
        for (const [k, v] of keyValues(value, instruction)) out.Labels[k] = v;
        break;
      case "WORKDIR":
        if (!value.startsWith("/")) {
          throw new InvalidArgError(`invalid --change "${change}": WORKDIR must be absolute`);
        }
        out.WorkingDir = value;
        break;
      case "USER":
        if (value === "") {
          throw new InvalidArgError(`invalid --change "${change}": USER needs a value`);
        }
        out.User = value;
        break;
      case "STOPSIGNAL":
        out.StopSignal = /^\d+$/.test(value) ? value : signalName(parseSignal(value));
        break;
      case "EXPOSE":
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const port of value.split(/\s+/)) {
          out.ExposedPorts[port.includes("/") ? port : `${port}/tcp`] = {};
        }
        break;
      case "VOLUME":
        out.Volumes = { ...(out.Volumes ?? {}) };
        for (
          const dir of jsonOrShell(value)[0] === "/bin/sh" ? value.split(/\s+/) : jsonOrShell(value)
        ) {
          out.Volumes[dir] = {};
        }
        break;
      default:
        throw new InvalidArgError(
          `invalid --change "${change}": ${instruction} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR`,
        );
    }
  }
  return out;
}
