/**
 * Integration-test helpers: fresh temporary `--root`/`--runroot` per test, the real CLI run as a
 * child process (`deno run -A main.ts`), and a cleanup that unmounts everything under the roots
 * and deletes them, even when the test failed.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mountsUnder, unmount } from "../../lib/sys/mount.ts";

/** The repository's root directory. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(REPO, "main.ts");

/** A test's private roots. */
export interface Roots {
  dir: string;
  root: string;
  runRoot: string;
}

/** What a CLI run printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Makes fresh roots under a new temp directory. */
export async function makeRoots(): Promise<Roots> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-test-" });
  return { dir, root: join(dir, "root"), runRoot: join(dir, "run") };
}

/** PIDs of processes whose command line mentions `dir` (monitors, `container cleanup`). */
function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes(dir)) {
        pids.push(Number(entry.name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Waits up to 10 s for the monitors and `container cleanup` processes of these roots to end
 * (they would write into, or even re-create, the roots being deleted), then SIGKILLs any left.
 */
async function waitForProcessesUsing(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let pids = processesMentioning(dir);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pids = processesMentioning(dir);
  }
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Unmounts everything under the roots (deepest first), kills runc containers, and deletes it all. */
export async function removeRoots(roots: Roots): Promise<void> {
  const runcRoot = join(roots.runRoot, "runc");
  try {
    for await (const entry of Deno.readDir(runcRoot)) {
      await new Deno.Command("runc", {
        args: ["--root", runcRoot, "delete", "-f", entry.name],
        stdout: "null",
        stderr: "null",
      }).output();
    }
  } catch {
    // no runc state
  }
  await waitForProcessesUsing(roots.dir);
  for (const path of mountsUnder(roots.dir)) {
    unmount(path, { detach: true, ignoreNotMounted: true });
  }
  await Deno.remove(roots.dir, { recursive: true }).catch(() => {});
}

/** Runs `fn` with fresh roots and always cleans up after it. */
export async function withRoots(fn: (roots: Roots) => Promise<void>): Promise<void> {
  const roots = await makeRoots();
  try {
    await fn(roots);
  } finally {
    await removeRoots(roots);
  }
}

/** Options for {@linkcode denopod}. */
export interface RunOptions {
  stdin?: Uint8Array;
  env?: Record<string, string>;
}

/** The argv (after `deno`) that runs the CLI from source with the test's roots. */
export function cliPrefix(roots: Roots): string[] {
  return ["run", "-A", "--no-check", MAIN, "--root", roots.root, "--runroot", roots.runRoot];
}

/** Runs the denopod CLI with the test's roots; never throws on a non-zero exit. */
export async function denopod(
  roots: Roots,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cliPrefix(roots), ...args],
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A CLI process started in the background. */
export interface Background {
  /** Its process ID. */
  pid: number;
  /** Resolves with what it printed and returned, once it exits. */
  done: Promise<RunResult>;
  /** True once it has exited. */
  exited(): boolean;
}

/** Starts the CLI with the test's roots without waiting for it (stdin closed). */
export function spawnDenopod(
  roots: Roots,
  args: string[],
  env?: Record<string, string>,
): Background {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cliPrefix(roots), ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const decoder = new TextDecoder();
  const done = child.output().then((out) => {
    exited = true;
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  });
  return { pid: child.pid, done, exited: () => exited };
}

/** Runs the CLI and throws (with its stderr) unless it exits 0; returns stdout. */
export async function denopodOk(
  roots: Roots,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await denopod(roots, args, options);
  if (result.code !== 0) {
    throw new Error(`denopod ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  }
  return result.stdout;
}

let busyboxTar: string | undefined;

/** Path of a busybox rootfs tarball built once per test process from the host's busybox-static. */
export async function busyboxRootfsTar(): Promise<string> {
  if (busyboxTar) return busyboxTar;
  const dir = await Deno.makeTempDir({ prefix: "denopod-bbtar-" });
  const path = join(dir, "busybox.tar");
  const out = await new Deno.Command("bash", {
    args: [join(REPO, "scripts/make-busybox-rootfs.sh"), path],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  busyboxTar = path;
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return path;
}

/** Imports the busybox rootfs as `NAME` into the roots and returns the image ID. */
export async function importBusybox(roots: Roots, name = "busybox"): Promise<string> {
  const out = await denopodOk(roots, ["import", await busyboxRootfsTar(), name]);
  return out.trim().replace(/^sha256:/, "");
}

/** Lines of `/proc/self/mountinfo` that mention `dir`. */
export function mountLinesUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((l) => l.includes(dir));
}

/** The sorted names in a directory; a missing directory is empty. */
export function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/**
 * The layer directories under `<root>/layers`, sorted, without `l` (the folder of the layers'
 * short links), after checking that every link there leads to a layer directory's `diff`: a
 * test that counts layer directories neither sees `l` nor misses a dangling link.
 */
export function layerDirs(roots: Roots): string[] {
  const layersDir = join(roots.root, "layers");
  for (const name of listDir(join(layersDir, "l"))) {
    const target = Deno.readLinkSync(join(layersDir, "l", name));
    if (!/^\.\.\/[0-9a-f]{64}\/diff$/.test(target) || !isDirectory(join(layersDir, "l", name))) {
      throw new Error(`layers/l/${name} -> ${target} leads to no layer`);
    }
  }
  return listDir(layersDir).filter((name) => name !== "l");
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** True when running as root (integration tests need it). */
export const IS_ROOT = Deno.uid() === 0;
