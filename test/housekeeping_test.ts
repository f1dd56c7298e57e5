/**
 * The cron jobs, run as a user would (the CLI, as root, in fresh roots): `container prune`,
 * `image prune`, `system prune`, `system df`, `system reset`, `system metrics`, the `container`
 * group and `exists`; each checked against what it prints, exits with and leaves on disk, and
 * each run while another process holds a container's lock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  busyboxRootfsTar,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  listDir,
  mountLinesUnder,
  type Roots,
  spawnDenopod,
  withRoots,
} from "./helpers/denopod.ts";
import { holdLock } from "./helpers/lock_holder.ts";
import { humanSize } from "../lib/util/humanize.ts";
import { Runtime } from "../lib/runtime.ts";
import { resetStore } from "../lib/housekeeping/reset.ts";
import { layerDirs } from "./helpers/denopod.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };
const encoder = new TextEncoder();

async function idOf(roots: Roots, name: string): Promise<string> {
  return (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", name])).trim();
}

async function names(roots: Roots): Promise<string[]> {
  return (await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"])).split("\n")
    .filter((l) => l !== "").sort();
}

/** A created, an exited and a running container: `created`, `exited`, `running`. */
async function threeContainers(roots: Roots): Promise<Record<string, string>> {
  await importBusybox(roots);
  await denopodOk(roots, ["create", "--name", "created", "-l", "keep=no", "busybox", "true"]);
  await denopod(roots, ["run", "--name", "exited", "-l", "keep=yes", "busybox", "true"]);
  await denopodOk(roots, [
    "run",
    "-d",
    "--name",
    "running",
    "--stop-timeout",
    "1",
    "busybox",
    "sleep",
    "1000",
  ]);
  const ids: Record<string, string> = {};
  for (const name of ["created", "exited", "running"]) ids[name] = await idOf(roots, name);
  return ids;
}

/** The apparent size of a tree as `du` counts it (hard links once, directories included). */
async function du(path: string): Promise<number> {
  const out = await new Deno.Command("du", { args: ["-s", "--apparent-size", "-B1", path] })
    .output();
  return Number(new TextDecoder().decode(out.stdout).split("\t")[0]);
}

// ---- Prometheus text format 0.0.4, checked line by line ----

interface Family {
  type: string;
  help: string;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Parses exposition text, throwing on anything the 0.0.4 text format does not allow. */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const families = new Map<string, Family>();
  let current = "";
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = { type: "", help: "", samples: [] });
    return f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      assert.match(name, METRIC_NAME, line);
      const f = family(name);
      assert.equal(f.samples.length, 0, `${kind} of ${name} after its samples`);
      if (kind === "TYPE") {
        assert.equal(f.type, "", `second TYPE for ${name}`);
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/, line);
        f.type = rest;
      } else f.help = rest;
      current = name;
      continue;
    }
    assert.ok(!line.startsWith("#"), `unknown comment: ${line}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, , labelText, valueText] = sample;
    assert.equal(name, current, `${name}'s samples are not grouped under its TYPE`);
    const labels: Record<string, string> = {};
    if (labelText) {
      const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let at = 0;
      while (at < labelText.length) {
        pair.lastIndex = at;
        const m = pair.exec(labelText);
        assert.ok(m, `bad labels: ${labelText}`);
        assert.ok(!(m[1] in labels), `label ${m[1]} twice`);
        labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        at = pair.lastIndex;
      }
    }
    const value = /^(\+Inf|-Inf|NaN)$/.test(valueText) ? NaN : Number(valueText);
    assert.ok(!Number.isNaN(value) || /Inf|NaN/.test(valueText), `bad value ${valueText}`);
    family(name).samples.push({ labels, value });
  }
  for (const [name, f] of families) {
    assert.notEqual(f.type, "", `${name} has no TYPE`);
    assert.notEqual(f.help, "", `${name} has no HELP`);
    if (f.type === "counter") assert.match(name, /_total$/, `counter ${name} must end in _total`);
  }
  return families;
}

