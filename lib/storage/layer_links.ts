/**
 * Short names for image layers, as containers/storage keeps them: `<root>/layers/l/NAME` is a
 * symlink to `../<id>/diff`, and `<root>/layers/<id>/link` holds `NAME` (26 characters of
 * base32, `A-Z2-7`). An overlay mount names its lower directories `l/NAME` relative to the layers
 * directory, 28 bytes each instead of a 64-hex ID in an absolute path, so a 125-layer image fits
 * in the one page mount(2) takes for its options where absolute paths overflow it past ~41.
 *
 * A link is made when the layer is committed; for a layer that has none (a store written before
 * links existed, or a commit that died before making it), {@linkcode layerLink} makes it on first
 * use. Two processes making one layer's link at once agree on one name: the `link` file is
 * published with link(2), which fails for the second. {@linkcode removeLayerLink} drops it with
 * the layer.
 *
 * @example
 * ```ts
 * layerLink(paths, "ab12...");   // "Q3V7ZJ2M5KXWQA6RT4YHC6DNLP"; layers/l/Q3V... -> ../ab12.../diff
 * removeLayerLink(paths, "ab12...");
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import type { Paths } from "../paths.ts";

/** The folder of short links inside the layers directory. */
export const LINK_DIR = "l";
/** The file in a layer's directory that holds its short name. */
export const LINK_FILE = "link";
/** Length of a short name, as containers/storage's. */
export const LINK_NAME_LENGTH = 26;

/** Base32's alphabet (RFC 4648), as containers/storage's names. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LINK_NAME = new RegExp(`^[A-Z2-7]{${LINK_NAME_LENGTH}}$`);

/** A fresh random short name (130 random bits). */
export function newLinkName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(LINK_NAME_LENGTH));
  let name = "";
  for (const byte of bytes) name += ALPHABET[byte & 31];
  return name;
}

/** Where the short links live: `<root>/layers/l`. */
export function linkDir(paths: Paths): string {
  return join(paths.layersDir, LINK_DIR);
}

/** What a layer's short link points at, relative to the link folder. */
function linkTarget(id: string): string {
  return `../${id}/diff`;
}

/** Reads the layer's recorded short name; undefined when it has none (or a malformed one). */
function readLinkName(paths: Paths, id: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(paths.layerDir(id), LINK_FILE));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const name = text.trim();
  return LINK_NAME.test(name) ? name : undefined;
}

/** Makes `l/NAME` point at the layer's diff, unless it does already. */
function ensureSymlink(paths: Paths, id: string, name: string): void {
  const path = join(linkDir(paths), name);
  try {
    if (Deno.readLinkSync(path) === linkTarget(id)) return;
    Deno.removeSync(path); // a stale link of that name: made again below
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  Deno.mkdirSync(linkDir(paths), { recursive: true, mode: 0o700 });
  try {
    Deno.symlinkSync(linkTarget(id), path);
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
}

/**
 * Returns the layer's short name, making the name and its `l/` link when the layer has none (or
 * the link went missing). The layer's directory must exist.
 */
export function layerLink(paths: Paths, id: string): string {
  const known = readLinkName(paths, id);
  if (known !== undefined) {
    ensureSymlink(paths, id, known);
    return known;
  }
  const name = newLinkName();
  ensureSymlink(paths, id, name);
  // Publish the name all at once: written aside, then hard-linked into place, which fails when
  // another process published one first (then that one is the name, and ours is dropped).
  const dir = paths.layerDir(id);
  const draft = join(dir, `${LINK_FILE}.${name}`);
  Deno.writeTextFileSync(draft, name, { mode: 0o644 });
  try {
    Deno.linkSync(draft, join(dir, LINK_FILE));
    return name;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    removeIfPresent(join(linkDir(paths), name));
    const theirs = readLinkName(paths, id);
    if (theirs === undefined) throw err;
    ensureSymlink(paths, id, theirs);
    return theirs;
  } finally {
    removeIfPresent(draft);
  }
}

/** Removes the layer's `l/` link (its directory is about to go); a layer without one is fine. */
export function removeLayerLink(paths: Paths, id: string): void {
  const name = readLinkName(paths, id);
  if (name === undefined) return;
  const path = join(linkDir(paths), name);
  try {
    if (Deno.readLinkSync(path) !== linkTarget(id)) return; // not ours
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  removeIfPresent(path);
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
