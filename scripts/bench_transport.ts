/**
 * Benchmark of `denopod import`, `load` and `save` on a ~200 MB Debian-like root filesystem (the
 * host's own `/etc`, `/usr/share/{doc,man,perl,...}`, `/usr/bin`, `/usr/sbin` and `/usr/lib`,
 * taken in that order until 200 MB: tens of thousands of files, symlinks and directories), side by
 * side with podman (in a `PodmanSandbox`, vfs driver, throw-away roots) when it is installed. Each
 * figure is the median of three runs, each into fresh roots; beside the wall time, the CPU time
 * (user + system: steadier than wall time on a busy machine) and the peak resident memory of the
 * process (`/usr/bin/time`'s maximum RSS, i.e. VmHWM). Called by `scripts/bench.ts
 * transport`; run as root.
 * @module
 */
import { join } from "node:path";
import { writeDockerArchive } from "../lib/storage/archive/writer.ts";
import { mountsUnder, unmount } from "../lib/sys/mount.ts";
import { PODMAN, PodmanSandbox } from "../test/helpers/podman.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TIME = "/usr/bin/time";
const ROOTFS_BYTES = 200 * 1000 * 1000;
/** Host folders the rootfs is taken from, in order, until it holds ROOTFS_BYTES. */
const HOST_DIRS = [
  "etc",
  "usr/share/doc",
  "usr/share/man",
  "usr/share/perl",
  "usr/share/zoneinfo",
  "usr/share/locale",
  "usr/share/common-licenses",
  "usr/sbin",
  "usr/bin",
  "usr/lib",
];
const RUNS = 3;
let dirCount = 0;

/** One measured run: wall seconds, CPU seconds (user + system) and peak RSS in MiB. */
interface Figure {
  seconds: number;
  cpuSeconds: number;
  peakMiB: number;
}

/** A fresh directory with a short name under `work` (podman wants a runroot under 50 chars). */
async function freshDir(work: string): Promise<string> {
  const dir = join(work, `${++dirCount}`);
  await Deno.mkdir(dir);
  return dir;
}

/**
 * Builds the rootfs and the image archive, times import, load and save for denopod and podman,
 * and returns one line per operation, e.g.
 * `load 217MB: denopod 3.10s 61 MiB peak, podman 4.20s 48 MiB peak (ratio 0.74)`. Cleans up.
 */
export async function benchLoadSave(): Promise<string[]> {
  if (!(await exists(TIME))) return ["load/save: /usr/bin/time is missing (apt-get install time)"];
  const work = await Deno.makeTempDir({ prefix: "dpb" });
  try {
    const { rootfs, files } = await buildRootfs(work);
    const archive = await buildArchive(work, rootfs);
    const megabytes = Math.round((await Deno.stat(rootfs)).size / 1e6);
    const podman = PODMAN !== undefined;
    const ours = {
      importing: await median(() => denopodImportOnce(work, rootfs)),
      load: await median(() => denopodLoadOnce(work, archive)),
      save: await denopodSave(work, archive),
    };
    const theirs = podman
      ? {
        importing: await median(() => podmanImportOnce(rootfs)),
        load: await median(() => podmanLoadOnce(archive)),
        save: await podmanSave(work, archive),
      }
      : undefined;
    const what = `${megabytes}MB, ${files} entries`;
    return [
      line(`import ${what}`, ours.importing, theirs?.importing),
      line(`load ${what}`, ours.load, theirs?.load),
      line(`save ${what}`, ours.save, theirs?.save),
    ];
  } finally {
    for (const path of mountsUnder(work)) unmount(path, { detach: true, ignoreNotMounted: true });
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

function figure(f: Figure): string {
  return `${f.seconds.toFixed(2)}s (cpu ${f.cpuSeconds.toFixed(2)}s) ${
    f.peakMiB.toFixed(0)
  } MiB peak`;
}

function line(what: string, ours: Figure, theirs: Figure | undefined): string {
  if (theirs === undefined) return `${what}: denopod ${figure(ours)} (podman not installed)`;
  return `${what}: denopod ${figure(ours)}, podman ${figure(theirs)} (time ratio ${
    (ours.seconds / theirs.seconds).toFixed(2)
  }, memory ratio ${(ours.peakMiB / theirs.peakMiB).toFixed(2)})`;
}

/** A tarball of up to ROOTFS_BYTES of the host's system files (see the module doc). */
async function buildRootfs(work: string): Promise<{ rootfs: string; files: number }> {
  const list = join(work, "rootfs.list");
  const rootfs = join(work, "rootfs.tar");
  const dirs = HOST_DIRS.filter((dir) => {
    try {
      return Deno.statSync(`/${dir}`).isDirectory;
    } catch {
      return false;
    }
  });
  await exec("bash", [
    "-c",
    `cd / && find "$@" -xdev \\( -type f -o -type l -o -type d \\) -printf '%s %p\\n' 2>/dev/null | ` +
    `awk -v max=${ROOTFS_BYTES} '{ s += $1; if (s > max) exit; print substr($0, index($0, " ") + 1) }' > ${list}`,
    "find",
    ...dirs,
  ]);
  // Files the bench cannot read (or that vanish) are skipped, as tar warns and goes on.
  await exec("bash", [
    "-c",
    `tar -C / --numeric-owner --no-recursion --ignore-failed-read -cf ${rootfs} -T ${list} 2>/dev/null || true`,
  ]);
  const files = (await Deno.readTextFile(list)).split("\n").filter((l) => l !== "").length;
  return { rootfs, files };
}

/** A docker-archive of `localhost/bench:1` whose one layer is the rootfs tarball. */
async function buildArchive(work: string, layer: string): Promise<string> {
  const diffId = `sha256:${(await exec("sha256sum", [layer])).split(" ")[0]}`;
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created_by: "bench" }],
  };
  const path = join(work, "bench.tar");
  const out = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    writeDockerArchive([{
      names: ["localhost/bench:1"],
      configBytes: new TextEncoder().encode(JSON.stringify(config)),
      layers: [{ diffId, tarPath: layer, size: (await Deno.stat(layer)).size }],
    }], (bytes) => {
      for (let at = 0; at < bytes.length;) at += out.writeSync(bytes.subarray(at));
    });
  } finally {
    out.close();
  }
  return path;
}

