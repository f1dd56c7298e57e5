/**
 * The container's `/etc/hostname`: `--hostname`, else the first 12 characters of the ID (with
 * `--network host`, the host's name), and a newline.
 *
 * @example
 * ```ts
 * buildHostname(defaultHostname("0123456789abcdef...", "private", "vm")); // "0123456789ab\n"
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import { assertNoControlChars, type NetworkMode } from "./validate.ts";

/** Linux's HOST_NAME_MAX: `sethostname(2)` refuses longer names. */
export const HOST_NAME_MAX = 64;

/**
 * Throws {@linkcode InvalidArgError} unless `hostname` is 1 to 64 bytes with no blank or
 * control character (what `sethostname(2)` and a hosts file can take).
 */
export function validateHostname(hostname: string): void {
  assertNoControlChars("--hostname", hostname);
  if (hostname === "" || /\s/.test(hostname) || hostname.includes("#")) {
    throw new InvalidArgError(`invalid hostname ${JSON.stringify(hostname)}`);
  }
  if (new TextEncoder().encode(hostname).length > HOST_NAME_MAX) {
    throw new InvalidArgError(
      `invalid hostname ${JSON.stringify(hostname)}: longer than ${HOST_NAME_MAX} bytes`,
    );
  }
}

/**
 * The hostname a container gets without `--hostname`: the host's name with `--network host`,
 * else the first 12 characters of its ID.
 */
export function defaultHostname(id: string, network: NetworkMode, hostHostname: string): string {
  return network === "host" ? hostHostname : id.slice(0, 12);
}

/**
 * Returns the text of `/etc/hostname`: the name and a newline. Throws
 * {@linkcode InvalidArgError} for a name {@linkcode validateHostname} refuses.
 *
 * @example
 * ```ts
 * buildHostname("web"); // "web\n"
 * ```
 */
export function buildHostname(hostname: string): string {
  validateHostname(hostname);
  return `${hostname}\n`;
}
