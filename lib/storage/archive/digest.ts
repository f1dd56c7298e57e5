/**
 * sha256 digests for image archives: the form check every digest passes before a path is built
 * from it, hashing of byte arrays, and a stream stage that checks a digest when the stream ends.
 *
 * @example
 * ```ts
 * const hex = parseSha256Digest("sha256:" + "ab".repeat(32), "config"); // "abab…"
 * parseSha256Digest("sha256:../../etc", "config"); // throws ArchiveError
 * ```
 * @module
 */

import { createSha256, sha256Hex } from "../../sys/sha256.ts";
import { ArchiveError } from "../../errors.ts";
import type { ChunkSource } from "../tar/source.ts";
import { quoteForMessage } from "./message.ts";

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True when `value` is exactly `sha256:` followed by 64 lowercase hex digits. */
export function isSha256Digest(value: unknown): value is string {
  return typeof value === "string" && SHA256_DIGEST.test(value);
}

/** True when `value` is exactly 64 lowercase hex digits (a digest without its `sha256:`). */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === "string" && SHA256_HEX.test(value);
}

/**
 * Returns the 64-hex part of a `sha256:<hex>` digest, or throws an ArchiveError naming `what`
 * (e.g. `manifest.json: layer 0`) when the value has any other form.
 */
export function parseSha256Digest(value: unknown, what: string): string {
  if (!isSha256Digest(value)) {
    throw new ArchiveError(
      `archive: ${what}: ${
        quoteForMessage(value)
      } is not a sha256 digest (sha256: and 64 lowercase hex digits)`,
    );
  }
  return value.slice("sha256:".length);
}

export { sha256Hex };

/**
 * `source` passed through, hashed as it is read; at its end, reading fails with an ArchiveError
 * if the sha256 is not `expectedHex` (the {@linkcode verifySha256Stage} of a chunk source).
 */
export function verifySha256Chunks(
  source: ChunkSource,
  expectedHex: string,
  what: string,
): ChunkSource {
  const hash = createSha256();
  return {
    async read() {
      const chunk = await source.read();
      if (chunk !== null) {
        hash.update(chunk);
        return chunk;
      }
      const actual = hash.hex();
      if (actual !== expectedHex) {
        throw new ArchiveError(
          `archive: ${what}: content has sha256:${actual}, expected sha256:${expectedHex}`,
        );
      }
      return null;
    },
    cancel: (reason) => source.cancel(reason),
  };
}

/**
 * A pass-through stream stage that hashes what flows through it and, when the stream ends,
 * errors with an ArchiveError if the sha256 is not `expectedHex` (so a reader sees the error
 * instead of a clean end). `what` names the data in the message, e.g. `blob sha256:ab…`.
 */
export function verifySha256Stage(
  expectedHex: string,
  what: string,
): TransformStream<Uint8Array, Uint8Array> {
  const hash = createSha256();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      const actual = hash.hex();
      if (actual !== expectedHex) {
        throw new ArchiveError(
          `archive: ${what}: content has sha256:${actual}, expected sha256:${expectedHex}`,
        );
      }
    },
  });
}