function denopodArgs(dir: string): string[] {
  return [
    "run",
    "-A",
    "--no-check",
    MAIN,
    "--root",
    join(dir, "r"),
    "--runroot",
    join(dir, "rr"),
  ];
}

async function denopodImportOnce(work: string, rootfs: string): Promise<Figure> {
  const dir = await freshDir(work);
  try {
    return await measured(Deno.execPath(), [...denopodArgs(dir), "import", rootfs, "bench:1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function denopodLoadOnce(work: string, archive: string): Promise<Figure> {
  const dir = await freshDir(work);
  try {
    return await measured(Deno.execPath(), [...denopodArgs(dir), "load", "-q", "-i", archive]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function denopodSave(work: string, archive: string): Promise<Figure> {
  const dir = await freshDir(work);
  try {
    await exec(Deno.execPath(), [...denopodArgs(dir), "load", "-q", "-i", archive]);
    const out = join(dir, "out.tar");
    return await median(async () => {
      await Deno.remove(out).catch(() => {});
      return await measured(
        Deno.execPath(),
        [...denopodArgs(dir), "save", "-o", out, "localhost/bench:1"],
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `podman ARGS` in a fresh sandbox, measured, and removes the sandbox. */
async function inFreshSandbox(args: string[]): Promise<Figure> {
  const sandbox = await PodmanSandbox.create("vfs");
  try {
    return await measuredPodman(sandbox, args);
  } finally {
    await sandbox.remove();
  }
}

function measuredPodman(sandbox: PodmanSandbox, args: string[]): Promise<Figure> {
  return measured(PODMAN!, [...sandbox.globalArgs(), ...args], sandbox.env());
}

function podmanImportOnce(rootfs: string): Promise<Figure> {
  return inFreshSandbox(["import", "-q", rootfs, "bench:1"]);
}

function podmanLoadOnce(archive: string): Promise<Figure> {
  return inFreshSandbox(["load", "-q", "-i", archive]);
}

async function podmanSave(work: string, archive: string): Promise<Figure> {
  const sandbox = await PodmanSandbox.create("vfs");
  try {
    await sandbox.output("load", "-q", "-i", archive);
    const out = join(work, "podman-out.tar");
    return await median(async () => {
      await Deno.remove(out).catch(() => {});
      return await measuredPodman(sandbox, ["save", "-q", "-o", out, "localhost/bench:1"]);
    });
  } finally {
    await sandbox.remove();
  }
}

/** The median run by time; its peak memory is the median of the runs' peaks. */
async function median(fn: () => Promise<Figure>): Promise<Figure> {
  const runs: Figure[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await fn());
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    seconds: middle(runs.map((r) => r.seconds)),
    cpuSeconds: middle(runs.map((r) => r.cpuSeconds)),
    peakMiB: middle(runs.map((r) => r.peakMiB)),
  };
}

/** Runs `cmd ARGS` under `/usr/bin/time`: wall time and maximum RSS (VmHWM) of the process. */
async function measured(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<Figure> {
  const out = await new Deno.Command(TIME, {
    args: ["-f", "denopod-bench %e %U %S %M", cmd, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${stderr}`);
  const match = /denopod-bench ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
  if (match === null) throw new Error(`no /usr/bin/time figures in: ${stderr}`);
  return {
    seconds: Number(match[1]),
    cpuSeconds: Number(match[2]) + Number(match[3]),
    peakMiB: Number(match[4]) / 1024,
  };
}

async function exec(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  for (const text of await benchLoadSave()) console.log(text);
}
