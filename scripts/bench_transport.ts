/**
 * Benchmark of `denopod load` and `denopod save` on a ~200 MB image (one layer of a few thousand
 * files of random-ish content, as a docker-archive), side by side with `podman load` / `podman
 * save` (vfs driver, throw-away roots) when podman is installed. Each figure is the median of
 * three runs, each load into fresh roots. Called by `scripts/bench.ts transport`; run as root.
 * @module
 */
import { join } from "node:path";
import { writeDockerArchive } from "../lib/storage/archive/writer.ts";
import { mountsUnder, unmount } from "../lib/sys/mount.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PODMAN = "/usr/bin/podman";
const FILES = 3000;
const TOTAL_BYTES = 200 * 1000 * 1000;
const RUNS = 3;
let dirCount = 0;

/** A fresh directory with a short name under `work` (podman wants a runroot under 50 chars). */
async function freshDir(work: string): Promise<string> {
  const dir = join(work, `${++dirCount}`);
  await Deno.mkdir(dir);
  return dir;
}

/**
 * Builds the test image, times load and save for denopod and podman, and returns one line per
 * operation, e.g. `load 200MB: denopod 1.23s, podman 2.34s (ratio 0.53)`. Cleans up everything.
 */
export async function benchLoadSave(): Promise<string[]> {
  const work = await Deno.makeTempDir({ prefix: "dpb" });
  try {
    const archive = await buildArchive(work);
    const megabytes = Math.round((await Deno.stat(archive)).size / 1e6);
    const podman = await exists(PODMAN);
    const denopodLoad = await median(() => denopodLoadOnce(work, archive));
    const denopodSave = await denopodSaveTimes(work, archive);
    const podmanLoad = podman ? await median(() => podmanLoadOnce(work, archive)) : undefined;
    const podmanSave = podman ? await podmanSaveTimes(work, archive) : undefined;
    return [
      line(`load ${megabytes}MB`, denopodLoad, podmanLoad),
      line(`save ${megabytes}MB`, denopodSave, podmanSave),
    ];
  } finally {
    for (const path of mountsUnder(work)) unmount(path, { detach: true, ignoreNotMounted: true });
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

function line(what: string, ours: number, theirs: number | undefined): string {
  if (theirs === undefined) return `${what}: denopod ${ours.toFixed(2)}s (podman not installed)`;
  return `${what}: denopod ${ours.toFixed(2)}s, podman ${theirs.toFixed(2)}s (ratio ${
    (ours / theirs).toFixed(2)
  })`;
}

/** A docker-archive of `localhost/bench:1`: one layer of FILES files, TOTAL_BYTES in all. */
async function buildArchive(work: string): Promise<string> {
  const tree = join(work, "tree");
  const average = Math.floor(TOTAL_BYTES / FILES);
  const chunk = new Uint8Array(average * 2);
  for (let at = 0; at < chunk.length; at += 65536) {
    crypto.getRandomValues(chunk.subarray(at, Math.min(chunk.length, at + 65536)));
  }
  for (let i = 0; i < FILES; i++) {
    const dir = join(tree, `d${i % 50}`, `e${i % 7}`);
    await Deno.mkdir(dir, { recursive: true });
    // Sizes spread around the average; content random, with a compressible tail on some.
    const size = Math.floor(average * (0.25 + 1.5 * ((i * 7919) % 1000) / 1000));
    const bytes = chunk.slice(i % 4096, i % 4096 + size);
    if (i % 3 === 0) bytes.fill(0x61, size >> 1);
    await Deno.writeFile(join(dir, `f${i}.bin`), bytes);
  }
  const layer = join(work, "layer.tar");
  await exec("tar", ["--numeric-owner", "-C", tree, "-cf", layer, "."]);
  await Deno.remove(tree, { recursive: true });
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
  await Deno.remove(layer);
  return path;
}

function denopodArgs(dir: string): string[] {
  return ["run", "-A", "--no-check", MAIN, "--root", join(dir, "r"), "--runroot", join(dir, "rr")];
}

function podmanArgs(dir: string): string[] {
  return [
    "--root",
    join(dir, "r"),
    "--runroot",
    join(dir, "rr"),
    "--tmpdir",
    join(dir, "t"),
    "--storage-driver",
    "vfs",
    "--events-backend",
    "none",
  ];
}

async function denopodLoadOnce(work: string, archive: string): Promise<number> {
  const dir = await freshDir(work);
  try {
    return await timed(() => exec(Deno.execPath(), [...denopodArgs(dir), "load", "-i", archive]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function podmanLoadOnce(work: string, archive: string): Promise<number> {
  const dir = await freshDir(work);
  try {
    return await timed(() => exec(PODMAN, [...podmanArgs(dir), "load", "-q", "-i", archive]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function denopodSaveTimes(work: string, archive: string): Promise<number> {
  const dir = await freshDir(work);
  try {
    await exec(Deno.execPath(), [...denopodArgs(dir), "load", "-i", archive]);
    const out = join(dir, "out.tar");
    return await median(async () => {
      await Deno.remove(out).catch(() => {});
      return await timed(() =>
        exec(Deno.execPath(), [...denopodArgs(dir), "save", "-o", out, "localhost/bench:1"])
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function podmanSaveTimes(work: string, archive: string): Promise<number> {
  const dir = await freshDir(work);
  try {
    await exec(PODMAN, [...podmanArgs(dir), "load", "-q", "-i", archive]);
    const out = join(dir, "out.tar");
    return await median(async () => {
      await Deno.remove(out).catch(() => {});
      return await timed(() =>
        exec(PODMAN, [...podmanArgs(dir), "save", "-q", "-o", out, "localhost/bench:1"])
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function median(fn: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await fn());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
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
