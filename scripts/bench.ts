/**
 * Benchmarks (not tests): each figure is printed beside a reference run in the same process tree
 * (GNU tar, du, podman when installed), with the ratio. Run as root:
 *
 *   deno run -A scripts/bench.ts [export] [ps] [run] [monitor] [transport] [df] [prune] [startup] [check]
 *     [tty] [net] [confine]
 *
 * With no argument every benchmark runs. Everything happens in fresh temporary roots, which are
 * unmounted and deleted afterwards.
 * @module
 */
import { join } from "node:path";
import { mountsUnder, unmount } from "../lib/sys/mount.ts";
import { PODMAN_CONF, PodmanSandbox } from "../test/helpers/podman.ts";

const REPO = new URL("../", import.meta.url).pathname;
const MAIN = join(REPO, "main.ts");
const PODMAN = ["/usr/bin/podman"].find((p) => exists(p));

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

interface Roots {
  dir: string;
  args: string[];
}

async function makeRoots(prefix: string): Promise<Roots> {
  const dir = await Deno.makeTempDir({ prefix });
  // podman's own containers.conf, as a PodmanSandbox's (never the host's configuration)
  await Deno.writeTextFile(join(dir, "containers.conf"), PODMAN_CONF);
  return { dir, args: ["--root", join(dir, "root"), "--runroot", join(dir, "run")] };
}

async function removeRoots(roots: Roots): Promise<void> {
  for (const path of mountsUnder(roots.dir)) {
    unmount(path, { detach: true, ignoreNotMounted: true });
  }
  await Deno.remove(roots.dir, { recursive: true }).catch(() => {});
}

async function run(
  cmd: string,
  args: string[],
  quiet = true,
  env?: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  if (!quiet) await Deno.stderr.write(out.stderr);
  return new TextDecoder().decode(out.stdout);
}

function denopod(roots: Roots, ...args: string[]): Promise<string> {
  return run(Deno.execPath(), ["run", "-A", "--no-check", MAIN, ...roots.args, ...args]);
}

function podmanArgs(roots: Roots): string[] {
  return [
    "--root",
    join(roots.dir, "proot"),
    "--runroot",
    join(roots.dir, "prun"),
    "--tmpdir",
    join(roots.dir, "ptmp"),
    "--storage-driver",
    "overlay",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
  ];
}

const PODMAN_RUN_FLAGS = [
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1024:1024",
  "--network",
  "none",
];

/** podman confined to the benchmark's folder: its root, runroot, tmpdir and containers.conf. */
function podman(roots: Roots, ...args: string[]): Promise<string> {
  return run(PODMAN!, [...podmanArgs(roots), ...args], true, {
    CONTAINERS_CONF: join(roots.dir, "containers.conf"),
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** Median of `n` timed runs. */
async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await timed(fn));
  return middle(times);
}

/**
 * Medians of `n` timed runs of each of `a` and `b`, taken in turns (the first of a pair changes
 * every round), so that a load that comes and goes on a shared machine weighs on both alike.
 */
async function pairedMedians(
  n: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      times[0].push(await timed(a));
      times[1].push(await timed(b));
    } else {
      times[1].push(await timed(b));
      times[0].push(await timed(a));
    }
  }
  return [middle(times[0]), middle(times[1])];
}

/** Figures in seconds, for a line of output. */
function seconds(figures: number[]): string {
  return figures.map((t) => t.toFixed(3)).join(" ");
}

