/**
 * Helpers for the running-container tests: the CLI bound to one test's roots and one monitor,
 * commands started in the background, polling (never fixed sleeps), and the check that a
 * removed container left nothing behind (row, layer, bundle, rundir, exit file, mount).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Background,
  denopod,
  importBusybox,
  layerDirs,
  listDir,
  type Roots,
  type RunResult,
  spawnDenopod,
  withRoots,
} from "./denopod.ts";

/** Both monitors; every running-container scenario runs under each. */
export const MONITORS = ["conmon", "builtin"] as const;

/** One of {@linkcode MONITORS}. */
export type MonitorName = typeof MONITORS[number];

/** Options every root-only test with child processes uses. */
export const ROOT_TEST = {
  ignore: Deno.uid() !== 0,
  sanitizeResources: false,
  sanitizeOps: false,
};

/**
 * Registers one test that runs `fn` under each monitor at once, as concurrent steps named
 * `[conmon]` and `[builtin]`, each in fresh roots holding the busybox image. Running the two
 * side by side keeps the suite's wall time down on a small machine.
 */
export function testEachMonitor(
  name: string,
  fn: (cli: Cli, roots: Roots, monitor: MonitorName) => Promise<void>,
): void {
  Deno.test(name, ROOT_TEST, async (t) => {
    await Promise.all(
      MONITORS.map((monitor) =>
        t.step({
          name: `[${monitor}]`,
          // steps may only run side by side with the sanitizers off
          sanitizeOps: false,
          sanitizeResources: false,
          sanitizeExit: false,
          fn: () =>
            withRoots(async (roots) => {
              await importBusybox(roots);
              await fn(cliFor(roots, monitor), roots, monitor);
            }),
        })
      ),
    );
  });
}

/** The CLI bound to a test's roots and a monitor. */
export interface Cli {
  /** Runs a command; never throws on a non-zero exit. */
  run(args: string[]): Promise<RunResult>;
  /** Runs a command and throws (with its stderr) unless it exits 0; returns stdout. */
  ok(args: string[]): Promise<string>;
  /** Starts a command in the background. */
  spawn(args: string[]): Background;
}

export type { Background } from "./denopod.ts";

/** Returns the CLI for `roots` with `DENOPOD_MONITOR` set to `monitor`. */
export function cliFor(roots: Roots, monitor: MonitorName): Cli {
  const env = { DENOPOD_MONITOR: monitor };
  return {
    run: (args) => denopod(roots, args, { env }),
    async ok(args) {
      const result = await denopod(roots, args, { env });
      if (result.code !== 0) {
        throw new Error(`denopod ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
      }
      return result.stdout;
    },
    spawn: (args) => spawnDenopod(roots, args, env),
  };
}

/**
 * Calls `probe` every 50 ms until it returns a value other than undefined, and returns it;
 * fails naming `what` after `timeoutMs`.
 */
export async function pollFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True when the process `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The command line of process `pid` (NUL-separated arguments joined by spaces). */
export function processCmdline(pid: number): string {
  return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").trim();
}

/** Mount points (field 5 of mountinfo) at or under `dir`. */
export function mountPointsUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point) => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
}

/**
 * Asserts that no container is left in the roots: `ps -aq` prints nothing; `<root>/layers`
 * holds only `imageLayers`; `<root>/containers`, `<runroot>/containers`, `<runroot>/exits`
 * and runc's state directory hold nothing; and nothing is mounted under the roots.
 */
export async function assertNoContainerLeft(
  cli: Cli,
  roots: Roots,
  imageLayers: string[],
): Promise<void> {
  assert.equal(await cli.ok(["ps", "-aq"]), "", "ps -aq lists a container");
  assert.deepEqual(layerDirs(roots), [...imageLayers].sort(), "layers");
  assert.deepEqual(listDir(join(roots.root, "containers")), [], "container bundles");
  assert.deepEqual(listDir(join(roots.runRoot, "containers")), [], "rundirs");
  assert.deepEqual(listDir(join(roots.runRoot, "exits")), [], "exit files");
  assert.deepEqual(listDir(join(roots.runRoot, "runc")), [], "runc state");
  assert.deepEqual(mountPointsUnder(roots.dir), [], "mounts under the roots");
}

/** `inspect --format TEMPLATE NAME`, trimmed. */
export async function inspectField(cli: Cli, name: string, template: string): Promise<string> {
  return (await cli.ok(["inspect", "--format", template, name])).trim();
}

/** The STATUS column of `ps -a` for the container `name`. */
export async function psStatus(cli: Cli, name: string): Promise<string> {
  const out = await cli.ok(["ps", "-a", "--format", "{{.Names}}|{{.Status}}"]);
  const row = out.split("\n").find((line) => line.startsWith(`${name}|`));
  assert.ok(row, `ps -a shows no row for ${name}:\n${out}`);
  return row.slice(name.length + 1);
}

export { listDir };
