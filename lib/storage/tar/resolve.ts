/**
 * Resolving archive paths inside a root directory, the way a `chroot`-ed process would see them,
 * without ever touching the host outside the root.
 *
 * A name is first cleaned lexically ({@linkcode cleanArchivePath}): a leading `/` is dropped,
 * `.` and empty components vanish and `..` is clamped at the root, so `/etc/x` and `../../etc/x`
 * both mean `ROOT/etc/x` (podman lets absolute names land inside the root in the same way).
 * The cleaned components are then walked one at a time ({@linkcode resolveInRoot}): each is
 * `lstat`ed, and a symlink met on the way is expanded *within* the root (an absolute target starts
 * again at the root). A symlink whose target climbs above the root with `..`, a loop, or a
 * non-directory used as a directory is refused with an {@linkcode UnsafePathError}.
 *
 * The root is trusted to be written by this process only (a fresh layer directory), so checking
 * with `lstat` and then acting on the path is safe there.
 *
 * @module
 */
import { DenopodError } from "../../errors.ts";

/** Most symlinks one resolution may expand before it counts as a loop (Linux uses 40). */
export const MAX_SYMLINK_EXPANSIONS = 40;

/** Why a path could not be resolved: a climb above the root, a loop, a non-directory, a gap. */
export type UnsafePathKind = "escape" | "loop" | "not-a-directory" | "missing";

/** A path could not be resolved safely inside the root; `reason` says why, without the path. */
export class UnsafePathError extends DenopodError {
  /** The path as it was given. */
  readonly path: string;
  /** What was wrong, e.g. `a symlink on the way climbs out of the root`. */
  readonly reason: string;
  /** The kind of failure, for callers that treat a missing directory differently. */
  readonly kind: UnsafePathKind;
  constructor(path: string, reason: string, kind: UnsafePathKind, options?: ErrorOptions) {
    super(`path ${JSON.stringify(path)}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
    this.kind = kind;
  }
}

/** The lexically cleaned form of an archive path. */
export interface CleanPath {
  /** The components, none of them empty, `.` or `..`; empty for the root itself. */
  components: string[];
  /** True when a `..` had to be clamped at the root (the name pointed above it). */
  climbedAboveRoot: boolean;
}

/**
 * Cleans an archive path lexically: drops a leading `/`, `.` and empty components, and applies
 * `..` with the root as its floor.
 *
 * @example
 * ```ts
 * cleanArchivePath("../../etc/./x/"); // { components: ["etc", "x"], climbedAboveRoot: true }
 * cleanArchivePath("/usr/bin/");      // { components: ["usr", "bin"], climbedAboveRoot: false }
 * ```
 */
export function cleanArchivePath(name: string): CleanPath {
  const components: string[] = [];
  let climbedAboveRoot = false;
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (components.length === 0) climbedAboveRoot = true;
      else components.pop();
      continue;
    }
    components.push(part);
  }
  return { components, climbedAboveRoot };
}

/** How {@linkcode resolveInRoot} treats missing directories and the last component. */
export interface ResolveOptions {
  /** Create missing directories on the way (mode 0755); the last component is never created. */
  createParents?: boolean;
  /** Expand the last component too when it is a symlink (default false: it is left as is). */
  followFinal?: boolean;
}

/** Where a path resolved to. */
export interface ResolvedPath {
  /** The host path, always `root` itself or below it. */
  path: string;
  /** The components below the root (empty for the root), with every symlink expanded. */
  components: string[];
  /** True when at least one symlink was expanded on the way. */
  viaSymlink: boolean;
  /** Directories made on the way (`createParents`), relative to the root, in creation order. */
  createdDirectories: string[];
}

/**
 * Resolves `name` inside `root` one component at a time, expanding symlinks within the root as a
 * `chroot`-ed walk would. Missing components are fine (the result names a path that does not exist
 * yet) unless a later component must go through them and `createParents` is off.
 *
 * Throws {@linkcode UnsafePathError} when a symlink's `..` climbs above the root, when more than
 * {@linkcode MAX_SYMLINK_EXPANSIONS} symlinks are met, or when a non-directory stands where a
 * directory must be.
 *
 * @example
 * ```ts
 * // with ROOT/lib -> usr/lib and ROOT/usr/lib a directory:
 * resolveInRoot("/layer", "lib/libc.so").path; // "/layer/usr/lib/libc.so"
 * // with ROOT/abs -> /etc: the target starts again at the root
 * resolveInRoot("/layer", "abs/passwd").path;  // "/layer/etc/passwd"
 * ```
 */
export function resolveInRoot(
  root: string,
  name: string,
  options: ResolveOptions = {},
): ResolvedPath {
  const resolved: string[] = [];
  // Pending components, last element first in line.
  const pending = cleanArchivePath(name).components.reverse();
  let expansions = 0;
  let viaSymlink = false;
  const createdDirectories: string[] = [];
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) {
        throw new UnsafePathError(name, "a symlink on the way climbs out of the root", "escape");
      }
      resolved.pop();
      continue;
    }
    const isLast = !pending.some((p) => p !== "" && p !== ".");
    if (isLast && !options.followFinal) {
      resolved.push(part);
      break;
    }
    const here = joinUnder(root, resolved, part);
    const info = lstatOrNull(here);
    if (info === null) {
      if (!isLast) {
        if (!options.createParents) {
          throw new UnsafePathError(
            name,
            `directory "${[...resolved, part].join("/")}" is missing`,
            "missing",
          );
        }
        Deno.mkdirSync(here);
        Deno.chmodSync(here, 0o755);
        createdDirectories.push([...resolved, part].join("/"));
      }
      resolved.push(part);
      continue;
    }
    if (info.isSymlink) {
      if (++expansions > MAX_SYMLINK_EXPANSIONS) {
        throw new UnsafePathError(name, "too many levels of symbolic links", "loop");
      }
      viaSymlink = true;
      const target = Deno.readLinkSync(here);
      if (target.startsWith("/")) resolved.length = 0;
      const parts = target.split("/");
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]);
      continue;
    }
    if (!isLast && !info.isDirectory) {
      throw new UnsafePathError(
        name,
        `"${[...resolved, part].join("/")}" is not a directory`,
        "not-a-directory",
      );
    }
    resolved.push(part);
  }
  return { path: joinUnder(root, resolved), components: resolved, viaSymlink, createdDirectories };
}

/** Joins the root and components (and an optional last part) with `/`. */
function joinUnder(root: string, components: string[], last?: string): string {
  let path = root.replace(/\/+$/, "");
  for (const c of components) path += "/" + c;
  if (last !== undefined) path += "/" + last;
  return path === "" ? "/" : path;
}

/** `Deno.lstatSync`, or null when nothing is there. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