function sampleValue(families: Map<string, Family>, name: string, labels = {}): number {
  const found = families.get(name)?.samples.find((s) =>
    JSON.stringify(s.labels) === JSON.stringify(labels)
  );
  assert.ok(found, `no sample ${name}${JSON.stringify(labels)}`);
  return found.value;
}

// ---- prune ----

Deno.test(
  "container prune removes created and exited containers, prints their IDs, keeps running ones",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      const out = await denopodOk(roots, ["container", "prune", "-f"]);
      assert.deepEqual(out.split("\n").filter((l) => l).sort(), [ids.created, ids.exited].sort());
      assert.deepEqual(await names(roots), ["running"]);
      assert.deepEqual(listDir(join(roots.root, "containers")), [ids.running]);
      assert.deepEqual(mountLinesUnder(join(roots.root, "containers", ids.exited)), []);
      // nothing left to prune: nothing printed
      assert.equal(await denopodOk(roots, ["container", "prune", "-f"]), "");
    });
  },
);

Deno.test(
  "container prune without -f asks podman's question: EOF fails, n keeps, y prunes",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      const question = "WARNING! This will remove all non running containers.\n" +
        "Are you sure you want to continue? [y/N] ";
      const eof = await denopod(roots, ["container", "prune"]);
      assert.deepEqual([eof.code, eof.stdout, eof.stderr], [125, question, "Error: EOF\n"]);
      const no = await denopod(roots, ["container", "prune"], { stdin: encoder.encode("n\n") });
      assert.deepEqual([no.code, no.stdout, no.stderr], [0, question, ""]);
      assert.deepEqual(await names(roots), ["created", "exited", "running"]);
      const yes = await denopod(roots, ["container", "prune"], { stdin: encoder.encode("y\n") });
      assert.equal(yes.code, 0);
      assert.deepEqual(
        yes.stdout.slice(question.length).split("\n").filter((l) => l).sort(),
        [ids.created, ids.exited].sort(),
      );
    });
  },
);

Deno.test(
  "container prune --filter label=, label!= and until= choose what goes",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      const prune = (...filters: string[]) =>
        denopodOk(roots, ["container", "prune", "-f", ...filters.flatMap((f) => ["--filter", f])]);
      assert.equal(await prune("until=2000-01-01T00:00:00Z"), "");
      assert.equal(await prune("label!=keep"), "");
      assert.equal(await prune("label=keep=yes"), `${ids.exited}\n`);
      assert.equal(await prune("label!=keep=yes", "until=2999-01-01"), `${ids.created}\n`);
      assert.deepEqual(await names(roots), ["running"]);
      for (const bad of ["colour=red", "until=soon", "label"]) {
        const result = await denopod(roots, ["container", "prune", "-f", "--filter", bad]);
        assert.equal(result.code, 125, bad);
        assert.match(result.stderr, /^Error: (invalid filter|unable to interpret)/);
        assert.equal(result.stderr.trim().split("\n").length, 1);
      }
    });
  },
);

Deno.test(
  "image prune removes dangling images; -a every image no container uses",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const used = await importBusybox(roots, "used");
      const tar = await busyboxRootfsTar();
      const dangling = (await denopodOk(roots, ["import", "--change", "ENV A=1", tar])).trim()
        .replace(/^sha256:/, "");
      const unused = await importBusybox(roots, "unused");
      await denopodOk(roots, ["tag", unused, "unused:2"]);
      await denopodOk(roots, ["create", "--name", "c", "used", "true"]);
      assert.notEqual(dangling, unused);
      assert.equal(await denopodOk(roots, ["image", "prune", "-f"]), `${dangling}\n`);
      assert.equal(await denopodOk(roots, ["image", "prune", "-f"]), "");
      const labelled =
        (await denopodOk(roots, ["import", "--change", "LABEL tier=cache", tar, "l"]))
          .trim().replace(/^sha256:/, "");
      const pruneA = (filter: string) =>
        denopodOk(roots, ["image", "prune", "-f", "-a", "--filter", filter]);
      assert.equal(await pruneA("label=tier=other"), "");
      assert.equal(await pruneA("label=tier=cache"), `${labelled}\n`);
      assert.equal(await pruneA("until=2000-01-01T00:00:00Z"), "");
      assert.equal(await denopodOk(roots, ["image", "prune", "-f", "-a"]), `${unused}\n`);
      assert.equal(await denopodOk(roots, ["images", "-q", "--no-trunc"]), `sha256:${used}\n`);
      const eof = await denopod(roots, ["image", "prune", "-a"]);
      assert.equal(eof.code, 125);
      assert.equal(
        eof.stdout,
        "WARNING! This command removes all images without at least one container associated with them.\n" +
          "Are you sure you want to continue? [y/N] ",
      );
    });
  },
);

