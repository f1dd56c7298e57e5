/**
 * Scripts written for podman get podman's answers: denopod runs the side-by-side table's scenario
 * (`test/helpers/compat_cases.ts`) in fresh roots, then every case, and each answer is compared
 * with podman 4.3.1's recorded one (`test/fixtures/podman/outputs.json`): the exit code, stderr,
 * and stdout field by field, ignoring IDs, times, sizes and paths, allowing only the listed
 * differences.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CASES,
  type CompatCase,
  type CompatOutput,
  KNOWN_DIFFERENCES,
  normalizeJson,
  normalizeText,
  SCENARIO,
  TAR,
} from "./helpers/compat_cases.ts";
import { busyboxRootfsTar, denopod, IS_ROOT, REPO, withRoots } from "./helpers/denopod.ts";
import { rfc3339Nano } from "../lib/container/logs.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

const recorded = JSON.parse(
  Deno.readTextFileSync(join(REPO, "test/fixtures/podman/outputs.json")),
) as { podman: string; cases: Record<string, CompatOutput> };

/** Lines a program logs besides its answer (denopod's runc warning, podman's logrus lines). */
function withoutLogLines(text: string): string {
  return text.split("\n").filter((l) => !/^(WARN|INFO|DEBU)\[\d+\]|^time="/.test(l)).join("\n");
}

function known(name: string, path: string): string | undefined {
  const bare = path.replace(/\[\d+\]/g, "");
  for (const table of [KNOWN_DIFFERENCES["*"] ?? {}, KNOWN_DIFFERENCES[name] ?? {}]) {
    for (const [prefix, reason] of Object.entries(table)) {
      if (bare === prefix || bare.startsWith(`${prefix}.`) || prefix === "stdout") return reason;
    }
  }
  return undefined;
}

/** Field-by-field differences between podman's and denopod's JSON (shape only: keys, types). */
function jsonDifferences(
  name: string,
  ours: unknown,
  theirs: unknown,
  shapeOnly: boolean,
  path = "",
): string[] {
  if (known(name, path)) return [];
  const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  if (kind(ours) !== kind(theirs)) {
    return [
      `${path}: podman has ${kind(theirs)} ${JSON.stringify(theirs)?.slice(0, 80)}, denopod ${
        kind(ours)
      } ${JSON.stringify(ours)?.slice(0, 80)}`,
    ];
  }
  if (Array.isArray(theirs) && Array.isArray(ours)) {
    if (shapeOnly) return [];
    if (ours.length !== theirs.length) {
      return [
        `${path}: podman has ${theirs.length} elements ${
          JSON.stringify(theirs).slice(0, 120)
        }, denopod ${ours.length} ${JSON.stringify(ours).slice(0, 120)}`,
      ];
    }
    return theirs.flatMap((v, i) => jsonDifferences(name, ours[i], v, shapeOnly, `${path}[${i}]`));
  }
  if (theirs !== null && typeof theirs === "object") {
    const a = ours as Record<string, unknown>;
    const b = theirs as Record<string, unknown>;
    const out: string[] = [];
    for (const key of Object.keys(b)) {
      if (!(key in a) && !known(name, `${path}.${key}`)) {
        out.push(`${path}.${key}: missing in denopod`);
      }
    }
    for (const key of Object.keys(b)) {
      if (key in a) out.push(...jsonDifferences(name, a[key], b[key], shapeOnly, `${path}.${key}`));
    }
    return out;
  }
  if (!shapeOnly && ours !== theirs) {
    return [`${path}: podman ${JSON.stringify(theirs)}, denopod ${JSON.stringify(ours)}`];
  }
  return [];
}

/** Every difference between the two answers that is not a listed one. */
function differences(c: CompatCase, ours: CompatOutput, theirs: CompatOutput): string[] {
  const out: string[] = [];
  if (ours.code !== theirs.code) out.push(`exit code: podman ${theirs.code}, denopod ${ours.code}`);
  const ourErr = normalizeText(withoutLogLines(ours.stderr));
  const theirErr = normalizeText(withoutLogLines(theirs.stderr));
  if (ourErr !== theirErr && !known(c.name, "stderr")) {
    out.push(`stderr: podman ${JSON.stringify(theirErr)}, denopod ${JSON.stringify(ourErr)}`);
  }
  const order = (text: string) => (c.unordered ? text.split("\n").sort().join("\n") : text);
  if (c.mode === "text") {
    const a = order(normalizeText(ours.stdout));
    const b = order(normalizeText(theirs.stdout));
    if (a !== b && !known(c.name, "stdout")) {
      out.push(`stdout: podman ${JSON.stringify(b)}\n        denopod ${JSON.stringify(a)}`);
    }
  } else {
    const parse = (text: string) => {
      const value = normalizeJson(JSON.parse(text));
      return c.unordered && Array.isArray(value)
        ? value.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))
        : value;
    };
    out.push(
      ...jsonDifferences(c.name, parse(ours.stdout), parse(theirs.stdout), c.mode === "json-shape"),
    );
  }
  return out.map((d) => `${c.name} (${c.args.join(" ")}): ${d}`);
}

