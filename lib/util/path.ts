/**
 * POSIX path helpers with Node's `node:path` semantics (`join`, `resolve`, `normalize`, `dirname`,
 * `basename`, `isAbsolute`) and `fileURLToPath`, without loading Deno's Node compatibility
 * layer: importing `node:path` costs every command ~5 ms of start-up.
 * @module
 */

/** Resolves `.` and `..` segments and repeated slashes; keeps a trailing slash; `""` is `"."`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  let result = out.join("/");
  if (result === "" && !absolute) result = ".";
  if (trailing && result !== "" && result !== ".") result += "/";
  else if (trailing && result === ".") result = "./";
  return absolute ? `/${result}` : result;
}

/** Joins the non-empty parts with `/` and normalizes (`"."` when nothing is left). */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** True for a path that starts at `/`. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** The absolute path the parts lead to from the working directory, without a trailing slash. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (parts[i] === "") continue;
    path = path === "" ? parts[i] : `${parts[i]}/${path}`;
  }
  if (!path.startsWith("/")) path = path === "" ? Deno.cwd() : `${Deno.cwd()}/${path}`;
  const result = normalize(path);
  return result.length > 1 && result.endsWith("/") ? result.slice(0, -1) : result;
}

/** The path without its last segment (`"."` for a bare name, `"/"` for the root), as Node. */
export function dirname(path: string): string {
  if (path === "") return ".";
  const hasRoot = path[0] === "/";
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** The last segment of the path, without trailing slashes, and without `ext` when it ends so. */
export function basename(path: string, ext?: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  if (end === 1 && path[0] === "/") return "";
  const base = path.slice(path.lastIndexOf("/", end - 1) + 1, end);
  return ext !== undefined && ext !== base && base.endsWith(ext)
    ? base.slice(0, base.length - ext.length)
    : base;
}

/** The POSIX helpers under Node's `posix` name. */
export const posix = { normalize, join, resolve, dirname, basename, isAbsolute };

/** The file path of a `file:` URL (percent-decoded). */
export function fileURLToPath(url: string | URL): string {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (parsed.protocol !== "file:") throw new TypeError(`not a file URL: ${parsed.href}`);
  return decodeURIComponent(parsed.pathname);
}
