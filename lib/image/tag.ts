/**
 * `tag` and `untag`: add names to an image, take them away (all of them when none is named), and
 * which of an image's names a user's reference meant. Names are normalised as podman does
 * (`fixture:2` → `localhost/fixture:2`); a name that points at another image moves.
 *
 * @example
 * ```ts
 * tagImage(runtime, "dc217c97961a", ["fixture:latest"]);  // adds localhost/fixture:latest
 * untagImage(runtime, "fixture:2", []);                   // removes every name
 * ```
 * @module
 */
import type { RuntimeContext } from "../container/context.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { type ImageRecord, normaliseImageName } from "../storage/images.ts";
import { parseImageReference } from "../util/names.ts";
import { imageEvent, recordEvents } from "../events/journal.ts";

/** `untag` was given a name the image does not carry (podman: `NAME: tag not known`). */
export class TagNotKnownError extends DenopodError {
  constructor(name: string) {
    super(`${name}: tag not known`);
  }
}

/** Normalises a name to give an image; refuses digests, which cannot be given as names. */
export function normaliseNewName(name: string): string {
  const ref = parseImageReference(name);
  if (ref.digest !== null) {
    throw new InvalidArgError(`cannot tag with a digest: ${JSON.stringify(name)}`);
  }
  return normaliseImageName(name);
}

/**
 * Points every name in `names` at the image `reference` resolves to (moving a name from another
 * image), all or none: a bad name fails before anything changes. Returns the image as it is now.
 */
export function tagImage(ctx: RuntimeContext, reference: string, names: string[]): ImageRecord {
  if (names.length === 0) throw new InvalidArgError("at least one name to tag with is needed");
  const image = ctx.images.resolve(reference);
  const normalised = names.map(normaliseNewName);
  return ctx.db.transaction(() => {
    for (const name of normalised) ctx.images.addName(image.id, name);
    recordEvents(ctx.db, names.map((name) => imageEvent("tag", image.id, name)));
    return ctx.images.get(image.id)!;
  });
}

/**
 * Removes `names` from the image `reference` resolves to, or every name when `names` is empty;
 * throws {@linkcode TagNotKnownError} (changing nothing) when the image lacks one of them.
 * Returns the names removed. The image itself stays, untagged if no name is left.
 */
export function untagImage(ctx: RuntimeContext, reference: string, names: string[]): string[] {
  const image = ctx.images.resolve(reference);
  const targets = names.length === 0 ? [...image.names] : names.map(normaliseImageName);
  for (const name of targets) {
    if (!image.names.includes(name)) throw new TagNotKnownError(name);
  }
  ctx.db.transaction(() => {
    for (const name of new Set(targets)) ctx.images.removeName(image.id, name);
    recordEvents(ctx.db, [...new Set(targets)].map((name) => imageEvent("untag", image.id, name)));
  });
  return [...new Set(targets)];
}

/**
 * The name of `image` that `reference` (which resolved to it) named, or undefined when it was an
 * ID or ID prefix: `fixture:2` → `localhost/fixture:2`, `dc217c97` → undefined.
 */
export function nameReferenced(image: ImageRecord, reference: string): string | undefined {
  let normalised: string | undefined;
  try {
    normalised = normaliseImageName(reference);
  } catch {
    normalised = undefined; // not a name: an ID
  }
  if (normalised !== undefined && image.names.includes(normalised)) return normalised;
  if (!reference.includes("/")) {
    const suffix = `/${reference.includes(":") ? reference : `${reference}:latest`}`;
    const bySuffix = image.names.find((name) => name.endsWith(suffix));
    if (bySuffix !== undefined) return bySuffix;
  }
  return undefined;
}
