/**
 * What a container needs from the runtime that opened it: paths, the database and the stores.
 * Kept as an interface so the container layer never imports the runtime (data flows one way).
 * @module
 */
import type { Paths } from "../paths.ts";
import type { StateDb } from "../state/db.ts";
import type { ImageStore } from "../storage/images.ts";
import type { LayerStore } from "../storage/layers.ts";
import type { ContainerRepo } from "./repo.ts";
import type { Runc } from "../oci/runc.ts";
import type { Monitor } from "../oci/monitor.ts";

/** The OCI side: runc, the monitor, and how the monitor calls us back when a container exits. */
export interface OciContext {
  /** The runc wrapper, with `--root` under the runroot. */
  readonly runc: Runc;
  /** The monitor to start containers under (chosen once, on first use; its code loaded then). */
  monitor(): Promise<Monitor>;
  /** The argv of `denopod --root R --runroot RR container cleanup ID`. */
  cleanupCommand(id: string): string[];
}

/** The runtime's parts a container uses. */
export interface RuntimeContext {
  readonly paths: Paths;
  readonly db: StateDb;
  readonly images: ImageStore;
  readonly layers: LayerStore;
  readonly containers: ContainerRepo;
  /** runc and the monitor, created on first use. */
  readonly oci: OciContext;
  /** Host files read for rundir files; tests may point them elsewhere. */
  readonly hostFiles: HostFiles;
}

/** Paths of the host files the rundir files are derived from. */
export interface HostFiles {
  resolvConf: string;
  systemdResolvConf: string;
  hosts: string;
}

/** The host files podman reads. */
export const DEFAULT_HOST_FILES: HostFiles = {
  resolvConf: "/etc/resolv.conf",
  systemdResolvConf: "/run/systemd/resolve/resolv.conf",
  hosts: "/etc/hosts",
};