Deno.test("system prune prints podman's sections and the space it reclaimed", opts, async () => {
  await withRoots(async (roots) => {
    const ids = await threeContainers(roots);
    const upper = join(roots.root, "layers", ids.exited, "diff");
    await Deno.writeFile(join(upper, "scratch"), new Uint8Array(200_000));
    const rw = (await du(upper)) + (await du(join(roots.root, "layers", ids.created, "diff")));
    const leftover = join(roots.root, "layers", "tmp-del-abc");
    await Deno.mkdir(leftover);
    await Deno.writeFile(join(leftover, "f"), new Uint8Array(1000));
    const leftoverSize = await du(leftover);
    const out = await denopodOk(roots, ["system", "prune", "-f", "--volumes"]);
    const [head, second, third, last] = out.trimEnd().split("\n");
    assert.equal(head, "Deleted Containers");
    assert.deepEqual([second, third].sort(), [ids.created, ids.exited].sort());
    assert.equal(last, `Total reclaimed space: ${humanSize(rw + leftoverSize)}`);
    assert.equal(out.trimEnd().split("\n").length, 4);
    assert.deepEqual(layerDirs(roots).filter((n) => n.startsWith("tmp-")), []);
    // the image is still used by the running container, even with -a
    assert.equal(
      await denopodOk(roots, ["system", "prune", "-f", "-a"]),
      "Total reclaimed space: 0B\n",
    );
    await denopodOk(roots, ["rm", "-f", "running"]);
    const image = (await denopodOk(roots, ["images", "-q", "--no-trunc"])).trim().slice(7);
    const size = Number(
      (await denopodOk(roots, ["image", "inspect", "--format", "{{.Size}}", image])).trim(),
    );
    assert.equal(
      await denopodOk(roots, ["system", "prune", "-f", "-a"]),
      `Deleted Images\n${image}\nTotal reclaimed space: ${humanSize(size)}\n`,
    );
    assert.deepEqual(layerDirs(roots), []);
  });
});

// ---- df ----

Deno.test(
  "system df prints podman's table from kept sizes, never walking image layers",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      const image = (await denopodOk(roots, ["images", "-q", "--no-trunc"])).trim().slice(7);
      const imageSize = Number(
        (await denopodOk(roots, ["image", "inspect", "--format", "{{.Size}}", image])).trim(),
      );
      // grow the image layer behind the store's back: df must still show the size kept at import
      const layer = layerDirs(roots).find((n) => !Object.values(ids).includes(n))!;
      await Deno.writeFile(join(roots.root, "layers", layer, "diff", "grown"), new Uint8Array(5e6));
      const sizes: Record<string, number> = {};
      for (const [name, id] of Object.entries(ids)) {
        sizes[name] = await du(join(roots.root, "layers", id, "diff"));
      }
      const ctrSize = sizes.created + sizes.exited + sizes.running;
      const reclaim = sizes.created + sizes.exited;
      const pct = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 100));
      const cell = (s: string) => s.padEnd(12);
      const out = await denopodOk(roots, ["system", "df"]);
      assert.equal(
        out,
        [
          `TYPE           ${cell("TOTAL")}${cell("ACTIVE")}${cell("SIZE")}RECLAIMABLE`,
          `Images         ${cell("1")}${cell("1")}${cell(humanSize(imageSize))}0B (0%)`,
          `Containers     ${cell("3")}${cell("1")}${cell(humanSize(ctrSize))}${
            humanSize(reclaim)
          } (${pct(reclaim, ctrSize)}%)`,
          `Local Volumes  ${cell("0")}${cell("0")}${cell("0B")}0B (0%)`,
          "",
        ].join("\n"),
      );
      const json = JSON.parse(await denopodOk(roots, ["system", "df", "--format", "json"]));
      assert.deepEqual(
        json.map((r: Record<string, unknown>) => Object.keys(r)),
        [0, 1, 2].map(() => [
          "Type",
          "Total",
          "Active",
          "RawSize",
          "RawReclaimable",
          "TotalCount",
          "Size",
          "Reclaimable",
        ]),
      );
      assert.deepEqual(
        json.map((
          r: Record<string, unknown>,
        ) => [r.Type, r.Total, r.Active, r.RawSize, r.RawReclaimable]),
        [
          ["Images", 1, 1, imageSize, 0],
          ["Containers", 3, 1, ctrSize, reclaim],
          ["Local Volumes", 0, 0, 0, 0],
        ],
      );
      assert.equal(
        await denopodOk(roots, ["system", "df", "--format", "{{.Type}}|{{.Total}}|{{.Active}}"]),
        "Images|1|1\nContainers|3|1\nLocal Volumes|0|0\n",
      );
      const both = await denopod(roots, ["system", "df", "-v", "--format", "json"]);
      assert.deepEqual([both.code, both.stderr], [
        125,
        "Error: cannot combine --format and --verbose flags\n",
      ]);
    });
  },
);

