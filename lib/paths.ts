/**
 * Where everything lives under `--root` (persistent) and `--runroot` (tmpfs, gone after a
 * reboot). One place computes every path, so the layout in the README stays true.
 * @module
 */
import { join } from "./util/path.ts";

/** Default persistent root, as podman's `/var/lib/containers/storage`. */
export const DEFAULT_ROOT = "/var/lib/denopod";
/** Default run root (tmpfs), as podman's `/run/containers/storage`. */
export const DEFAULT_RUNROOT = "/run/denopod";

/** Every path denopod uses, computed from the two roots. */
export class Paths {
  constructor(readonly root: string, readonly runRoot: string) {}

  /** The SQLite state database. */
  get stateDb(): string {
    return join(this.root, "state.db");
  }
  /** Directory of all layers (image layers and container RW layers). */
  get layersDir(): string {
    return join(this.root, "layers");
  }
  /** A layer's directory. */
  layerDir(id: string): string {
    return join(this.root, "layers", id);
  }
  /** A layer's content (overlay lowerdir or upperdir). */
  layerDiff(id: string): string {
    return join(this.root, "layers", id, "diff");
  }
  /** Scratch space inside the root: spooled archives, layers being written. */
  get tmpDir(): string {
    return join(this.root, "tmp");
  }
  /** A container's persistent directory. */
  containerDir(id: string): string {
    return join(this.root, "containers", id);
  }
  /** A container's bundle: `config.json` and `artifacts/`. */
  bundleDir(id: string): string {
    return join(this.root, "containers", id, "userdata");
  }
  /** A container's shm tmpfs mount point. */
  shmDir(id: string): string {
    return join(this.root, "containers", id, "userdata", "shm");
  }
  /** A container's `k8s-file` log. */
  logPath(id: string): string {
    return join(this.root, "containers", id, "userdata", "ctr.log");
  }
  /** Converted seccomp profiles, by (profile file, architecture, capabilities). */
  get seccompCacheDir(): string {
    return join(this.root, "cache", "seccomp");
  }
  /** Named volumes: `volumes/NAME/_data`. */
  get volumesDir(): string {
    return join(this.root, "volumes");
  }
  /** Directory of lockfiles. */
  get locksDir(): string {
    return join(this.runRoot, "locks");
  }
  /** A named lockfile. */
  lockPath(name: string): string {
    return join(this.runRoot, "locks", `${name}.lock`);
  }
  /** A container's run directory (resolv.conf, hosts, hostname, pid file). */
  runDir(id: string): string {
    return join(this.runRoot, "containers", id);
  }
  /** Where monitors write `<id>` exit files. */
  get exitsDir(): string {
    return join(this.runRoot, "exits");
  }
  /** runc's `--root`. */
  get runcRoot(): string {
    return join(this.runRoot, "runc");
  }
  /** Marker that this runroot was initialised since boot. */
  get aliveMarker(): string {
    return join(this.runRoot, "alive");
  }
  /** Network files, podman's JSON format (`network create`). */
  get networksDir(): string {
    return join(this.root, "networks");
  }
  /** Containers' network namespace files (bind-mounted nsfs). */
  get netnsDir(): string {
    return join(this.runRoot, "netns");
  }
  /** A container's network namespace file. */
  netnsPath(id: string): string {
    return join(this.runRoot, "netns", id);
  }
  /** netavark's `--config` folder (aardvark-dns's files). */
  get netavarkDir(): string {
    return join(this.runRoot, "networks");
  }
}
