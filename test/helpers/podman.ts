/**
 * podman for side-by-side tests and benchmarks, kept inside a throw-away folder: its own
 * `--root`, `--runroot` and `--tmpdir`, and its own `containers.conf` (through `CONTAINERS_CONF`)
 * with what podman 4.3 needs on these machines — `runtime = "runc"`, nofile/nproc ulimits within
 * the hard limit (podman asks for 1048576 open files and fails here otherwise), `netns = "none"`,
 * cgroupfs, and a file events log. It never reads or writes the host's podman configuration or
 * store.
 *
 * @example
 * ```ts
 * const podman = await PodmanSandbox.create();
 * try { console.log(await podman.output("images", "-q")); } finally { await podman.remove(); }
 * ```
 * @module
 */
import { join } from "node:path";
import { mountsUnder, unmount } from "../../lib/sys/mount.ts";

/** Path of podman when installed, else undefined (tests that need it then skip). */
export const PODMAN: string | undefined = (() => {
  try {
    return Deno.statSync("/usr/bin/podman").isFile ? "/usr/bin/podman" : undefined;
  } catch {
    return undefined;
  }
})();

/** The `containers.conf` podman's tests run with. */
export const PODMAN_CONF = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** What one podman run printed and returned. */
export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A podman confined to a temporary folder; see the module doc. */
export class PodmanSandbox {
  private constructor(
    /** The sandbox's folder (short: podman wants a runroot under 50 characters). */
    readonly dir: string,
    /** `overlay` (as podman runs on a host) or `vfs` (no mounts at all). */
    readonly storageDriver: "overlay" | "vfs",
  ) {}

  /** Makes the folder and its `containers.conf`. */
  static async create(storageDriver: "overlay" | "vfs" = "vfs"): Promise<PodmanSandbox> {
    if (PODMAN === undefined) throw new Error("podman is not installed");
    const dir = await Deno.makeTempDir({ prefix: "dp-" });
    await Deno.writeTextFile(join(dir, "containers.conf"), PODMAN_CONF);
    return new PodmanSandbox(dir, storageDriver);
  }

  /** The global flags that keep podman inside the folder. */
  globalArgs(): string[] {
    return [
      "--root",
      join(this.dir, "r"),
      "--runroot",
      join(this.dir, "rr"),
      "--tmpdir",
      join(this.dir, "tmp"),
      "--storage-driver",
      this.storageDriver,
    ];
  }

  /** The environment podman runs with (its own containers.conf). */
  env(): Record<string, string> {
    return { CONTAINERS_CONF: join(this.dir, "containers.conf") };
  }

  /** A `Deno.Command` for `podman ARGS` in the sandbox. */
  command(args: string[], options: Deno.CommandOptions = {}): Deno.Command {
    return new Deno.Command(PODMAN!, {
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      ...options,
      args: [...this.globalArgs(), ...args],
      env: { ...this.env(), ...options.env },
    });
  }

  /** Runs podman; never throws on a non-zero exit. */
  async run(...args: string[]): Promise<PodmanResult> {
    const out = await this.command(args).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  }

  /** Runs podman and returns its stdout; throws with its stderr when it fails. */
  async output(...args: string[]): Promise<string> {
    const result = await this.run(...args);
    if (result.code !== 0) {
      throw new Error(`podman ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    }
    return result.stdout;
  }

  /** Removes every container, unmounts what podman left under the folder, and deletes it. */
  async remove(): Promise<void> {
    await this.run("rm", "-a", "-f", "-t", "0");
    for (const path of mountsUnder(this.dir)) {
      unmount(path, { detach: true, ignoreNotMounted: true });
    }
    // conmon may still be writing its last files a moment after `rm -f`
    for (let attempt = 1;; attempt++) {
      try {
        await Deno.remove(this.dir, { recursive: true });
        return;
      } catch (err) {
        if (attempt >= 20 || err instanceof Deno.errors.NotFound) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
