/**
 * The mounts confinement adds to a container's spec: `--tmpfs` mounts (podman's defaults
 * `rw,rprivate,noexec,nosuid,nodev` before the user's options), the tmpfs on `/tmp`, `/var/tmp`
 * and `/run` that `--read-only` gets unless `--read-only-tmpfs=false`, a read-only root, and
 * catatonit bound at `/run/podman-init` for `--init` (the command becomes
 * `/run/podman-init -- CMD...`, as podman's).
 *
 * @example
 * ```ts
 * newSpec(withTmpfs([{ destination: "/scratch", options: ["size=1m"] }]), withReadOnlyRoot(true, true));
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import type { TmpfsSpec } from "../confinement.ts";
import type { OciMount, SpecOption } from "../spec.ts";

/** The options podman puts before a `--tmpfs` mount's own. */
export const TMPFS_DEFAULT_OPTIONS = ["rw", "rprivate", "noexec", "nosuid", "nodev"];

/** Where `--init` binds catatonit in the container (podman's path). */
export const INIT_PATH = "/run/podman-init";

/** Where catatonit is looked for on the host, podman's place first. */
export const CATATONIT_PATHS = ["/usr/libexec/podman/catatonit", "/usr/bin/catatonit"];

/** The host's catatonit; throws {@linkcode InvalidArgError} when none is installed. */
export function findCatatonit(paths: readonly string[] = CATATONIT_PATHS): string {
  for (const path of paths) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // try the next
    }
  }
  throw new InvalidArgError(
    `container-init binary not found on the host: install catatonit (looked in ${
      paths.join(", ")
    })`,
  );
}

function tmpfsMount(t: TmpfsSpec): OciMount {
  const options = [...TMPFS_DEFAULT_OPTIONS];
  for (const option of t.options) {
    const opposite: Record<string, string> = {
      exec: "noexec",
      suid: "nosuid",
      dev: "nodev",
      ro: "rw",
    };
    const index = options.indexOf(opposite[option]);
    if (index >= 0) options.splice(index, 1);
    if (!options.includes(option)) options.push(option);
  }
  return { destination: t.destination, type: "tmpfs", source: "tmpfs", options };
}

/** Adds a tmpfs mount for each `--tmpfs`. */
export function withTmpfs(mounts: readonly TmpfsSpec[]): SpecOption {
  return (spec) => {
    spec.mounts.push(...mounts.map(tmpfsMount));
  };
}

/**
 * Makes the root filesystem read-only when `readOnly`; with `tmpfs` also mounts writable tmpfs on
 * `/tmp`, `/var/tmp` and `/run` (`rw,rprivate,nosuid,nodev,tmpcopyup`), unless a mount is there.
 */
export function withReadOnlyRoot(readOnly: boolean, tmpfs: boolean): SpecOption {
  return (spec) => {
    if (!readOnly) return;
    spec.root.readonly = true;
    if (!tmpfs) return;
    for (const destination of ["/tmp", "/var/tmp", "/run"]) {
      if (spec.mounts.some((m) => m.destination === destination)) continue;
      spec.mounts.push({
        destination,
        type: "tmpfs",
        source: "tmpfs",
        options: ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"],
      });
    }
  };
}

/** Runs the command under catatonit (host path `catatonit`) bound read-only at `/run/podman-init`. */
export function withInit(catatonit: string): SpecOption {
  return (spec) => {
    spec.mounts.push({
      destination: INIT_PATH,
      type: "bind",
      source: catatonit,
      options: ["bind", "rprivate", "ro"],
    });
    spec.process.args = [INIT_PATH, "--", ...spec.process.args];
  };
}
