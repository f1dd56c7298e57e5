/**
 * podman's defaults for a container (capabilities, pids limit, the confinement of a plain
 * `create`) and the OCI version written, in a module of their own: `inspect` reads them without
 * loading the spec builder and the flag parsers.
 * @module
 */
import type { CapabilityName } from "./spec.ts";
import type { Confinement } from "./confinement.ts";

/** The OCI spec version written. */
export const OCI_VERSION = "1.0.2-dev";

/** podman's default capabilities for a container. */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_NET_BIND_SERVICE",
  "CAP_SETFCAP",
  "CAP_SETGID",
  "CAP_SETPCAP",
  "CAP_SETUID",
  "CAP_SYS_CHROOT",
];

/** podman's default pids limit. */
export const DEFAULT_PIDS_LIMIT = 2048;

/** The default confinement: podman's for a plain create. */
export function defaultConfinement(): Confinement {
  return {
    pidsLimit: DEFAULT_PIDS_LIMIT,
    ulimits: [],
    capabilities: [...DEFAULT_CAPABILITIES],
    privileged: false,
    noNewPrivileges: false,
    seccomp: "default",
    label: { disable: false },
    readOnly: false,
    readOnlyTmpfs: true,
    tmpfs: [],
    devices: [],
    init: false,
    umask: 0o022,
    annotations: {},
  };
}
