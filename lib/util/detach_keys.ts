/**
 * Detach keys (`--detach-keys`): podman's spec syntax, and finding the sequence in input that
 * arrives in pieces. Pure: no I/O, so `create` can check a spec without loading the attach code.
 *
 * @example
 * ```ts
 * const matcher = new DetachKeyMatcher(parseDetachKeys("ctrl-p,ctrl-q"));
 * matcher.feed(new Uint8Array([0x10])); // { forward: [], detach: false } (held back)
 * matcher.feed(new Uint8Array([0x11])); // { forward: [], detach: true }
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

/**
 * Finds the detach sequence in a stream of input chunks, also when its keys arrive in separate
 * reads: bytes that may begin the sequence are held back until the sequence completes (detach)
 * or breaks (then they are passed on, in order).
 */
export class DetachKeyMatcher {
  readonly #keys: Uint8Array;
  #held = 0;

  /** Creates a matcher for `keys` (empty: never detaches). */
  constructor(keys: Uint8Array) {
    this.#keys = keys;
  }

  /** Feeds one chunk: returns the bytes to forward, and whether the sequence completed. */
  feed(chunk: Uint8Array): { forward: Uint8Array; detach: boolean } {
    const keys = this.#keys;
    if (keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === keys[this.#held]) {
        this.#held++;
        if (this.#held === keys.length) {
          this.#held = 0;
          return { forward: new Uint8Array(out), detach: true };
        }
        continue;
      }
      // the sequence broke: pass on what was held, then see whether this byte starts it anew
      for (let i = 0; i < this.#held; i++) out.push(keys[i]);
      this.#held = 0;
      if (byte === keys[0]) this.#held = 1;
      else out.push(byte);
    }
    return { forward: new Uint8Array(out), detach: false };
  }
}
