/**
 * Test bundles: a temporary directory holding an OCI bundle whose rootfs is the host's static
 * `/bin/busybox` with applet links, a `config.json` from `runc spec` edited for tests (no
 * terminal, the given command, writable root, the host's network namespace), and the
 * directories a monitor writes into. `cleanup()` force-deletes the container from runc and
 * removes everything.
 *
 * @example
 * ```ts
 * const b = await makeBundle(["sh", "-c", "echo hi"]);
 * try { ... } finally { await b.cleanup(); }
 * ```
 * @module
 */
import { join } from "node:path";

/** Applets linked into the rootfs. */
const APPLETS = ["sh", "echo", "sleep", "cat", "true", "false", "ls", "id", "kill", "touch", "pwd"];

/** A temporary bundle and the paths around it that a test passes to runc or a monitor. */
export interface TestBundle {
  /** A fresh container ID. */
  id: string;
  /** The temporary directory holding everything below. */
  dir: string;
  /** The bundle directory (`config.json`, `rootfs/`). */
  bundle: string;
  /** The container's run directory. */
  runDir: string;
  /** The exit-file directory. */
  exitDir: string;
  /** runc's `--root`. */
  runcRoot: string;
  /** The k8s-file log path. */
  logPath: string;
  /** The container pid file. */
  pidFile: string;
  /** Force-deletes the container from runc and removes the directory. */
  cleanup(): Promise<void>;
}

/** Options for {@linkcode makeBundle}. */
export interface BundleOptions {
  /**
   * Share the host's PID namespace: the command is then not a namespace init, so a signal it
   * has no handler for kills it (an init ignores those).
   */
  hostPidNamespace?: boolean;
}

/** Builds a bundle that runs `args` (the process's `cwd` is `/`, `PATH=/bin`). */
export async function makeBundle(args: string[], options: BundleOptions = {}): Promise<TestBundle> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-bundle-" });
  const id = `denopod-test-${crypto.randomUUID().slice(0, 8)}`;
  const bundle = join(dir, "bundle");
  const runcRoot = join(dir, "runc");
  const result: TestBundle = {
    id,
    dir,
    bundle,
    runDir: join(dir, "run"),
    exitDir: join(dir, "exits"),
    runcRoot,
    logPath: join(dir, "ctr.log"),
    pidFile: join(dir, "run", "pidfile"),
    async cleanup() {
      await new Deno.Command("runc", {
        args: ["--root", runcRoot, "delete", "--force", id],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
  try {
    await Deno.mkdir(join(bundle, "rootfs", "bin"), { recursive: true });
    await Deno.copyFile("/bin/busybox", join(bundle, "rootfs", "bin", "busybox"));
    await Deno.chmod(join(bundle, "rootfs", "bin", "busybox"), 0o755);
    for (const applet of APPLETS) {
      await Deno.symlink("busybox", join(bundle, "rootfs", "bin", applet));
    }
    const spec = await new Deno.Command("runc", { args: ["spec", "--bundle", bundle] }).output();
    if (!spec.success) {
      throw new Error(`runc spec failed: ${new TextDecoder().decode(spec.stderr)}`);
    }
    const configPath = join(bundle, "config.json");
    const config = JSON.parse(await Deno.readTextFile(configPath));
    config.process.terminal = false;
    config.process.args = args;
    config.root = { path: "rootfs", readonly: false };
    config.linux.namespaces = config.linux.namespaces.filter(
      (ns: { type: string }) =>
        ns.type !== "network" && !(options.hostPidNamespace && ns.type === "pid"),
    );
    await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
    return result;
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}
