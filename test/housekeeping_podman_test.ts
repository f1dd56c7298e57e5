/**
 * denopod's housekeeping output beside podman 4.3's for the same steps (podman confined in a
 * `PodmanSandbox`): the `events` line and JSON shapes, the prompts of the prune and reset
 * commands without a terminal, the output of a prune, and the `system df` table's layout.
 * IDs, times and sizes are replaced by placeholders before comparing; podman's extra statuses
 * (`attach`, `pull`) and system events are left out.
 */
import assert from "node:assert/strict";
import {
  busyboxRootfsTar,
  denopod,
  denopodOk,
  IS_ROOT,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";

const opts = {
  ignore: !IS_ROOT || PODMAN === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
};
const encoder = new TextEncoder();

/** Both tools, driven with the same arguments. */
interface Pair {
  roots: Roots;
  podman: PodmanSandbox;
}

async function withBoth(fn: (pair: Pair) => Promise<void>): Promise<void> {
  await withRoots(async (roots) => {
    const podman = await PodmanSandbox.create();
    try {
      await fn({ roots, podman });
    } finally {
      await podman.remove();
    }
  });
}

/** Runs podman in the sandbox with `stdin` (or none). */
async function podmanRun(podman: PodmanSandbox, args: string[], stdin?: string) {
  const child = podman.command(args, { stdin: stdin === undefined ? "null" : "piped" }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

const SHOWN = new Set(["create", "init", "start", "died", "cleanup", "remove", "tag", "untag"]);

/**
 * Event lines with times and IDs replaced, the statuses both tools write only (podman records an
 * import as a `tag` with the name given: left out, denopod writes `import`).
 */
function normaliseLines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !/ image tag \S+ busybox$/.test(l)).map((
    line,
  ) =>
    line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ /, "TIME ")
      .replace(/\b[0-9a-f]{64}\b/g, "ID")
  ).filter((line) => SHOWN.has(line.split(" ")[2]));
}

function normaliseJson(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    .filter((e) => SHOWN.has(e.Status) && e.Type === "container")
    .map((e) => ({ ...e, ID: "ID", Time: "TIME" }));
}

Deno.test("events prints the lines and JSON podman prints for the same run", opts, async () => {
  await withBoth(async ({ roots, podman }) => {
    const tar = await busyboxRootfsTar();
    await denopodOk(roots, ["import", tar, "busybox"]);
    await podman.output("import", tar, "busybox");
    const run = ["run", "--name", "a", "-l", "app=web", "busybox", "sh", "-c", "exit 3"];
    assert.equal((await denopod(roots, run)).code, 3);
    assert.equal((await podman.run(...run)).code, 3);
    for (
      const step of [["tag", "busybox", "other:1"], ["untag", "busybox", "other:1"], ["rm", "a"]]
    ) {
      await denopodOk(roots, step);
      await podman.output(...step);
    }
    const events = ["events", "--stream=false"];
    const ours = normaliseLines(await denopodOk(roots, events));
    const theirs = normaliseLines(await podman.output(...events));
    assert.ok(theirs.length >= 8, theirs.join("\n"));
    assert.deepEqual(ours, theirs);
    const json = [...events, "--format", "json"];
    assert.deepEqual(
      normaliseJson(await denopodOk(roots, json)),
      normaliseJson(await podman.output(...json)),
    );
  });
});

Deno.test("prune and reset ask podman's questions and print podman's results", opts, async () => {
  await withBoth(async ({ roots, podman }) => {
    const tar = await busyboxRootfsTar();
    await denopodOk(roots, ["import", tar, "busybox"]);
    await podman.output("import", tar, "busybox");
    for (const args of [["container", "prune"], ["image", "prune"]]) {
      const ours = await denopod(roots, args);
      const theirs = await podmanRun(podman, args);
      assert.deepEqual([ours.code, ours.stdout, ours.stderr], [
        theirs.code,
        theirs.stdout,
        theirs.stderr,
      ], args.join(" "));
      const no = await denopod(roots, args, { stdin: encoder.encode("n\n") });
      const podmanNo = await podmanRun(podman, args, "n\n");
      assert.deepEqual([no.code, no.stdout], [podmanNo.code, podmanNo.stdout], args.join(" "));
    }
    const reset = await denopod(roots, ["system", "reset"]);
    const podmanReset = await podmanRun(podman, ["system", "reset"]);
    assert.equal(reset.code, podmanReset.code);
    assert.match(podmanReset.stdout, /^WARNING! This will remove:\n/);
    assert.match(reset.stdout, /^WARNING! This will remove:\n/);
    assert.ok(reset.stdout.endsWith("Are you sure you want to continue? [y/N] "));
    assert.ok(podmanReset.stdout.endsWith("Are you sure you want to continue? [y/N] "));

    await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
    await podman.output("create", "--name", "c", "busybox", "true");
    const ids = [
      (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "c"])).trim(),
      (await podman.output("inspect", "--format", "{{.Id}}", "c")).trim(),
    ];
    const ours = await denopodOk(roots, ["system", "prune", "-f"]);
    const theirs = await podman.output("system", "prune", "-f");
    const shape = (text: string, id: string) =>
      text.replace(id, "ID").replace(/space: \S+$/m, "space: SIZE");
    assert.equal(shape(ours, ids[0]), shape(theirs, ids[1]));
    assert.equal(shape(ours, ids[0]), "Deleted Containers\nID\nTotal reclaimed space: SIZE\n");
  });
});

Deno.test("system df lays out its table as podman does", opts, async () => {
  await withBoth(async ({ roots, podman }) => {
    const tar = await busyboxRootfsTar();
    await denopodOk(roots, ["import", tar, "busybox"]);
    await podman.output("import", tar, "busybox");
    // a volume a container uses (active) and one nobody uses (reclaimable)
    for (
      const args of [["volume", "create", "idle"], [
        "create",
        "-v",
        "data:/data",
        "busybox",
        "true",
      ]]
    ) {
      await denopodOk(roots, args);
      await podman.output(...args);
    }
    // sizes differ (denopod counts directories as `du` does; podman counts files only)
    const cells = (text: string) =>
      text.split("\n").map((l) =>
        l.split(/ {2,}/).map((c) => c.replace(/^\d[\d.]*[kMG]?B( \(\d+%\))?$/, "SIZE"))
      );
    assert.deepEqual(
      cells(await denopodOk(roots, ["system", "df"])),
      cells(await podman.output("system", "df")),
    );
    // the headers' padding follows the cells ("1 second ago" against "2 seconds ago"): compare
    // the column names and their order
    const verboseHeaders = (text: string) =>
      text.split("\n").filter((l) => /^[A-Z][A-Z ]+$|usage:$/.test(l))
        .map((l) => l.trimEnd().replace(/ {2,}/g, "  "));
    assert.deepEqual(
      verboseHeaders(await denopodOk(roots, ["system", "df", "-v"])),
      verboseHeaders(await podman.output("system", "df", "-v")),
    );
    // the volume rows: names, links and (both empty) sizes cell by cell
    const volumeRows = (text: string) =>
      text.slice(text.indexOf("Local Volumes space usage:")).split("\n").map((l) =>
        l.split(/ {2,}/)
      );
    assert.deepEqual(
      volumeRows(await denopodOk(roots, ["system", "df", "-v"])),
      volumeRows(await podman.output("system", "df", "-v")),
    );
  });
});
