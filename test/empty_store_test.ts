/**
 * `ps` and `images` on an empty store (the light path that loads no listing code) answer as
 * podman 4.3.1 does on its own empty store, flag set by flag set: headers, `--noheading` (nothing
 * at all), `-q`, `--format json`, `--digests`, `--size`, and a bad `--sort` or `--filter`.
 */
import assert from "node:assert/strict";
import { denopod, IS_ROOT, withRoots } from "./helpers/denopod.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";

/**
 * An error's first line, its `Choose from: a, b, c` list sorted (podman builds the list from a Go
 * map: its order changes from run to run).
 */
function firstLine(stderr: string): string {
  return stderr.split("\n")[0].replace(
    /Choose from: (.*)$/,
    (_, list: string) => `Choose from: ${list.split(", ").sort().join(", ")}`,
  );
}

const CASES: string[][] = [
  ["ps", "-a"],
  ["ps", "--noheading"],
  ["ps", "-q"],
  ["ps", "-a", "--format", "json"],
  ["ps", "-a", "--size"],
  ["ps", "--sort", "bogus"],
  ["images"],
  ["images", "--noheading"],
  ["images", "-q"],
  ["images", "--format", "json"],
  ["images", "--digests"],
  ["images", "--sort", "bogus"],
];

Deno.test(
  "ps and images on an empty store print what podman prints on its empty store",
  { ignore: !IS_ROOT || PODMAN === undefined, sanitizeResources: false, sanitizeOps: false },
  async () => {
    const podman = await PodmanSandbox.create();
    try {
      await withRoots(async (roots) => {
        for (const args of CASES) {
          const ours = await denopod(roots, args);
          const theirs = await podman.run(...args);
          const what = `denopod ${args.join(" ")}`;
          assert.equal(ours.code, theirs.code, `${what}: exit code; ${ours.stderr}`);
          assert.equal(ours.stdout, theirs.stdout, `${what}: stdout`);
          if (theirs.code !== 0) {
            // the same error, but for podman's usage hint on a second line
            assert.equal(firstLine(ours.stderr), firstLine(theirs.stderr), `${what}`);
          }
        }
      });
    } finally {
      await podman.remove();
    }
  },
);
