/**
 * The spec options that confine one container, in order: its cgroup and resources, rlimits,
 * capabilities and the rest of {@linkcode withSecurity}, devices, seccomp (podman's profile
 * converted for these capabilities, cached under `--root`), tmpfs mounts, a read-only root, and
 * catatonit for `--init`.
 *
 * @example
 * ```ts
 * const extra = await confinementOptions({ id, confinement, cacheDir, hardNofile, hardNproc });
 * buildSpec({ ...input, extra });
 * ```
 * @module
 */
import type { Confinement } from "../confinement.ts";
import type { SpecOption } from "../spec.ts";
import { withCgroup, withResources, withUlimits } from "./resources.ts";
import { defaultSeccompProfile, loadSeccomp } from "./seccomp.ts";
import { withDevices, withSeccomp, withSecurity } from "./security.ts";
import { findCatatonit, withInit, withReadOnlyRoot, withTmpfs } from "./mounts.ts";

/** What {@linkcode confinementOptions} needs. */
export interface ConfineInput {
  id: string;
  confinement: Confinement;
  /** Where converted seccomp profiles are cached. */
  cacheDir?: string;
  /** The default profile's path (tests point it elsewhere). */
  seccompProfile?: string;
  hardNofile?: number;
  hardNproc?: number;
  /** SELinux labels; none (or empty) when SELinux is off. */
  labels?: { processLabel: string; mountLabel: string };
}

/** The spec options for the container's confinement; throws when seccomp cannot be loaded. */
export async function confinementOptions(input: ConfineInput): Promise<SpecOption[]> {
  const conf = input.confinement;
  const seccomp = conf.seccomp === "unconfined" || conf.privileged ? undefined : await loadSeccomp({
    profilePath: conf.seccomp === "default"
      ? input.seccompProfile ?? defaultSeccompProfile()
      : conf.seccomp,
    cacheDir: input.cacheDir,
    capabilities: conf.capabilities,
  });
  const options: SpecOption[] = [
    withCgroup(input.id),
    withResources(conf),
    withUlimits(conf.ulimits, input.hardNofile, input.hardNproc),
    withSecurity(conf),
    withDevices(conf.devices, conf.privileged),
    withSeccomp(seccomp),
    withTmpfs(conf.tmpfs),
    withReadOnlyRoot(conf.readOnly, conf.readOnlyTmpfs),
  ];
  if (conf.init) options.push(withInit(findCatatonit()));
  if (input.labels?.processLabel) {
    const { processLabel, mountLabel } = input.labels;
    options.push((spec) => {
      spec.process.selinuxLabel = processLabel;
      spec.linux.mountLabel = mountLabel;
    });
  }
  return options;
}
