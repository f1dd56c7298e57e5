/**
 * The form of a `--user` value (or an image's `User`), checked at `create` and `exec` before
 * anything is written or run: `user[:group]`, each a name or a number within what runc accepts.
 * Names are resolved later, in the container's rootfs (see `user.ts`).
 *
 * @example
 * ```ts
 * normalizeUserSpec("nobody:");     // "nobody"
 * normalizeUserSpec("0:0:0");       // InvalidArgError: invalid user "0:0:0": must be user[:group]
 * normalizeUserSpec("4294967296");  // InvalidArgError: uids and gids must be in range 0-2147483647
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { assertNoControlChars } from "./rundir/validate.ts";

/** The largest user or group ID runc (and so podman) accepts. */
export const MAX_USER_ID = 2147483647;

function checkId(part: string): void {
  if (/^\d+$/.test(part) && (part.length > 10 || Number(part) > MAX_USER_ID)) {
    throw new InvalidArgError(`uids and gids must be in range 0-${MAX_USER_ID}`);
  }
}

/**
 * Checks `spec` (`user[:group]`, names or numbers; "" is root) and returns it normalised (a
 * trailing `:` dropped). Throws {@linkcode InvalidArgError} naming the value when it has more
 * than one `:`, an empty user, a control character, or an ID beyond {@linkcode MAX_USER_ID}.
 */
export function normalizeUserSpec(spec: string, flag = "--user"): string {
  assertNoControlChars(flag, spec);
  if (spec === "") return spec;
  const parts = spec.split(":");
  if (parts.length > 2) {
    throw new InvalidArgError(`invalid user ${JSON.stringify(spec)}: must be user[:group]`);
  }
  const [user, group = ""] = parts;
  if (user === "") {
    throw new InvalidArgError(
      `invalid user ${JSON.stringify(spec)}: the user name or ID is empty`,
    );
  }
  checkId(user);
  checkId(group);
  return group === "" ? user : `${user}:${group}`;
}