/** The median of some figures. */
function middle(figures: number[]): number {
  const sorted = [...figures].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Removes `file`, reads every file below `tree` into the page cache and flushes dirty pages to
 * disk, so the next timed run starts warm and quiet.
 */
async function quiesce(file: string, tree: string): Promise<void> {
  await Deno.remove(file).catch(() => {});
  await run("bash", ["-c", 'tar -C "$1" -cf - . | wc -c', "warm", tree]);
  await run("sync", []);
}

function line(label: string, ours: number, refName: string, ref: number | undefined): string {
  const refText = ref === undefined
    ? `${refName} not measured`
    : `${refName} ${ref.toFixed(3)}s, ratio ${(ours / ref).toFixed(2)}`;
  return `${label}: denopod ${ours.toFixed(3)}s, ${refText}`;
}

async function busyboxTar(dir: string): Promise<string> {
  const tar = join(dir, "busybox.tar");
  await run("bash", [join(REPO, "scripts/make-busybox-rootfs.sh"), tar]);
  return tar;
}

/** Writes ~`totalMb` MB in ~`files` files under `dir` (some hard links, nested dirs). */
function generateTree(dir: string, files: number, totalMb: number): void {
  const perFile = Math.floor((totalMb * 1024 * 1024) / files);
  const chunk = new Uint8Array(perFile * 2);
  crypto.getRandomValues(chunk.subarray(0, Math.min(chunk.length, 65536)));
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 50}`, `e${i % 7}`);
    Deno.mkdirSync(sub, { recursive: true });
    const size = i % 10 === 0 ? perFile * 2 : Math.floor(perFile * 8 / 9);
    Deno.writeFileSync(join(sub, `f${i}.bin`), chunk.subarray(0, size));
    if (i % 100 === 1) Deno.linkSync(join(sub, `f${i}.bin`), join(sub, `h${i}.bin`));
    if (i % 100 === 2) Deno.symlinkSync(`f${i}.bin`, join(sub, `s${i}`));
  }
}

/**
 * The export's tree walk and tar writer alone, in this process (no Deno start-up, no CLI, no
 * runtime): what the export command adds on top is the start of a Deno process.
 */
async function writeTreeToFile(tree: string, path: string): Promise<void> {
  const { TarWriter } = await import("../lib/storage/tar/writer.ts");
  const { writeTree } = await import("../lib/storage/tar/tree.ts");
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    const writer = new TarWriter((chunk) => {
      for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
    });
    writeTree(tree, writer);
    writer.finish();
  } finally {
    file.close();
  }
}

/** Rounds of the export benchmark: each runs denopod, its writer alone and GNU tar, alike. */
const EXPORT_ROUNDS = 7;

async function benchExport(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-export-");
  try {
    await denopod(roots, "import", await busyboxTar(roots.dir), "busybox");
    await denopod(roots, "create", "--name", "big", "busybox", "true");
    const merged = (await denopod(roots, "mount", "big")).trim();
    generateTree(join(merged, "data"), 7000, 200);
    const files = (await run("bash", ["-c", `find ${merged} | wc -l`])).trim();
    const mb = (await run("du", ["-sm", "--apparent-size", merged])).split(/\s/)[0];
    const out = join(roots.dir, "out.tar");
    // Each run writes 200 MB. The writeback of the previous run's pages competes for the two CPUs
    // and the disk; this VM's DAMON pages out cold page cache, so whichever program ran first read
    // the tree from disk; and now and then writing into the page cache takes 3-10x longer, for
    // tar and denopod alike (free page reporting to the host is on). Figures swung by ±50%. So the
    // programs run in turns, each after an untimed pass that reads the whole tree and a `sync`,
    // with the previous archive gone; the median and the best of the rounds are both printed.
    // The target is against plain `tar -cf`; `tar --xattrs --sort=name --numeric-owner` writes
    // what export writes (xattrs, sorted names, numeric owners) and is printed for comparison.
    const sameContent = [
      "--xattrs",
      "--sort=name",
      "--numeric-owner",
      "-C",
      merged,
      "-cf",
      out,
      ".",
    ];
    const ourTimes: number[] = [];
    const writerTimes: number[] = [];
    const gnuTimes: number[] = [];
    const sameContentTimes: number[] = [];
    for (let i = 0; i < EXPORT_ROUNDS; i++) {
      await quiesce(out, merged);
      ourTimes.push(await timed(() => denopod(roots, "export", "-o", out, "big")));
      await quiesce(out, merged);
      writerTimes.push(await timed(() => writeTreeToFile(merged, out)));
      await quiesce(out, merged);
      gnuTimes.push(await timed(() => run("tar", ["-C", merged, "-cf", out, "."])));
      await quiesce(out, merged);
      sameContentTimes.push(await timed(() => run("tar", sameContent)));
    }
    await denopod(roots, "umount", "big");
    const label = `export ${mb} MB / ${files} files`;
    const ours = middle(ourTimes);
    return [
      line(`${label} (median of ${EXPORT_ROUNDS})`, ours, "tar -cf", middle(gnuTimes)),
      line(
        `${label} (best of ${EXPORT_ROUNDS})`,
        Math.min(...ourTimes),
        "tar -cf",
        Math.min(...gnuTimes),
      ),
      line(`${label} (median)`, ours, "tar --xattrs --sort=name", middle(sameContentTimes)),
      line(
        `  of which the tree walk and writer, in this process (median)`,
        middle(writerTimes),
        "tar -cf",
        middle(gnuTimes),
      ),
      `  each run: denopod ${seconds(ourTimes)}; writer ${seconds(writerTimes)}; ` +
      `tar -cf ${seconds(gnuTimes)}; tar --xattrs --sort=name ${seconds(sameContentTimes)}`,
    ];
  } finally {
    await removeRoots(roots);
  }
}

async function benchPs(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-ps-");
  const count = 100;
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    for (let i = 0; i < count; i++) await denopod(roots, "create", "busybox", "true");
    const ours = await median(5, () => denopod(roots, "ps", "-a", "--size"));
    let ref: number | undefined;
    if (PODMAN) {
      await podman(roots, "import", tar, "busybox");
      for (let i = 0; i < count; i++) {
        await podman(roots, "create", ...PODMAN_RUN_FLAGS, "busybox", "true");
      }
      ref = await median(5, () => podman(roots, "ps", "-a", "--size"));
      await podman(roots, "rm", "-a", "-f").catch(() => {});
    }
    return [line(`ps -a --size over ${count} containers`, ours, "podman", ref)];
  } finally {
    await removeRoots(roots);
  }
}

async function benchRun(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-run-");
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    const lines: string[] = [];
    const runOurs = () => denopod(roots, "run", "--rm", "busybox", "true");
    const createStartOurs = async () => {
      const id = (await denopod(roots, "create", "busybox", "sleep", "100")).trim();
      await denopod(roots, "start", id);
    };
    const runPodman = () => podman(roots, "run", "--rm", ...PODMAN_RUN_FLAGS, "busybox", "true");
    const createStartPodman = async () => {
      const id = (await podman(roots, "create", ...PODMAN_RUN_FLAGS, "busybox", "sleep", "100"))
        .trim();
      await podman(roots, "start", id);
    };
    // denopod and podman in turns: on a shared machine the load changes by the second
    let runRm: number;
    let createStart: number;
    let refRun: number | undefined;
    let refCreateStart: number | undefined;
    let refStop: number | undefined;
    if (PODMAN) {
      await podman(roots, "import", tar, "busybox");
      [runRm, refRun] = await pairedMedians(7, runOurs, runPodman);
      [createStart, refCreateStart] = await pairedMedians(5, createStartOurs, createStartPodman);
    } else {
      runRm = await median(7, runOurs);
      createStart = await median(5, createStartOurs);
    }
    const ids = (await denopod(roots, "ps", "-q", "--no-trunc")).trim().split("\n");
    const stop = await median(Math.min(5, ids.length), async () => {
      await denopod(roots, "stop", "-t", "0", ids.pop()!);
    });
    if (PODMAN) {
      const pids = (await podman(roots, "ps", "-q", "--no-trunc")).trim().split("\n");
      refStop = await median(
        Math.min(5, pids.length),
        () => podman(roots, "stop", "-t", "0", pids.pop()!),
      );
      await podman(roots, "rm", "-a", "-f").catch(() => {});
    }
    lines.push(line("run --rm busybox true", runRm, "podman", refRun));
    lines.push(line("create + start", createStart, "podman", refCreateStart));
    lines.push(line("stop -t 0", stop, "podman", refStop));
    await denopod(roots, "rm", "-a", "-f", "-t", "0");
    return lines;
  } finally {
    await removeRoots(roots);
  }
}

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function benchMonitor(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-monitor-");
  try {
    await denopod(roots, "import", await busyboxTar(roots.dir), "busybox");
    const lines: string[] = [];
    for (const monitor of ["conmon", "builtin"]) {
      const id =
        (await denopod(roots, "--monitor", monitor, "run", "-d", "busybox", "sleep", "100")).trim();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const pid = Number(
        (await denopod(roots, "inspect", "--format", "{{.State.ConmonPid}}", id)).trim(),
      );
      lines.push(
        `monitor RSS (${monitor}): ${(rssKb(pid) / 1024).toFixed(1)} MiB per running container`,
      );
      await denopod(roots, "rm", "-f", "-t", "0", id);
    }
    return lines;
  } finally {
    await removeRoots(roots);
  }
}

/** The budget of `system check` on a clean store of 100 containers (the housekeeping page). */
const CHECK_BUDGET_S = 0.5;

async function benchCheck(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-check-");
  const created = 95;
  const running = 5;
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    for (let i = 0; i < created; i++) await denopod(roots, "create", "busybox", "true");
    for (let i = 0; i < running; i++) {
      await denopod(roots, "run", "-d", "busybox", "sleep", "1000");
    }
    const full = await median(5, () => denopod(roots, "system", "check"));
    const quick = await median(5, () => denopod(roots, "system", "check", "--quick"));
    const within = (t: number) => t < CHECK_BUDGET_S ? "within" : "OVER";
    await denopod(roots, "rm", "-a", "-f").catch(() => {});
    const n = created + running;
    return [
      `system check over ${n} containers (${running} running), clean: denopod ${
        full.toFixed(3)
      }s, ${within(full)} the ${CHECK_BUDGET_S}s budget (podman 4.3 has no system check)`,
      `system check --quick over ${n} containers: denopod ${quick.toFixed(3)}s, ${
        within(quick)
      } the ${CHECK_BUDGET_S}s budget`,
    ];
  } finally {
    await removeRoots(roots);
  }
}

async function benchTransport(): Promise<string[]> {
  const module = join(REPO, "scripts/bench_transport.ts");
  if (!exists(module)) return ["load/save: scripts/bench_transport.ts is missing"];
  const { benchLoadSave } = await import(module) as { benchLoadSave: () => Promise<string[]> };
  return await benchLoadSave();
}
/**
 * `run --rm --network NAME -p 127.0.0.1:PORT:80 busybox true` (netns, netavark setup and teardown,
 * firewall rules in and out), beside podman's in a PodmanSandbox whose containers.conf also keeps
 * its network files in the sandbox. The two are interleaved (denopod then podman, then podman then
 * denopod, ...), so a burst of load from elsewhere lands on both; after one warm-up run each,
 * `BENCH_NET_RUNS` pairs (default 11) are timed, and the medians and the median of the per-pair
 * ratios are printed. Test-only subnets and names; both networks removed after.
 */
async function benchNet(): Promise<string[]> {
  const pairs = Number(Deno.env.get("BENCH_NET_RUNS") ?? "11");
  const roots = await makeRoots("denopod-bench-net-");
  const net = ["--network", "dptestbench"];
  let sandbox: PodmanSandbox | undefined;
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    await denopod(
      roots,
      "network",
      "create",
      "--subnet",
      "10.231.250.0/24",
      "--interface-name",
      "dptestbrbench",
      "dptestbench",
    );
    const ours = () =>
      denopod(roots, "run", "--rm", ...net, "-p", "127.0.0.1:18350:80", "busybox", "true");
    let theirs: (() => Promise<string>) | undefined;
    if (PODMAN) {
      const box = sandbox = await PodmanSandbox.create("overlay");
      const conf = join(box.dir, "containers.conf");
      const text = await Deno.readTextFile(conf);
      await Deno.writeTextFile(
        conf,
        text.replace(
          "[engine]",
          `[network]\nnetwork_config_dir = "${join(box.dir, "networks")}"\n\n[engine]`,
        ),
      );
      await Deno.mkdir(join(box.dir, "networks"));
      await box.output("import", tar, "busybox");
      await box.output("network", "create", "--subnet", "10.231.251.0/24", "dptestbench");
      theirs = () =>
        box.output("run", "--rm", ...net, "-p", "127.0.0.1:18351:80", "busybox", "true");
    }
    await ours();
    await theirs?.();
    const oursRuns: number[] = [];
    const theirRuns: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let a: number;
      let b: number | undefined;
      if (i % 2 === 0 || !theirs) {
        a = await timed(ours);
        b = theirs ? await timed(theirs) : undefined;
      } else {
        b = await timed(theirs);
        a = await timed(ours);
      }
      oursRuns.push(a);
      if (b !== undefined) {
        theirRuns.push(b);
        ratios.push(a / b);
      }
    }
    const label = "run --rm --network NAME -p ... busybox true";
    const out = [
      line(label, middle(oursRuns), "podman", theirs ? middle(theirRuns) : undefined),
      `  ${pairs} interleaved pairs: denopod ${seconds(oursRuns)}`,
    ];
    if (theirs) {
      out.push(`  podman ${seconds(theirRuns)}`);
      out.push(`  median of the per-pair ratios ${middle(ratios).toFixed(2)}`);
    }
    return out;
  } finally {
    if (sandbox) {
      await sandbox.run("network", "rm", "-f", "dptestbench").catch(() => {});
      await sandbox.remove();
    }
    await denopod(roots, "network", "rm", "-f", "dptestbench").catch(() => {});
    await removeRoots(roots);
  }
}

/** A rootfs tarball of busybox plus ~`mb` MB of data in ~`files` files. */
async function bigImageTar(dir: string, mb: number, files: number): Promise<string> {
  const tree = join(dir, "big-rootfs");
  await Deno.mkdir(tree);
  await run("tar", ["-C", tree, "-xf", await busyboxTar(dir)]);
  generateTree(join(tree, "data"), files, mb);
  const tar = join(dir, "big.tar");
  await run("tar", ["-C", tree, "-cf", tar, "."]);
  await Deno.remove(tree, { recursive: true });
  return tar;
}

/** `system df` over 100 containers of a 200 MB image; podman (overlay) in the same run. */
async function benchDf(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-df-");
  const count = 100;
  const sandbox = PODMAN ? await PodmanSandbox.create("overlay") : undefined;
  try {
    const tar = await bigImageTar(roots.dir, 200, 2000);
    await denopod(roots, "import", tar, "big");
    for (let i = 0; i < count; i++) await denopod(roots, "create", "big", "true");
    const ours = await median(5, () => denopod(roots, "system", "df"));
    let ref: number | undefined;
    if (sandbox) {
      await sandbox.output("import", tar, "big");
      for (let i = 0; i < count; i++) await sandbox.output("create", "big", "true");
      ref = await median(5, () => sandbox.output("system", "df"));
    }
    const label = `system df, ${count} containers of a 200 MB image (median of 5)`;
    return [
      line(label, ours, "podman", ref),
      ref === undefined
        ? ""
        : `  target: at most 0.1x podman (${ours <= 0.1 * ref ? "met" : "NOT met"})`,
    ].filter((l) => l !== "");
  } finally {
    await sandbox?.remove();
    await removeRoots(roots);
  }
}

/** Rounds of the prune benchmark (each prunes a fresh set of exited containers). */
const PRUNE_ROUNDS = 3;

/** `container prune -f` of 50 exited containers; podman (overlay) in the same run. */
async function benchPrune(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-prune-");
  const count = 50;
  const sandbox = PODMAN ? await PodmanSandbox.create("overlay") : undefined;
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    await sandbox?.output("import", tar, "busybox");
    const ours: number[] = [];
    const refs: number[] = [];
    for (let round = 0; round < PRUNE_ROUNDS; round++) {
      for (let i = 0; i < count; i++) await denopod(roots, "run", "busybox", "true");
      ours.push(await timed(() => denopod(roots, "container", "prune", "-f")));
      if (sandbox) {
        for (let i = 0; i < count; i++) await sandbox.output("run", "busybox", "true");
        refs.push(await timed(() => sandbox.output("container", "prune", "-f")));
      }
    }
    const ref = refs.length > 0 ? middle(refs) : undefined;
    const label = `container prune -f of ${count} exited containers (median of ${PRUNE_ROUNDS})`;
    return [
      line(label, middle(ours), "podman", ref),
      `  each run: denopod ${seconds(ours)}; podman ${seconds(refs)}` +
      (ref === undefined
        ? ""
        : `; target: no slower than podman (${middle(ours) <= ref ? "met" : "NOT met"})`),
    ];
  } finally {
    await sandbox?.remove();
    await removeRoots(roots);
  }
}

/** The CPU time (user + system, ms) of this process's reaped children so far: getrusage(2). */
const childCpuMs = (() => {
  let lib: Deno.DynamicLibrary<{ getrusage: { parameters: ["i32", "buffer"]; result: "i32" } }>;
  return (): number => {
    lib ??= Deno.dlopen("libc.so.6", {
      getrusage: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const usage = new BigInt64Array(18);
    const RUSAGE_CHILDREN = -1;
    lib.symbols.getrusage(RUSAGE_CHILDREN, new Uint8Array(usage.buffer));
    const [uSec, uUsec, sSec, sUsec] = usage;
    return Number(uSec + sSec) * 1000 + Number(uUsec + sUsec) / 1000;
  };
})();

/** One run's wall-clock and CPU (user + system) milliseconds. */
interface RunTime {
  wall: number;
  cpu: number;
}

/** Times one run of `cmd args` (output discarded; a failure throws). */
async function runMs(cmd: string, args: string[], env?: Record<string, string>): Promise<RunTime> {
  const cpuBefore = childCpuMs();
  const start = performance.now();
  const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).output();
  const wall = performance.now() - start;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { wall, cpu: childCpuMs() - cpuBefore };
}

/** One way of starting a program: its name in the table and how to run it with `args`. */
interface Starter {
  name: string;
  run: (args: string[]) => Promise<RunTime>;
}

/**
 * Runs every starter `runs` times for `args`, interleaved (A B C A B C ...) so that a busy
 * machine weighs on all of them alike, after one untimed warm-up each; returns the medians.
 */
async function interleavedMedians(
  starters: Starter[],
  args: string[],
  runs: number,
): Promise<RunTime[]> {
  for (const starter of starters) await starter.run(args);
  const times: RunTime[][] = starters.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [index, starter] of starters.entries()) times[index].push(await starter.run(args));
  }
  return times.map((t) => ({
    wall: middle(t.map((x) => x.wall)),
    cpu: middle(t.map((x) => x.cpu)),
  }));
}

/**
 * Start-up of the common commands (`ps -a`, `inspect CTR`, `images`, `version`), hyperfine-like
 * (a warm-up, then the median of interleaved runs), wall-clock and CPU time (user + system of
 * the process, which a busy machine disturbs less): denopod from source (`deno run main.ts`),
 * denopod bundled by `deno bundle` (one file, and split into chunks along the lazy imports),
 * podman 4.3.1 in a PodmanSandbox, and an empty `deno run` for the floor; over an empty store,
 * then over 100 containers.
 */
async function benchStartup(): Promise<string[]> {
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? "15");
  const roots = await makeRoots("denopod-bench-startup-");
  const podman = PODMAN ? await PodmanSandbox.create("overlay") : undefined;
  try {
    const empty = join(roots.dir, "empty.ts");
    await Deno.writeTextFile(empty, "");
    const single = join(roots.dir, "single", "denopod.js");
    await run(Deno.execPath(), ["bundle", "--quiet", "-o", single, MAIN]);
    const split = join(roots.dir, "split");
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--code-splitting",
      "--outdir",
      split,
      MAIN,
    ]);
    const deno = (script: string) => (args: string[]) =>
      runMs(Deno.execPath(), ["run", "-A", "--no-check", script, ...roots.args, ...args]);
    const starters: Starter[] = [
      { name: "deno run (empty file)", run: () => runMs(Deno.execPath(), ["run", "-A", empty]) },
      { name: "denopod (source)", run: deno(MAIN) },
      { name: "denopod (bundle, one file)", run: deno(single) },
      { name: "denopod (bundle, split)", run: deno(join(split, "main.js")) },
    ];
    if (podman) {
      starters.push({
        name: "podman 4.3.1",
        run: (args) => runMs(PODMAN!, [...podman.globalArgs(), ...args], podman.env()),
      });
    }
    const out: string[] = [
      `startup: median of ${runs} interleaved runs after a warm-up; wall ms / CPU ms (ratio to podman)`,
    ];
    const table = async (label: string, commands: string[][]) => {
      out.push(`  ${label}`);
      for (const command of commands) {
        const medians = await interleavedMedians(starters, command, runs);
        const ref = podman ? medians[medians.length - 1] : undefined;
        const cells = starters.map((starter, i) => {
          const ours = i > 0 && i < starters.length - (podman ? 1 : 0);
          const ratio = ref && ours
            ? ` (${(medians[i].wall / ref.wall).toFixed(2)}x / ${
              (medians[i].cpu / ref.cpu).toFixed(2)
            }x)`
            : "";
          return `${starter.name} ${medians[i].wall.toFixed(1)} / ${
            medians[i].cpu.toFixed(1)
          }${ratio}`;
        });
        out.push(`    ${command.join(" ")}`);
        for (const cell of cells) out.push(`      ${cell}`);
      }
    };
    await table("empty store", [["ps", "-a"], ["images"], ["version"]]);
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    if (podman) await podman.output("import", tar, "busybox");
    for (let i = 0; i < 100; i++) {
      await denopod(roots, "create", "--name", `c${i}`, "busybox", "true");
      if (podman) await podman.output("create", "--name", `c${i}`, "busybox", "true");
    }
    await table("100 containers", [["ps", "-a"], ["inspect", "c50"], ["images"], ["version"]]);
    return out;
  } finally {
    await podman?.remove();
    await removeRoots(roots);
  }
}

/**
 * `confine`: `run --rm` with the defaults (seccomp on, pids limit, own cgroup) beside podman's
 * defaults in the same run (in turns, 11 each), each also unconfined; and what the seccomp
 * conversion costs a container, uncached (read, parse, convert podman's profile) and from the
 * cache under --root.
 */
async function benchConfine(): Promise<string[]> {
  const roots = await makeRoots("denopod-bench-confine-");
  try {
    const tar = await busyboxTar(roots.dir);
    await denopod(roots, "import", tar, "busybox");
    const unconfined = ["--security-opt", "seccomp=unconfined"];
    const runOurs = (...flags: string[]) => () =>
      denopod(roots, "run", "--rm", ...flags, "busybox", "true");
    const runPodman = (...flags: string[]) => () =>
      podman(roots, "run", "--rm", ...PODMAN_RUN_FLAGS, ...flags, "busybox", "true");
    // denopod and podman in turns, 11 of each: on a shared machine the load changes by the second
    let ours: number;
    let oursOff: number;
    let ref: number | undefined;
    let refOff: number | undefined;
    if (PODMAN) {
      await podman(roots, "import", tar, "busybox");
      [ours, ref] = await pairedMedians(11, runOurs(), runPodman());
      [oursOff, refOff] = await pairedMedians(11, runOurs(...unconfined), runPodman(...unconfined));
    } else {
      ours = await median(11, runOurs());
      oursOff = await median(11, runOurs(...unconfined));
    }
    // a create or start is a fresh process: time one load there, cold, as it happens
    const probe = join(roots.dir, "seccomp_probe.ts");
    const seccompModule = join(REPO, "lib/container/spec/seccomp.ts");
    const specModule = join(REPO, "lib/container/spec.ts");
    await Deno.writeTextFile(
      probe,
      `import { DEFAULT_SECCOMP_PROFILE, loadSeccomp } from ${JSON.stringify(seccompModule)};
import { DEFAULT_CAPABILITIES } from ${JSON.stringify(specModule)};
const start = performance.now();
await loadSeccomp({ profilePath: DEFAULT_SECCOMP_PROFILE, cacheDir: Deno.args[0] || undefined,
  capabilities: DEFAULT_CAPABILITIES });
console.log(performance.now() - start);
`,
    );
    const probeMs = async (cacheDir: string) =>
      Number(await run(Deno.execPath(), ["run", "-A", "--no-check", probe, cacheDir]));
    const n = 9;
    const uncachedRuns: number[] = [];
    for (let i = 0; i < n; i++) uncachedRuns.push(await probeMs(""));
    const cacheDir = join(roots.dir, "seccomp-cache");
    await probeMs(cacheDir);
    const cachedRuns: number[] = [];
    for (let i = 0; i < n; i++) cachedRuns.push(await probeMs(cacheDir));
    const uncached = middle(uncachedRuns);
    const cached = middle(cachedRuns);
    const migration = await cgroupMigrationMs(7);
    return [
      line("run --rm busybox true (defaults: seccomp, pids 2048, own cgroup)", ours, "podman", ref),
      line("run --rm --security-opt seccomp=unconfined busybox true", oursOff, "podman", refOff),
      `seccomp profile per container (one load in a fresh process, median of ${n}): converted ${
        uncached.toFixed(2)
      } ms, from the cache under --root ${cached.toFixed(2)} ms`,
      migration === undefined
        ? "cgroup migration: no cgroup.procs file to write here"
        : `cgroup migration (what runc create waits for unless warmed; median of 7): first after a pause ${
          migration.cold.toFixed(2)
        } ms, right after another ${migration.warm.toFixed(2)} ms`,
    ];
  } finally {
    await removeRoots(roots);
  }
}

/**
 * What moving a process between cgroups costs: this process written into its own cgroup, first
 * after a 300 ms pause (the kernel's migration lock cold: an RCU grace period), then at once again
 * (warm). lib/sys/cgroup_warmup.ts takes the cold one beside conmon's start, not in runc create.
 */
async function cgroupMigrationMs(n: number): Promise<{ cold: number; warm: number } | undefined> {
  const { ownCgroupProcsFile } = await import("../lib/sys/cgroup_warmup.ts");
  const file = ownCgroupProcsFile();
  if (file === undefined) return undefined;
  const writeMs = () => {
    const start = performance.now();
    Deno.writeTextFileSync(file, String(Deno.pid));
    return performance.now() - start;
  };
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    cold.push(writeMs());
    warm.push(writeMs());
  }
  return { cold: middle(cold), warm: middle(warm) };
}

async function benchTtySection(): Promise<string[]> {
  const { benchTty } = await import("./bench_tty.ts");
  return await benchTty();
}

const BENCHES: Record<string, () => Promise<string[]>> = {
  confine: benchConfine,
  export: benchExport,
  ps: benchPs,
  run: benchRun,
  monitor: benchMonitor,
  transport: benchTransport,
  df: benchDf,
  prune: benchPrune,
  startup: benchStartup,
  check: benchCheck,
  tty: benchTtySection,
  net: benchNet,
};

if (import.meta.main) {
  if (Deno.uid() !== 0) {
    console.error("bench: run as root (it mounts overlays and runs containers)");
    Deno.exit(1);
  }
  const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHES);
  console.log(`denopod benchmarks (podman: ${PODMAN ? "installed" : "not installed"})`);
  for (const name of wanted) {
    const bench = BENCHES[name];
    if (!bench) {
      console.error(
        `bench: unknown benchmark ${name}; choose from ${Object.keys(BENCHES).join(", ")}`,
      );
      Deno.exit(1);
    }
    for (const text of await bench()) console.log(text);
  }
}
