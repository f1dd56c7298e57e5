/**
 * Detach keys (`--detach-keys`): podman's spec syntax. Pure: no I/O, so `create` can check a
 * spec without loading the attach code. The keys are found in the input by the relay
 * (`oci/relay_worker.ts`), also when they arrive in separate reads.
 *
 * @example
 * ```ts
 * parseDetachKeys("ctrl-p,ctrl-q"); // Uint8Array [16, 17]
 * parseDetachKeys("ctrl-p,foo");    // throws InvalidArgError: invalid detach keys: Unknown character: 'foo'
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** The detach keys when none are given: Ctrl-P, Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

const CTRL_KEYS: Record<string, number> = { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31 };

/**
 * Parses podman's detach-key spec (`ctrl-p,ctrl-q`; each key a single character or `ctrl-X`
 * with X in a–z, `@`, `[`, `\`, `]`, `^`, `_`) into bytes. An empty spec disables detaching.
 * Throws {@linkcode InvalidArgError} naming the key it does not know.
 */
export function parseDetachKeys(spec: string): Uint8Array {
  if (spec === "") return new Uint8Array(0);
  const bytes: number[] = [];
  for (const key of spec.split(",")) {
    const lower = key.toLowerCase();
    if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
    } else if (lower.startsWith("ctrl-") && key.length === 6) {
      const c = lower[5];
      if (c >= "a" && c <= "z") bytes.push(c.charCodeAt(0) - 96);
      else if (c in CTRL_KEYS) bytes.push(CTRL_KEYS[c]);
      else throw new InvalidArgError(`invalid detach keys: Unknown character: '${key}'`);
    } else {
      throw new InvalidArgError(`invalid detach keys: Unknown character: '${key}'`);
    }
  }
  return new Uint8Array(bytes);
}