Deno.test("system df -v lists images, containers and volumes as podman does", opts, async () => {
  await withRoots(async (roots) => {
    const ids = await threeContainers(roots);
    const image = (await denopodOk(roots, ["images", "-q"])).trim();
    const out = await denopodOk(roots, ["system", "df", "-v"], {
      env: { DENOPOD_NOW: "2999-01-01T00:00:00Z" },
    });
    const lines = out.split("\n");
    assert.equal(lines[0], "Images space usage:");
    assert.equal(lines[1], "");
    assert.match(
      lines[2],
      /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$/,
    );
    assert.match(
      lines[3],
      new RegExp(`^localhost/busybox +latest +${image} +\\d+ years +\\S+ +0B +\\S+ +3$`),
    );
    assert.deepEqual(lines.slice(4, 7), ["", "Containers space usage:", ""]);
    assert.match(
      lines[7],
      /^CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES$/,
    );
    // newest first, as `ps`
    const rows = lines.slice(8, 11);
    for (
      const [i, name, command] of [
        [0, "running", "sleep 1000"],
        [1, "exited", "true"],
        [2, "created", "true"],
      ] as const
    ) {
      const id = ids[name].slice(0, 12);
      const pattern = `^${id} +${image} +${command} +0 +\\S+ +\\d+ years +${name} +${name}$`;
      assert.match(rows[i], new RegExp(pattern));
    }
    assert.deepEqual(lines.slice(11), [
      "",
      "Local Volumes space usage:",
      "",
      "VOLUME NAME  LINKS       SIZE",
      "",
    ]);
  });
});

// ---- reset ----

Deno.test(
  "system reset -f stops and removes everything, and leaves an empty usable store",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await threeContainers(roots);
      await denopodOk(roots, ["mount", "exited"]);
      const result = await denopod(roots, ["system", "reset", "-f"]);
      assert.deepEqual([result.code, result.stdout], [0, ""]);
      assert.deepEqual(await names(roots), []);
      assert.equal(await denopodOk(roots, ["images", "-q"]), "");
      assert.deepEqual(layerDirs(roots), []);
      assert.deepEqual(listDir(join(roots.root, "containers")), []);
      assert.deepEqual(listDir(join(roots.runRoot, "runc")), []);
      assert.deepEqual(mountLinesUnder(roots.dir), []);
      assert.equal(
        await denopodOk(roots, ["events", "--stream=false", "--format", "{{.Type}} {{.Status}}"]),
        "system reset\n",
      );
      // usable at once
      await importBusybox(roots);
      assert.equal(
        (await denopod(roots, ["run", "--rm", "busybox", "echo", "again"])).stdout,
        "again\n",
      );
    });
  },
);

