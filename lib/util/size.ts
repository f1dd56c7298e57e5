/**
 * Sizes typed by users (`--shm-size 64m`), as go-units parses them. Its own module so that the
 * command table, which names it as a flag's parser, loads no more than this (`humanize.ts`
 * re-exports it).
 * @module
 */
import { InvalidArgError } from "../errors.ts";

const SIZE_PATTERN = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const BINARY_MULTIPLIERS: Record<string, number> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Parses a size with an optional binary suffix, as go-units `RAMInBytes` (podman's
 * `--shm-size`): `64m` = 67108864, `1.5g`, `512k`, `100b`, `2GiB`. Throws
 * {@linkcode InvalidArgError} (`invalid size: '…'`).
 */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text);
  const value = match ? Number(match[1]) : NaN;
  if (!match || !Number.isFinite(value)) throw new InvalidArgError(`invalid size: '${text}'`);
  const multiplier = match[2] ? BINARY_MULTIPLIERS[match[2].toLowerCase()] : 1;
  const bytes = Math.trunc(value * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgError(`invalid size: '${text}'`);
  return bytes;
}
