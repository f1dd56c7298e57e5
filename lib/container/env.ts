/**
 * Environment entries a container gets: the user's `-e KEY=VALUE` / `-e KEY` flags (of `create`,
 * `run` and `exec`) and the image's `Env`, checked before anything is written. A key is never
 * empty, an image entry is always `KEY=VALUE` (a bare key would pull in the host's variable),
 * and no value holds a control character.
 *
 * @example
 * ```ts
 * validateEnvFlags(["A=1", "HOME"]);        // fine
 * validateEnvFlags(["=x"]);                 // InvalidArgError: invalid environment variable: "=x"
 * mergeEnv(["PATH=/bin"], ["A=1", "A=2"]); // ["PATH=/bin", "A=2"]
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { assertNoControlChars } from "./rundir/validate.ts";

/**
 * Checks `-e` values: `KEY=VALUE` or `KEY` (taken from the caller's environment), with a key
 * that is not empty (podman's message) and no control character.
 */
export function validateEnvFlags(entries: readonly string[], flag = "--env"): void {
  for (const entry of entries) {
    assertNoControlChars(flag, entry);
    if (entry === "" || entry.startsWith("=")) {
      throw new InvalidArgError(`invalid environment variable: ${JSON.stringify(entry)}`);
    }
  }
}

/** Checks the image's `Env`: every entry `KEY=VALUE` with a key, and no control character. */
export function validateImageEnv(entries: readonly string[]): void {
  for (const entry of entries) {
    assertNoControlChars("image Env", entry);
    if (entry.indexOf("=") <= 0) {
      throw new InvalidArgError(
        `invalid environment variable in the image's Env: ${JSON.stringify(entry)}`,
      );
    }
  }
}

/**
 * Merges `KEY=VALUE` lists: later entries override earlier ones with the same key; a bare `KEY`
 * takes the caller's value, and is dropped when the caller has none (as podman does). Validate
 * first: a bare key here must not be empty.
 */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const merged = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf("=");
      if (eq >= 0) {
        merged.set(entry.slice(0, eq), entry);
        continue;
      }
      const hostValue = entry === "" ? undefined : Deno.env.get(entry);
      if (hostValue !== undefined) merged.set(entry, `${entry}=${hostValue}`);
    }
  }
  return [...merged.values()];
}

/**
 * Reads an `--env-file`: one `KEY=VALUE` or bare `KEY` per line; blank lines and lines starting
 * with `#` are skipped, leading blanks dropped (as podman). A missing file throws with podman's
 * words; every entry is checked as `-e` values are.
 */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (err as Error).message;
    throw new InvalidArgError(`parsing env file "${path}": open ${path}: ${why}`, { cause: err });
  }
  const entries: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) continue;
    entries.push(line);
  }
  validateEnvFlags(entries, "--env-file");
  return entries;
}