Deno.test(
  "system reset without -f asks; without an answer it fails (exit 1) and removes nothing",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["create", "--name", "c", "busybox", "true"]);
      const result = await denopod(roots, ["system", "reset"]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, "Error: EOF\n");
      assert.equal(
        result.stdout,
        [
          "WARNING! This will remove:",
          "        - all containers",
          "        - all images",
          `        - the graphRoot directory: "${roots.root}"`,
          `        - the runRoot directory: "${roots.runRoot}"`,
          "Are you sure you want to continue? [y/N] ",
        ].join("\n"),
      );
      assert.deepEqual(await names(roots), ["c"]);
      const no = await denopod(roots, ["system", "reset"], { stdin: encoder.encode("no\n") });
      assert.equal(no.code, 0);
      assert.deepEqual(await names(roots), ["c"]);
    });
  },
);

// ---- metrics ----

Deno.test(
  "system metrics prints valid Prometheus text with the store's figures",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await threeContainers(roots);
      await denopod(roots, ["run", "--name", "three", "busybox", "sh", "-c", "exit 3"]);
      await denopod(roots, ["run", "--name", "three-again", "busybox", "sh", "-c", "exit 3"]);
      const before = parseExposition(await denopodOk(roots, ["system", "metrics"]));
      assert.deepEqual(
        before.get("denopod_containers")!.samples.map((s) => [s.labels.state, s.value]),
        [
          ["created", 1],
          ["running", 1],
          ["paused", 0],
          ["stopping", 0],
          ["stopped", 0],
          ["exited", 3],
          ["removing", 0],
        ],
      );
      assert.equal(sampleValue(before, "denopod_images"), 1);
      const df = JSON.parse(await denopodOk(roots, ["system", "df", "--format", "json"]));
      assert.equal(sampleValue(before, "denopod_image_bytes"), df[0].RawSize);
      assert.equal(sampleValue(before, "denopod_container_rw_bytes"), df[1].RawSize);
      assert.equal(
        sampleValue(before, "denopod_reclaimable_bytes", { type: "containers" }),
        df[1].RawReclaimable,
      );
      assert.equal(sampleValue(before, "denopod_reclaimable_bytes", { type: "volumes" }), 0);
      assert.equal(before.get("denopod_container_exits_total")!.type, "counter");
      assert.equal(sampleValue(before, "denopod_container_exits_total", { code: "0" }), 1);
      assert.equal(sampleValue(before, "denopod_container_exits_total", { code: "3" }), 2);
      assert.equal(sampleValue(before, "denopod_last_prune_timestamp_seconds"), 0);
      assert.equal(before.has("denopod_check_problems"), false);

      await denopodOk(roots, ["container", "prune", "-f"], {
        env: { DENOPOD_NOW: "2026-01-02T03:04:05Z" },
      });
      const textfile = join(roots.dir, "metrics", "denopod.prom");
      await Deno.mkdir(join(roots.dir, "metrics"));
      assert.equal(await denopodOk(roots, ["system", "metrics", "--textfile", textfile]), "");
      assert.deepEqual(listDir(join(roots.dir, "metrics")), ["denopod.prom"]);
      const after = parseExposition(await Deno.readTextFile(textfile));
      assert.equal(sampleValue(after, "denopod_last_prune_timestamp_seconds"), 1767323045);
      assert.equal(sampleValue(after, "denopod_containers", { state: "exited" }), 0);
      assert.equal(sampleValue(after, "denopod_container_exits_total", { code: "3" }), 2);

      const bad = await denopod(roots, [
        "system",
        "metrics",
        "--textfile",
        join(roots.dir, "nope", "x.prom"),
      ]);
      assert.equal(bad.code, 125);
      assert.equal(
        bad.stderr,
        `Error: cannot write metrics to ${join(roots.dir, "nope", "x.prom")}: no such directory\n`,
      );
    });
  },
);

// ---- the container group, exists ----

