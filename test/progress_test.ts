/**
 * What `load`, `save`, `import` and `export` print while they copy: with stderr a pipe (what a
 * script or cron sees), podman 4.3.1's lines (recorded in `test/fixtures/podman/progress.json`),
 * `-q` as podman's `-q`, no escape code; on a terminal (a real pty) a bar per blob that ends on a
 * line of its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliPrefix, denopod, IS_ROOT, REPO, withRoots } from "./helpers/denopod.ts";
import { busyboxRootfsTar } from "./helpers/denopod.ts";
import { ptyRun } from "./helpers/pty.ts";
import { progressLine } from "../lib/cli/progress.ts";
import {
  fillIn,
  FIXTURES,
  OUT,
  PROGRESS_CASES,
  type ProgressOutput,
  TAR,
} from "./helpers/progress_cases.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/**
 * What the pty showed, without the line clears Deno's own module-loading indicator writes to a
 * terminal before denopod runs (`ESC[0G ESC[2K ESC[J`, an empty line cleared: nothing visible).
 */
function screen(output: string): string {
  return output.replaceAll("\x1b[0G\x1b[2K\x1b[J", "");
}

const RECORDED = JSON.parse(
  Deno.readTextFileSync(join(REPO, "test/fixtures/podman/progress.json")),
) as { cases: Record<string, ProgressOutput> };

/** An imported image's ID (a creation time is in its config) and a new container's ID. */
const VARYING_IDS = new Set(["import", "import -q", "import stdin", "create"]);

/**
 * The text with IDs that differ between two runs masked (`sha256:<id>`) for the steps that make
 * new IDs, and each image's `Copying blob` lines sorted (podman copies an image's blobs in
 * parallel and prints them in the order they start).
 */
function normalise(step: string, text: string): string {
  const masked = VARYING_IDS.has(step)
    ? text.replace(/sha256:[0-9a-f]{64}/g, "sha256:<id>").replace(/^[0-9a-f]{64}$/gm, "<id>")
    : text;
  const lines = masked.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    if (!lines[i].startsWith("Copying blob ")) {
      out.push(lines[i++]);
      continue;
    }
    const run: string[] = [];
    while (i < lines.length && lines[i].startsWith("Copying blob ")) run.push(lines[i++]);
    out.push(...run.sort());
  }
  return out.join("\n");
}

Deno.test(
  "load, save, import and export print podman's lines on a pipe; -q as podman's -q",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const out = await Deno.makeTempDir({ prefix: "denopod-progress-" });
      try {
        const places = {
          [FIXTURES]: join(REPO, "test/fixtures/images"),
          [OUT]: out,
          [TAR]: await busyboxRootfsTar(),
        };
        for (const step of PROGRESS_CASES) {
          const stdin = step.stdinFile === undefined
            ? undefined
            : await Deno.readFile(fillIn([step.stdinFile], places)[0]);
          const ours = await denopod(roots, fillIn(step.args, places), { stdin });
          const podman = RECORDED.cases[step.name];
          assert.equal(ours.code, podman.code, `${step.name}: exit code; stderr: ${ours.stderr}`);
          assert.ok(
            !ours.stderr.includes("\x1b") && !ours.stderr.includes("\r"),
            `${step.name}: no escape code on a pipe`,
          );
          assert.equal(
            normalise(step.name, ours.stderr),
            normalise(step.name, podman.stderr),
            `${step.name}: stderr`,
          );
          if (!step.binaryStdout) {
            assert.equal(
              normalise(step.name, ours.stdout),
              normalise(step.name, podman.stdout),
              `${step.name}: stdout`,
            );
          }
        }
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    });
  },
);

Deno.test(
  "on a terminal, load draws a bar per blob read, each ending on its own line",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const archive = join(REPO, "test/fixtures/images/fixture-multi-docker-archive.tar");
      const r = await ptyRun(
        [Deno.execPath(), ...cliPrefix(roots), "load", "-i", archive],
        [{ size: [24, 100] }, { expect: "Loaded image: localhost/fixture-base:1" }],
      );
      assert.equal(r.failed, null, r.output);
      assert.equal(r.exit, 0, r.output);
      const output = screen(r.output);
      // the 2 MiB base layer: a bar with its total, redrawn in place, then "done" and a newline
      assert.match(
        output,
        /\rCopying blob acc06ff26743 \[=*>? *\] [0-9.]+(b|KiB|MiB) \/ 2\.0MiB +\d+%/,
      );
      assert.ok(output.includes("\rCopying blob acc06ff26743 done\x1b[K\r\n"), output);
      // the second image's base is already there
      assert.ok(output.includes("\rCopying blob acc06ff26743 skipped: already exists\x1b[K\r\n"));
      assert.ok(output.includes("Copying config dc217c9796 done\x1b[K\r\nWriting manifest"));
      assert.match(output, /Storing signatures\r\nLoaded image: localhost\/fixture:2\r\n/);
      for (const line of output.split(/\r\n|\r/)) {
        const visible = line.replaceAll("\x1b[K", "");
        assert.ok(visible.length < 100, `a line wider than the terminal: ${JSON.stringify(line)}`);
      }
    });
  },
);

Deno.test("-q on a terminal: load prints only the loaded names", opts, async () => {
  await withRoots(async (roots) => {
    const archive = join(REPO, "test/fixtures/images/fixture-docker-archive.tar");
    const r = await ptyRun(
      [Deno.execPath(), ...cliPrefix(roots), "load", "-q", "-i", archive],
      [{ expect: "Loaded image" }],
    );
    assert.equal(r.exit, 0, r.output);
    assert.equal(screen(r.output), "Loaded image: localhost/fixture:2\r\n");
  });
});

Deno.test("a bar fits the terminal: size and percent when known, else bytes and rate", () => {
  const known = progressLine("Copying blob 7b47c2970140", 1024 * 1024, 2 * 1024 * 1024, 500, 80);
  assert.equal(known.length, 79);
  assert.match(known, /^Copying blob 7b47c2970140 \[=+> +\] 1\.0MiB \/ 2\.0MiB {2}50%$/);
  const full = progressLine("Copying blob 7b47c2970140", 10240, 10240, 5, 70);
  assert.match(full, /^Copying blob 7b47c2970140 \[=+\] 10\.0KiB \/ 10\.0KiB 100%$/);
  assert.equal(full.length, 69);
  assert.equal(
    progressLine("Copying blob", 3 * 1024 * 1024, undefined, 2000, 80),
    "Copying blob 3.0MiB (1.5MiB/s)",
  );
  // a narrow terminal: the figures without a bar, cut to the width
  assert.ok(progressLine("Copying blob 7b47c2970140", 1, 2, 1, 30).length <= 29);
});
