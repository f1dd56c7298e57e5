/**
 * The `tty` benchmark: a keystroke's round trip through `run -it` (1,000 one-byte writes into a
 * real pseudo-terminal, each echoed back by the container's terminal before the next), for
 * denopod under each monitor and for podman in the same run (in a `PodmanSandbox`: its own
 * store and containers.conf), in interleaved rounds (medians); and the memory high-water mark (VmHWM) of the built-in monitor
 * holding a terminal after that traffic, beside conmon's.
 *
 *   deno run -A scripts/bench.ts tty          # BENCH_TTY_ROUNDS=15 for more rounds (default 5)
 *
 * On this shared 2-core machine the figures move a lot with the load (podman's own from 85 to
 * 290 µs per key between runs): compare ratios within one run, and run it more than once. Beside
 * the ratio of the medians, each line gives the median of the rounds' own ratios (ours and
 * podman's measured seconds apart, under the same load), which moves less.
 * @module
 */
import { join } from "node:path";
import { cliPrefix, makeRoots, removeRoots, type Roots } from "../test/helpers/denopod.ts";
import { ptyRun, type PtyStep } from "../test/helpers/pty.ts";
import { PODMAN, PodmanSandbox } from "../test/helpers/podman.ts";

const KEYSTROKES = 1000;
/** Interleaved rounds (`BENCH_TTY_ROUNDS`, default 5); each figure is the median. */
const ROUNDS = Number(Deno.env.get("BENCH_TTY_ROUNDS") ?? 5);

function median(figures: number[]): number | null {
  if (figures.length === 0) return null;
  const sorted = [...figures].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Type a line (cat shows it back), then the timed keystrokes, then end cat with Ctrl-D twice. */
const STEPS: PtyStep[] = [
  { sleep: 0.5 },
  { send: "ready\n" },
  { expect: "ready\r\n(.*)ready\r\n", timeout: 30 },
  { echoBench: KEYSTROKES },
  { send: "\n\x04" },
];

async function busyboxTar(dir: string): Promise<string> {
  const tar = join(dir, "busybox.tar");
  const repo = new URL("../", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: [join(repo, "scripts/make-busybox-rootfs.sh"), tar],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return tar;
}

async function cli(roots: Roots, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...cliPrefix(roots), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

function perKey(seconds: number | null): string {
  return seconds === null ? "failed" : `${((seconds / KEYSTROKES) * 1e6).toFixed(0)} µs`;
}

function statusKb(pid: number, field: string): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/** Runs the keystroke round trip and the monitor memory figures; returns the report lines. */
export async function benchTty(): Promise<string[]> {
  const roots = await makeRoots();
  const lines: string[] = [];
  let podman: PodmanSandbox | undefined;
  try {
    const tar = await busyboxTar(roots.dir);
    await cli(roots, "import", tar, "busybox");
    if (PODMAN !== undefined) {
      podman = await PodmanSandbox.create();
      await podman.output("import", tar, "busybox");
    }
    // rounds interleave the three, so a busy moment on a shared machine hits all of them;
    // a failed run is NaN, so each round's figures stay side by side
    const runs: Record<string, number[]> = { conmon: [], builtin: [], podman: [] };
    const figureOf = (r: { failed: unknown; bench: number | null }) =>
      r.failed === null && r.bench !== null ? r.bench : NaN;
    for (let round = 0; round < ROUNDS; round++) {
      for (const monitor of ["conmon", "builtin"]) {
        const r = await ptyRun(
          [Deno.execPath(), ...cliPrefix(roots), "run", "--rm", "-it", "busybox", "cat"],
          STEPS,
          { DENOPOD_MONITOR: monitor },
        );
        runs[monitor].push(figureOf(r));
      }
      if (podman !== undefined) {
        const r = await ptyRun(
          [PODMAN!, ...podman.globalArgs(), "run", "--rm", "-it", "busybox", "cat"],
          STEPS,
          podman.env(),
        );
        runs.podman.push(figureOf(r));
      }
    }
    const done = (figures: number[]) => figures.filter((f) => !Number.isNaN(f));
    const ours: Record<string, number | null> = {
      conmon: median(done(runs.conmon)),
      builtin: median(done(runs.builtin)),
    };
    const reference = podman === undefined ? undefined : median(done(runs.podman));
    for (const monitor of ["conmon", "builtin"]) {
      const figure = ours[monitor];
      // each round's ratio is measured under that moment's load: their median moves less
      const paired = median(done(runs[monitor].map((f, i) => f / runs.podman[i])));
      const ratio = figure && reference
        ? `, ratio ${(figure / reference).toFixed(2)} (median of the rounds' ratios ${
          paired?.toFixed(2)
        })`
        : "";
      lines.push(
        `keystroke round trip through run -it (${monitor}), ${KEYSTROKES} one-byte writes, ` +
          `median of ${ROUNDS}: ` +
          `denopod ${perKey(figure)} per key, podman ${
            reference === undefined ? "not installed" : perKey(reference)
          } per key${ratio}`,
      );
    }
    // memory of each monitor holding a terminal, after 1,000 keystrokes through attach
    for (const monitor of ["builtin", "conmon"]) {
      const id = (await cli(roots, "--monitor", monitor, "run", "-d", "-it", "busybox", "cat"))
        .trim();
      await ptyRun([Deno.execPath(), ...cliPrefix(roots), "attach", id], [
        { sleep: 1 },
        { echoBench: KEYSTROKES },
        { send: "\x10\x11" },
      ]);
      const pid = Number(
        (await cli(roots, "inspect", "--format", "{{.State.ConmonPid}}", id)).trim(),
      );
      lines.push(
        `monitor memory with a terminal (${monitor}), after ${KEYSTROKES} keystrokes: ` +
          `VmHWM ${(statusKb(pid, "VmHWM") / 1024).toFixed(1)} MiB, VmRSS ${
            (statusKb(pid, "VmRSS") / 1024).toFixed(1)
          } MiB`,
      );
      await cli(roots, "rm", "-f", "-t", "0", id);
    }
    return lines;
  } finally {
    await podman?.remove().catch(() => {});
    await removeRoots(roots);
  }
}