Deno.test(
  "the container group aliases the container commands; exists answers by exit code only",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      assert.match(
        await denopodOk(roots, ["container", "create", "--name", "g", "busybox", "true"]),
        /^[0-9a-f]{64}\n$/,
      );
      for (const ls of ["ls", "list", "ps"]) {
        assert.equal(
          await denopodOk(roots, ["container", ls, "-a", "--format", "{{.Names}}"]),
          "g\n",
        );
      }
      assert.equal(
        await denopodOk(roots, ["container", "inspect", "--format", "{{.Name}}", "g"]),
        "g\n",
      );
      const notCtr = await denopod(roots, ["container", "inspect", "busybox"]);
      assert.equal(notCtr.code, 125);
      assert.equal(await denopodOk(roots, ["container", "start", "g"]), "g\n");
      for (
        const [args, code] of [
          [["container", "exists", "g"], 0],
          [["container", "exists", "nope"], 1],
          [["image", "exists", "busybox"], 0],
          [["image", "exists", "nope"], 1],
        ] as const
      ) {
        const result = await denopod(roots, [...args]);
        assert.deepEqual(
          [result.code, result.stdout, result.stderr],
          [code, "", ""],
          args.join(" "),
        );
      }
      assert.equal(await denopodOk(roots, ["container", "rm", "g"]), "g\n");
      assert.equal(
        await denopodOk(roots, ["image", "ls", "--format", "{{.Repository}}"]),
        "localhost/busybox\n",
      );
      assert.equal(
        await denopodOk(roots, ["image", "list", "-q"]),
        await denopodOk(roots, ["images", "-q"]),
      );
    });
  },
);

// ---- with a container's lock held by another process ----

Deno.test(
  "each job runs while another process holds a container's lock: prune skips it, reset waits",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      const holder = await holdLock(join(roots.runRoot, "locks", `${ids.exited}.lock`));
      let released = false;
      try {
        assert.equal(await denopodOk(roots, ["container", "prune", "-f"]), `${ids.created}\n`);
        assert.match(await denopodOk(roots, ["system", "prune", "-f"]), /^Total reclaimed space: /);
        assert.equal(await denopodOk(roots, ["image", "prune", "-f", "-a"]), "");
        assert.match(await denopodOk(roots, ["system", "df"]), /^Containers +2 +1 /m);
        parseExposition(await denopodOk(roots, ["system", "metrics"]));
        assert.match(await denopodOk(roots, ["events", "--stream=false"]), / container remove /);
        assert.deepEqual(await names(roots), ["exited", "running"]);
        assert.ok(listDir(join(roots.root, "containers")).includes(ids.exited));
        const reset = spawnDenopod(roots, ["system", "reset", "-f"]);
        await holder.release();
        released = true;
        const result = await reset.done;
        assert.equal(result.code, 0);
        // the running container gets its stop signal first, as `stop` gives it
        assert.match(
          result.stderr,
          /^WARN\[\d+\] StopSignal SIGTERM failed to stop container running in 1 seconds, resorting to SIGKILL\n$/,
        );
        assert.deepEqual(await names(roots), []);
      } finally {
        if (!released) await holder.release();
      }
    });
  },
);

Deno.test(
  "resetStore gives up on a container held past its wait, and leaves it and its store whole",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const ids = await threeContainers(roots);
      await denopodOk(roots, ["rm", "-f", "running"]);
      const holder = await holdLock(join(roots.runRoot, "locks", `${ids.exited}.lock`));
      try {
        const runtime = await Runtime.open({ root: roots.root, runRoot: roots.runRoot });
        try {
          const result = await resetStore(runtime, { lockWaitMs: 200 });
          assert.deepEqual(result.busy, [ids.exited]);
          assert.equal(result.containers, 1);
          assert.equal(result.images, 0);
        } finally {
          runtime.close();
        }
        assert.deepEqual(await names(roots), ["exited"]);
        assert.ok(listDir(join(roots.root, "containers")).includes(ids.exited));
        assert.equal((await denopodOk(roots, ["images", "-q"])).trim().length, 12);
      } finally {
        await holder.release();
      }
      // once it is free, reset finishes the job
      await denopodOk(roots, ["system", "reset", "-f"]);
      assert.deepEqual(await names(roots), []);
      assert.deepEqual(layerDirs(roots), []);
    });
  },
);