Deno.test(
  `every command line of the table answers as podman ${recorded.podman} did`,
  opts,
  async () => {
    await withRoots(async (roots) => {
      const tar = await busyboxRootfsTar();
      const withTar = (args: readonly string[]) => args.map((a) => (a === TAR ? tar : a));
      for (const step of SCENARIO) {
        const result = await denopod(roots, withTar(step));
        if (result.code !== 0 && step[0] !== "run") {
          throw new Error(`denopod ${step.join(" ")}: ${result.stderr}`);
        }
      }
      const found: string[] = [];
      for (const c of CASES) {
        const theirs = recorded.cases[c.name];
        assert.ok(theirs, `${c.name}: recorded (re-run test/fixtures/podman/record.ts)`);
        found.push(...differences(c, await denopod(roots, withTar(c.args)), theirs));
      }
      assert.deepEqual(found, [], `${found.length} differences from podman:\n${found.join("\n")}`);
    });
  },
);

Deno.test("logs -t prints Go's RFC 3339 with nanoseconds: Z for UTC, no trailing zeros", () => {
  assert.equal(
    rfc3339Nano("2026-11-28T10:00:00.123456789+00:00"),
    "2026-11-28T10:00:00.123456789Z",
  );
  assert.equal(rfc3339Nano("2026-11-28T10:00:00.120000000+00:00"), "2026-11-28T10:00:00.12Z");
  assert.equal(rfc3339Nano("2026-11-28T10:00:00.000000000+00:00"), "2026-11-28T10:00:00Z");
  assert.equal(
    rfc3339Nano("2026-11-28T05:00:00.500000000-05:00"),
    "2026-11-28T05:00:00.5-05:00",
  );
});

Deno.test(
  "in a zone Go names by its offset, ps prints the local time and images the image's UTC time, as podman",
  opts,
  async () => {
    await withRoots(async (roots) => {
      // podman 4.3.1 under TZ=Pacific/Chatham (no zone name in tzdata, so Go prints the offset
      // twice): `images` CreatedAt `2026-11-28 21:34:11 +0000 UTC` (the config's own zone),
      // `ps -a` CreatedAt `2026-12-01 20:44:44.160329999 +1345 +1345` (local).
      const env = { TZ: "Pacific/Chatham" };
      const load = await denopod(roots, [
        "load",
        "-q",
        "-i",
        join(REPO, "test/fixtures/images/fixture-oci-archive.tar"),
      ]);
      assert.equal(load.code, 0, load.stderr);
      const images = await denopod(roots, ["images", "--format", "{{.CreatedAt}}"], { env });
      assert.equal(images.code, 0, images.stderr);
      assert.match(images.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\n$/);
      const create = await denopod(roots, ["create", "--name", "c", "localhost/fixture:2", "true"]);
      assert.equal(create.code, 0, create.stderr);
      const ps = await denopod(roots, ["ps", "-a", "--format", "{{.CreatedAt}}"], { env });
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+1345 \+1345\n$/);
    });
  },
);
