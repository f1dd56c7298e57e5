/**
 * `events`: the journal written in the same transaction as each change, shown as podman shows it
 * (human line, JSON, templates), filtered, bounded, and followed while it grows. Integration
 * tests run the CLI as root in fresh roots with the clock fixed (`DENOPOD_NOW`) and `TZ=UTC`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { openStateDb } from "../lib/state/db.ts";
import {
  EVENTS_MAX_AGE_NS,
  EVENTS_MAX_ROWS,
  listEvents,
  recordEvent,
  trimEvents,
} from "../lib/events/journal.ts";
import { parseEventFilters } from "../lib/events/filter.ts";
import { eventJson, formatEventLine, goTimeStringNs, rfc3339Nano } from "../lib/events/format.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };
const T1 = "2026-01-02T03:04:05Z";
const T2 = "2026-01-02T04:00:00Z";
const at = (time: string) => ({ env: { DENOPOD_NOW: time, TZ: "UTC" } });

async function statuses(roots: Roots, ...filters: string[]): Promise<string[]> {
  const out = await denopodOk(roots, [
    "events",
    "--stream=false",
    "--format",
    "{{.Status}}",
    ...filters.flatMap((f) => ["--filter", f]),
  ]);
  return out.split("\n").filter((l) => l !== "");
}

Deno.test("events shows each state change of a run as podman's line, in order", opts, async () => {
  await withRoots(async (roots) => {
    const image = (await denopodOk(roots, [
      "import",
      await (await import("./helpers/denopod.ts")).busyboxRootfsTar(),
      "busybox",
    ], at(T1))).trim().replace(/^sha256:/, "");
    const run = await denopod(
      roots,
      ["run", "--name", "a", "-l", "app=web", "busybox", "sh", "-c", "exit 3"],
      at(T1),
    );
    assert.equal(run.code, 3);
    const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "a"])).trim();
    await denopodOk(roots, ["rm", "a"], at(T1));
    const out = await denopodOk(roots, ["events", "--stream=false"], { env: { TZ: "UTC" } });
    const time = "2026-01-02 03:04:05 +0000 UTC";
    const ctr = (status: string) =>
      `${time} container ${status} ${id} (image=localhost/busybox:latest, name=a, app=web)`;
    assert.equal(
      out,
      [
        `${time} image import ${image} localhost/busybox:latest`,
        ...["create", "init", "start", "died", "cleanup", "remove"].map(ctr),
        "",
      ].join("\n"),
    );
  });
});

Deno.test(
  "events --format json gives podman's objects, with the exit code of died",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopod(roots, ["run", "--name", "j", "busybox", "sh", "-c", "exit 7"], at(T1));
      const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "j"])).trim();
      const lines = (await denopodOk(
        roots,
        ["events", "--stream=false", "--format", "json", "--filter", "container=j"],
        { env: { TZ: "UTC" } },
      )).trim().split("\n");
      const died = lines.map((l) => JSON.parse(l)).find((e) => e.Status === "died");
      assert.equal(
        JSON.stringify(died),
        JSON.stringify({
          ContainerExitCode: 7,
          ID: id,
          Image: "localhost/busybox:latest",
          Name: "j",
          Status: "died",
          Time: "2026-01-02T03:04:05Z",
          Type: "container",
          Attributes: {},
        }),
      );
      const start = JSON.parse(lines.find((l) => l.includes('"start"'))!);
      assert.equal("ContainerExitCode" in start, false);
      const viaTemplate = await denopodOk(
        roots,
        ["events", "--stream=false", "--format", "{{json .}}", "--filter", "container=j"],
        { env: { TZ: "UTC" } },
      );
      assert.equal(viaTemplate, lines.join("\n") + "\n");
      assert.equal(
        await denopodOk(roots, [
          "events",
          "--stream=false",
          "--format",
          "table {{.Status}} {{.Name}}",
          "--filter",
          "event=died",
        ]),
        "STATUS      NAME\ndied        j\n",
      );
    });
  },
);

Deno.test(
  "events records pause, unpause, stop, start, restart, exec, mount, unmount and remove",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["run", "-d", "--name", "box", "busybox", "sleep", "1000"]);
      await denopodOk(roots, ["pause", "box"]);
      await denopodOk(roots, ["unpause", "box"]);
      await denopodOk(roots, ["exec", "box", "true"]);
      await denopodOk(roots, ["stop", "-t", "0", "box"]);
      await denopodOk(roots, ["start", "box"]);
      await denopodOk(roots, ["restart", "-t", "0", "box"]);
      await denopodOk(roots, ["rm", "-f", "-t", "0", "box"]);
      await denopodOk(roots, ["create", "--name", "m", "busybox", "true"]);
      await denopodOk(roots, ["mount", "m"]);
      await denopodOk(roots, ["umount", "m"]);
      // not a one-letter hex name: podman (and denopod) match container= as an ID prefix too
      assert.deepEqual(await statuses(roots, "container=box"), [
        "create",
        "init",
        "start",
        "pause",
        "unpause",
        "exec",
        "stop",
        "died",
        "cleanup",
        "init",
        "start",
        "restart",
        "stop",
        "died",
        "cleanup",
        "init",
        "start",
        // rm -f stops a running container as stop does (podman: the same)
        "stop",
        "died",
        "cleanup",
        "remove",
      ]);
      assert.deepEqual(await statuses(roots, "container=m"), ["create", "mount", "unmount"]);
    });
  },
);

Deno.test("events records image tag, untag, save, load and remove", opts, async () => {
  await withRoots(async (roots) => {
    const id = await importBusybox(roots);
    await denopodOk(roots, ["tag", "busybox", "other:1"]);
    await denopodOk(roots, ["untag", "busybox", "other:1"]);
    const archive = join(roots.dir, "out.tar");
    await denopodOk(roots, ["save", "-o", archive, "busybox"]);
    await denopodOk(roots, ["rmi", "busybox"]);
    await denopodOk(roots, ["load", "-i", archive]);
    const out = await denopodOk(roots, [
      "events",
      "--stream=false",
      "--filter",
      "type=image",
      "--format",
      "{{.Status}} {{.ID}} {{.Name}}",
    ]);
    assert.equal(
      out,
      [
        `import ${id} localhost/busybox:latest`,
        `tag ${id} other:1`,
        `untag ${id} localhost/other:1`,
        `save ${id} ${archive}`,
        `untag ${id} localhost/busybox:latest`,
        `remove ${id} localhost/busybox:latest`,
        `load ${id} localhost/busybox:latest`,
        "",
      ].join("\n"),
    );
  });
});

Deno.test(
  "events --since, --until and --filter select rows; filters of one key are alternatives",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(
        roots,
        ["create", "--name", "early", "-l", "tier=db", "busybox", "true"],
        at(T1),
      );
      await denopodOk(roots, ["create", "--name", "late", "busybox", "true"], at(T2));
      const names = async (...args: string[]) =>
        (await denopodOk(roots, [
          "events",
          "--stream=false",
          "--filter",
          "type=container",
          "--format",
          "{{.Name}}",
          ...args,
        ]))
          .trim().split("\n").filter((l) => l !== "");
      assert.deepEqual(await names("--since", "2026-01-02T03:30:00Z"), ["late"]);
      assert.deepEqual(
        await names("--until", "2026-01-02T03:30:00Z", "--filter", "type=container"),
        [
          "early",
        ],
      );
      assert.deepEqual(await names("--filter", "label=tier=db"), ["early"]);
      assert.deepEqual(await names("--filter", "container=early", "--filter", "container=late"), [
        "early",
        "late",
      ]);
      assert.deepEqual(await names("--filter", "container=early", "--filter", "event=start"), []);
      // a duration counts back from the (fixed) clock
      const since = await denopodOk(
        roots,
        ["events", "--stream=false", "--since", "10m", "--until", "0m", "--format", "{{.Name}}"],
        at("2026-01-02T04:05:00Z"),
      );
      assert.equal(since, "late\n");
    });
  },
);

Deno.test(
  "events rejects a bad filter, time or --stream value with one line, exit 125",
  opts,
  async () => {
    await withRoots(async (roots) => {
      for (
        const [args, message] of [
          [["--filter", "colour=red"], /^Error: invalid filter "colour"/],
          [["--filter", "type=volume"], /^Error: invalid filter "type=volume"/],
          [["--since", "yesterday"], /^Error: unable to interpret time value "yesterday"/],
          [["--stream=maybe"], /^Error: invalid argument "maybe" for "--stream"/],
        ] as const
      ) {
        const result = await denopod(roots, ["events", "--stream=false", ...args]);
        assert.equal(result.code, 125, args.join(" "));
        assert.match(result.stderr, message);
        assert.equal(result.stderr.trim().split("\n").length, 1);
      }
    });
  },
);

Deno.test("events without --stream=false follows rows written after it started", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...cliPrefix(roots),
        "events",
        "--filter",
        "type=container",
        "--format",
        "{{.Status}} {{.Name}}",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    try {
      await denopodOk(roots, ["create", "--name", "late-comer", "busybox", "true"]);
      const decoder = new TextDecoder();
      while (!seen.includes("create late-comer\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += decoder.decode(value);
      }
    } finally {
      child.kill("SIGTERM");
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      await child.status;
    }
    assert.equal(seen, "create late-comer\n");
  });
});

Deno.test("trimEvents keeps 30 days and at most 100,000 rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-events-" });
  const db = openStateDb(join(dir, "state.db"));
  const saved = Deno.env.get("DENOPOD_NOW");
  try {
    Deno.env.set("DENOPOD_NOW", "2026-01-01T00:00:00Z");
    recordEvent(db, { type: "system", status: "prune", name: "old" });
    Deno.env.set("DENOPOD_NOW", "2026-03-01T00:00:00Z");
    db.transaction(() => {
      for (let i = 0; i < EVENTS_MAX_ROWS + 5; i++) {
        recordEvent(db, { type: "system", status: "prune", name: `n${i}` });
      }
    });
    const atNs = BigInt(Date.parse("2026-03-01T00:00:00Z")) * 1_000_000n;
    assert.equal(trimEvents(db, atNs), 6);
    const left = listEvents(db);
    assert.equal(left.length, EVENTS_MAX_ROWS);
    assert.equal(left[0].name, "n5");
    assert.equal(left.at(-1)!.name, `n${EVENTS_MAX_ROWS + 4}`);
    assert.equal(trimEvents(db, atNs + EVENTS_MAX_AGE_NS + 1n), EVENTS_MAX_ROWS);
  } finally {
    if (saved === undefined) Deno.env.delete("DENOPOD_NOW");
    else Deno.env.set("DENOPOD_NOW", saved);
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("event times print as Go's time.Time and RFC 3339, with nanoseconds", () => {
  const ns = 1_767_323_045_123_456_780n; // 2026-01-02T03:04:05.12345678Z
  assert.match(goTimeStringNs(ns), /^2026-01-0[12] \d\d:\d\d:05\.12345678 [+-]\d{4} \S+$/);
  assert.match(rfc3339Nano(ns), /^2026-01-0[12]T\d\d:\d\d:05\.12345678(Z|[+-]\d\d:\d\d)$/);
  assert.match(goTimeStringNs(1_767_323_045_000_000_000n), /:05 [+-]\d{4} /);
  const event = {
    seq: 1,
    timeNs: ns,
    type: "image" as const,
    status: "tag",
    id: "ab",
    name: "localhost/x:1",
    image: "",
    exitCode: null,
    attributes: null,
  };
  assert.equal(formatEventLine(event), `${goTimeStringNs(ns)} image tag ab localhost/x:1`);
  assert.deepEqual(eventJson(event), {
    ID: "ab",
    Name: "localhost/x:1",
    Status: "tag",
    Time: rfc3339Nano(ns),
    Type: "image",
    Attributes: null,
  });
  const keep = parseEventFilters(["type=image", "image=x:1"]);
  assert.equal(keep(event), true);
  assert.equal(keep({ ...event, name: "localhost/y:1" }), false);
});

Deno.test(
  "a detached container's died event is written by the cleanup its monitor runs",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["run", "-d", "--name", "d", "busybox", "sh", "-c", "exit 5"]);
      // `events` reads the journal only (it syncs no container): only the monitor can write died
      const died = [
        "events",
        "--stream=false",
        "--filter",
        "event=died",
        "--format",
        "{{.Name}} {{.ContainerExitCode}}",
      ];
      let out = "";
      for (let i = 0; i < 200 && out === ""; i++) {
        out = await denopodOk(roots, died);
      }
      assert.equal(out, "d 5\n");
      assert.deepEqual(await statuses(roots, "container=d"), [
        "create",
        "init",
        "start",
        "died",
        "cleanup",
      ]);
    });
  },
);

Deno.test("a version-1 state database gains the events table and keeps its rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-events-" });
  try {
    const path = join(dir, "state.db");
    const db = openStateDb(path);
    db.run("INSERT INTO exit_codes (id, name, exit_code, finished) VALUES ('a', 'a', 3, 'x')");
    db.exec("DROP TABLE events; DROP TABLE intents; PRAGMA user_version = 1;");
    db.close();
    const again = openStateDb(path);
    try {
      assert.equal(again.get<{ n: number }>("SELECT COUNT(*) AS n FROM exit_codes")?.n, 1);
      recordEvent(again, { type: "system", status: "prune" });
      assert.deepEqual(listEvents(again).map((e) => e.status), ["prune"]);
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
