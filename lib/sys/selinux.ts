/**
 * SELinux labels, as go-selinux does them for podman: whether SELinux is on, the `context=`
 * mount option for tmpfs/overlay mounts, and relabelling files with the `security.selinux`
 * xattr. On a host without SELinux every call is a no-op that never fails.
 *
 * @example
 * ```ts
 * formatMountLabel("mode=1777,size=65536k", "system_u:object_r:container_file_t:s0:c1,c2", true);
 * // 'mode=1777,size=65536k,context="system_u:object_r:container_file_t:s0:c1,c2"'
 * relabel("/run/denopod/containers/ID/hosts", label, false); // no-op without SELinux
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { InvalidArgError, SyscallError } from "../errors.ts";
import { libc } from "./libc.ts";

let enabledCache: boolean | undefined;

/**
 * True when the kernel has SELinux on: `/sys/fs/selinux/enforce` exists or a `selinuxfs` is
 * mounted. Asked once per process; later calls return the cached answer.
 */
export function selinuxEnabled(): boolean {
  enabledCache ??= detectSelinux();
  return enabledCache;
}

function detectSelinux(): boolean {
  try {
    Deno.statSync("/sys/fs/selinux/enforce");
    return true;
  } catch {
    // fall through to the mount table
  }
  try {
    const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
    return mountinfo.split("\n").some((line) => {
      const sep = line.indexOf(" - ");
      return sep !== -1 && line.slice(sep + 3).split(" ")[0] === "selinuxfs";
    });
  } catch {
    return false;
  }
}

/**
 * Throws {@linkcode InvalidArgError} unless `label` is a plausible SELinux context: no quote,
 * blank or control character (it goes inside `context="…"` in a mount option string).
 */
export function validateLabel(label: string): void {
  // deno-lint-ignore no-control-regex
  if (/["\s\u0000-\u001f\u007f]/.test(label)) {
    throw new InvalidArgError(`invalid SELinux label ${JSON.stringify(label)}`);
  }
}

/**
 * Adds the SELinux `context="LABEL"` option to a mount option string, as go-selinux's
 * `FormatMountLabel`: unchanged when `label` is empty or SELinux is off. `enabled` defaults to
 * {@linkcode selinuxEnabled}; tests pass it explicitly.
 *
 * @example
 * ```ts
 * formatMountLabel("", "system_u:object_r:container_file_t:s0", true);
 * // 'context="system_u:object_r:container_file_t:s0"'
 * formatMountLabel("mode=755", "system_u:object_r:container_file_t:s0", false); // "mode=755"
 * ```
 */
export function formatMountLabel(
  options: string,
  label: string,
  enabled: boolean = selinuxEnabled(),
): string {
  if (!enabled || label === "") return options;
  validateLabel(label);
  const context = `context="${label}"`;
  return options === "" ? context : `${options},${context}`;
}

/**
 * The label for content shared between containers: the same context with the level `s0`
 * (categories dropped), as go-selinux does for `:z` relabels.
 *
 * @example
 * ```ts
 * sharedLabel("system_u:object_r:container_file_t:s0:c1,c2"); // "system_u:object_r:container_file_t:s0"
 * ```
 */
export function sharedLabel(label: string): string {
  const parts = label.split(":");
  if (parts.length < 4) return label;
  return [...parts.slice(0, 3), "s0"].join(":");
}

/** Host directories go-selinux refuses to relabel: doing so would break the host. */
const PROTECTED_PATHS = new Set([
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/etc/passwd",
  "/etc/pki",
  "/etc/shadow",
  "/home",
  "/lib",
  "/lib64",
  "/media",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/var",
  "/var/lib",
  "/var/log",
]);

const EOPNOTSUPP = 95;

/**
 * Sets the `security.selinux` xattr on `path` (and, for a directory, everything below it,
 * never following a symlink) to `label`, or to its shared form when `shared`. A no-op that
 * never fails when SELinux is off or `label` is empty; a filesystem without xattr support is
 * skipped. Refuses to relabel system directories such as `/usr` ({@linkcode InvalidArgError}).
 * `enabled` defaults to {@linkcode selinuxEnabled}.
 */
export function relabel(
  path: string,
  label: string,
  shared: boolean,
  enabled: boolean = selinuxEnabled(),
): void {
  if (!enabled || label === "") return;
  validateLabel(label);
  const clean = path.replace(/\/+$/, "") || "/";
  if (PROTECTED_PATHS.has(clean)) {
    throw new InvalidArgError(`relabeling content in ${clean} is not allowed`);
  }
  const value = new TextEncoder().encode(shared ? sharedLabel(label) : label);
  const walk = (p: string) => {
    try {
      libc().lsetxattr(p, "security.selinux", value);
    } catch (err) {
      if (err instanceof SyscallError && err.errno === EOPNOTSUPP) return;
      throw err;
    }
    if (Deno.lstatSync(p).isDirectory) {
      for (const entry of Deno.readDirSync(p)) walk(join(p, entry.name));
    }
  };
  walk(clean);
}
