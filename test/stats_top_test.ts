/**
 * `stats` and `top`: what a user sees for real containers under both monitors (a busy
 * container's CPU %, its PIDS, a `--memory` limit, podman's JSON keys, the container's processes
 * as it sees them), their errors, the cgroup reader on v1 and v2 layouts, the formatters, and the
 * output side by side with podman 4.3.1's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  busyboxRootfsTar,
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  withRoots,
} from "./helpers/denopod.ts";
import { ROOT_TEST, testEachMonitor } from "./helpers/running.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";
import { inPty } from "./helpers/pty.ts";
import { goDuration } from "../lib/util/go_duration.ts";
import { bytesSize4, humanSize4, percentString } from "../lib/container/stats.ts";
import {
  cgroupPids,
  parseBlkioV1,
  parseIoStatV2,
  readCgroupUsage,
} from "../lib/sys/cgroup_stats.ts";
import type { CgroupMount } from "../lib/sys/cgroup.ts";
import { parseNetDev, parseStatLine, readProcess } from "../lib/sys/procfs.ts";
import { parseDescriptors, parseIdNames, ttyName } from "../lib/container/top.ts";

/** podman 4.3.1's `stats` columns, in order. */
const STATS_COLUMNS = [
  "ID",
  "NAME",
  "CPU %",
  "MEM USAGE / LIMIT",
  "MEM %",
  "NET IO",
  "BLOCK IO",
  "PIDS",
  "CPU TIME",
  "AVG CPU %",
];

/** podman 4.3.1's `stats --format json` keys, in order. */
const STATS_JSON_KEYS = [
  "id",
  "name",
  "cpu_time",
  "cpu_percent",
  "avg_cpu",
  "mem_usage",
  "mem_percent",
  "net_io",
  "block_io",
  "pids",
];

/** Splits an aligned table line into its cells (columns are at least two spaces apart). */
function cells(line: string): string[] {
  return line.trimEnd().split(/ {2,}/);
}

/** The table's rows by NAME (second column), from `stats` output. */
function statsRows(out: string): Map<string, Record<string, string>> {
  const [header, ...lines] = out.trimEnd().split("\n");
  const titles = cells(header);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines) {
    const values = cells(line);
    rows.set(values[1], Object.fromEntries(titles.map((t, i) => [t, values[i]])));
  }
  return rows;
}

// ---- formatters and parsers (no root needed) ----

Deno.test("goDuration() prints Go's Duration.String()", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(850), "850ns");
  assert.equal(goDuration(1500), "1.5µs");
  assert.equal(goDuration(31_597_273), "31.597273ms");
  assert.equal(goDuration(1_217_715_503), "1.217715503s");
  assert.equal(goDuration(6e9), "6s");
  assert.equal(goDuration(65e9), "1m5s");
  assert.equal(goDuration(3600e9 + 3.1e9), "1h0m3.1s");
});

Deno.test("stats sizes and percentages print as podman's go-units and %.2f", () => {
  assert.equal(humanSize4(0), "0B");
  assert.equal(humanSize4(327_680), "327.7kB");
  assert.equal(humanSize4(64 * 1024 * 1024), "67.11MB");
  assert.equal(humanSize4(25_276_059_648), "25.28GB");
  assert.equal(bytesSize4(311_296), "304KiB");
  assert.equal(bytesSize4(64 * 1024 * 1024), "64MiB");
  assert.equal(percentString(57.5649), "57.56%");
  assert.equal(percentString(0), "0.00%");
});

Deno.test("net/dev sums every interface but loopback; block I/O sums reads and writes", () => {
  const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:    5000      40    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  eth1:      70       1    0    0    0     0          0         0       30       1    0    0    0     0       0          0
`;
  assert.deepEqual(parseNetDev(netDev), { rx: 5070, tx: 2030 });
  assert.deepEqual(
    parseBlkioV1("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 100\nTotal 4708\n"),
    { read: 4196, write: 512 },
  );
  assert.deepEqual(
    parseIoStatV2("8:0 rbytes=4096 wbytes=512 rios=1 wios=1\n8:16 rbytes=100 wbytes=0\n"),
    { read: 4196, write: 512 },
  );
});

Deno.test("/proc/PID/stat keeps a command name with spaces and parentheses whole", () => {
  const { comm, fields } = parseStatLine("42 (my (odd) cmd) S 1 42 42 0 -1");
  assert.equal(comm, "my (odd) cmd");
  assert.deepEqual(fields.slice(0, 3), ["S", "1", "42"]);
  const self = readProcess(Deno.pid)!;
  assert.equal(self.pid, Deno.pid);
  assert.equal(
    self.ppid,
    Number(Deno.readTextFileSync("/proc/self/status").match(/PPid:\s+(\d+)/)![1]),
  );
});

Deno.test("top's descriptors: names, AIX codes, commas; an unknown one is refused", () => {
  assert.deepEqual(parseDescriptors([]).map((d) => d.header), [
    "USER",
    "PID",
    "PPID",
    "%CPU",
    "ELAPSED",
    "TTY",
    "TIME",
    "COMMAND",
  ]);
  assert.deepEqual(parseDescriptors(["pid,%C", "comm"]).map((d) => d.header), [
    "PID",
    "%CPU",
    "COMMAND",
  ]);
  assert.throws(() => parseDescriptors(["pid", "bogus"]), /'bogus': unknown descriptor/);
  assert.equal(ttyName(0), "?");
  assert.equal(ttyName((136 << 8) | 3), "pts/3");
  assert.deepEqual(
    parseIdNames("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
    new Map([[0, "root"], [65534, "nobody"]]),
  );
});

/** Writes cgroup files under `dir/<hierarchy>/denopod/ID`. */
async function fakeCgroup(dir: string, hierarchy: string, files: Record<string, string>) {
  const cg = join(dir, hierarchy, "denopod", "ID");
  await Deno.mkdir(cg, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(cg, name), text);
}

Deno.test("the cgroup reader takes v1 controllers where mounted, else the v2 unified files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-cg-" });
  try {
    // v1, as this host: a hierarchy per controller (cpu and cpuacct apart), and an empty unified
    await fakeCgroup(dir, "cpuacct", {
      "cpuacct.usage": "1500000000\n",
      "cpuacct.stat": "user 100\nsystem 50\n",
    });
    await fakeCgroup(dir, "memory", {
      "memory.usage_in_bytes": "327680\n",
      "memory.limit_in_bytes": "9223372036854771712\n",
    });
    await fakeCgroup(dir, "pids", { "pids.current": "3\n", "cgroup.procs": "10\n11\n12\n" });
    await fakeCgroup(dir, "blkio", {
      "blkio.throttle.io_service_bytes_recursive": "8:0 Read 10\n8:0 Write 20\n",
    });
    await fakeCgroup(dir, "unified", { "cgroup.procs": "" });
    const hybrid: CgroupMount[] = [
      ...["cpuacct", "memory", "pids", "blkio"].map((c) => ({
        mountPoint: join(dir, c),
        version: 1 as const,
        controllers: [c],
      })),
      { mountPoint: join(dir, "unified"), version: 2, controllers: [] },
    ];
    assert.deepEqual(readCgroupUsage("/denopod/ID", hybrid), {
      cpuNanos: 1.5e9,
      cpuSystemNanos: 0.5e9,
      memoryUsage: 327680,
      memoryLimit: Infinity,
      pids: 3,
      blockRead: 10,
      blockWrite: 20,
    });
    assert.deepEqual(cgroupPids("/denopod/ID", hybrid), [10, 11, 12]);

    // v2 only
    await fakeCgroup(dir, "v2", {
      "cpu.stat": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
      "memory.current": "4096\n",
      "memory.max": "67108864\n",
      "pids.current": "2\n",
      "io.stat": "8:0 rbytes=7 wbytes=9 rios=1 wios=1\n",
      "cgroup.procs": "20\n21\n",
    });
    const v2: CgroupMount[] = [{ mountPoint: join(dir, "v2"), version: 2, controllers: [] }];
    assert.deepEqual(readCgroupUsage("/denopod/ID", v2), {
      cpuNanos: 2_500_000,
      cpuSystemNanos: 500_000,
      memoryUsage: 4096,
      memoryLimit: 67108864,
      pids: 2,
      blockRead: 7,
      blockWrite: 9,
    });
    assert.deepEqual(cgroupPids("/denopod/ID", v2), [20, 21]);
    // "max" is no limit; a cgroup that is gone reads as zeros
    await Deno.writeTextFile(join(dir, "v2/denopod/ID/memory.max"), "max\n");
    assert.equal(readCgroupUsage("/denopod/ID", v2).memoryLimit, Infinity);
    assert.equal(readCgroupUsage("/denopod/GONE", v2).pids, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- real containers ----

testEachMonitor(
  "stats shows a busy container's CPU % and PIDS, a --memory limit, podman's JSON keys",
  async (cli) => {
    await cli.ok(["run", "-d", "--name", "spin", "busybox", "sh", "-c", "while :; do :; done"]);
    await cli.ok(["run", "-d", "--name", "lim", "--memory", "64m", "busybox", "sleep", "1000"]);
    await cli.ok(["create", "--name", "idle", "busybox", "true"]);

    const out = await cli.ok(["stats", "--no-stream"]);
    assert.ok(!out.includes("\x1b"), "no screen reset in a pipe");
    assert.deepEqual(cells(out.split("\n")[0]), STATS_COLUMNS);
    const rows = statsRows(out);
    // as podman 4.3.1: every container, one that does not run as zeros
    assert.deepEqual([...rows.keys()].sort(), ["idle", "lim", "spin"]);
    const spin = rows.get("spin")!;
    assert.ok(Number.parseFloat(spin["CPU %"]) > 0, `CPU % of a busy loop: ${spin["CPU %"]}`);
    assert.ok(Number(spin.PIDS) >= 1, `PIDS: ${spin.PIDS}`);
    assert.match(spin["CPU TIME"], /^[\d.]+(ms|s)$/);
    assert.match(rows.get("lim")!["MEM USAGE / LIMIT"], /^[\d.]+k?B \/ 67\.11MB$/);
    assert.deepEqual(rows.get("idle"), {
      ID: rows.get("idle")!.ID,
      NAME: "idle",
      "CPU %": "0.00%",
      "MEM USAGE / LIMIT": "0B / 0B",
      "MEM %": "0.00%",
      "NET IO": "0B / 0B",
      "BLOCK IO": "0B / 0B",
      PIDS: "0",
      "CPU TIME": "0s",
      "AVG CPU %": "0.00%",
    });

    const json = JSON.parse(await cli.ok(["stats", "--no-stream", "--format", "json", "lim"]));
    assert.equal(json.length, 1);
    assert.deepEqual(Object.keys(json[0]), STATS_JSON_KEYS);
    for (const key of STATS_JSON_KEYS) assert.equal(typeof json[0][key], "string", key);
    assert.equal(json[0].name, "lim");
    assert.equal(json[0].pids, "1");
    assert.match(json[0].mem_usage, / \/ 67\.11MB$/);

    const bytes = await cli.ok([
      "stats",
      "--no-stream",
      "--format",
      "{{.Name}} {{.MemUsageBytes}}",
      "lim",
    ]);
    assert.match(bytes, /^lim [\d.]+KiB \/ 64MiB\n$/);
    const table = await cli.ok([
      "stats",
      "--no-stream",
      "--format",
      "table {{.ID}} {{.Name}} {{.PIDS}}",
      "spin",
    ]);
    assert.deepEqual(table.split("\n").map(cells).slice(0, 2).map((r) => r.slice(1)), [
      ["NAME", "PIDS"],
      ["spin", "1"],
    ]);

    // stopped: zeros, exit 0, as podman 4.3.1
    await cli.ok(["stop", "-t", "0", "lim"]);
    const stopped = statsRows(await cli.ok(["stats", "--no-stream", "lim"])).get("lim")!;
    assert.equal(stopped["MEM USAGE / LIMIT"], "0B / 0B");
    assert.equal(stopped.PIDS, "0");
  },
);

testEachMonitor("top lists the container's processes as the container sees them", async (cli) => {
  const id = (await cli.ok(["run", "-d", "--name", "sl", "busybox", "sleep", "1000"])).trim();
  const hostPid = Number((await cli.ok(["inspect", "--format", "{{.State.Pid}}", "sl"])).trim());

  const out = await cli.ok(["top", "sl"]);
  const [header, ...lines] = out.trimEnd().split("\n");
  assert.deepEqual(cells(header), [
    "USER",
    "PID",
    "PPID",
    "%CPU",
    "ELAPSED",
    "TTY",
    "TIME",
    "COMMAND",
  ]);
  assert.equal(lines.length, 1, out);
  const row = cells(lines[0]);
  assert.deepEqual([row[0], row[1], row[2], row[5], row[6], row[7]], [
    "root",
    "1",
    "0",
    "?",
    "0s",
    "sleep 1000",
  ]);
  assert.match(row[3], /^\d+\.\d{3}$/);
  assert.match(row[4], /^[\d.]+(ms|s)$|^\d+m[\d.]+s$/);

  // PID in the container's namespace, HPID the host's (inspect's State.Pid)
  assert.equal(
    await cli.ok(["top", "sl", "pid", "comm", "hpid"]),
    `PID         COMMAND     HPID\n1           sleep       ${hostPid}\n`,
  );
  assert.equal(
    await cli.ok(["container", "top", id.slice(0, 12), "pid,args"]),
    "PID         COMMAND\n1           sleep 1000 \n",
  );

  // an exec'd process is listed with its namespace PID; its parent is outside (0)
  await cli.ok(["exec", "-d", "sl", "sh", "-c", "sleep 500; true"]);
  const two = (await cli.ok(["top", "sl", "pid", "ppid", "args"])).trimEnd().split("\n").slice(1)
    .map(cells);
  assert.ok(two.length >= 2, JSON.stringify(two));
  const sh = two.find((r) => r[2] === "sh -c sleep 500; true");
  assert.ok(sh && Number(sh[0]) > 1 && sh[1] === "0", JSON.stringify(two));

  await cli.ok(["stop", "-t", "0", "sl"]);
  const stopped = await cli.run(["top", "sl"]);
  assert.equal(stopped.code, 125);
  assert.equal(stopped.stderr, "Error: top can only be used on running containers\n");
  assert.equal(stopped.stdout, "");
});

Deno.test(
  "stats and top refuse unknown containers and bad flags with podman's words",
  ROOT_TEST,
  async () => {
    await withRoots(async (roots) => {
      const expect = async (args: string[], stderr: string) => {
        const r = await denopod(roots, args);
        assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, `Error: ${stderr}\n`);
        assert.equal(r.stdout, "");
      };
      await expect(
        ["stats", "--no-stream", "nosuch"],
        'unable to get list of containers: unable to look up container nosuch: no container with name or ID "nosuch" found: no such container',
      );
      await expect(
        ["top", "nosuch"],
        'unable to look up requested container: no container with name or ID "nosuch" found: no such container',
      );
      await expect(["stats", "-a", "x"], "--all, --latest and containers cannot be used together");
      await expect(
        ["stats", "--interval", "0"],
        "invalid interval, must be a positive number greater zero",
      );
      // no container: an empty table (podman prints the header alone)
      assert.equal(
        (await denopodOk(roots, ["stats", "--no-stream"])).trimEnd(),
        "ID          NAME        CPU %       MEM USAGE / LIMIT  MEM %       NET IO      BLOCK IO    PIDS        CPU TIME    AVG CPU %",
      );
      assert.equal(await denopodOk(roots, ["stats", "--no-stream", "--format", "json"]), "[]\n");
    });
  },
);

Deno.test(
  "streaming stats in a pipe appends a report per interval, no screen reset",
  ROOT_TEST,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["run", "-d", "--name", "sl", "busybox", "sleep", "1000"]);
      const out = await new Deno.Command("timeout", {
        args: ["-s", "INT", "6", Deno.execPath(), ...cliPrefix(roots), "stats", "-i", "1", "sl"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const headers = text.split("\n").filter((l) => l.startsWith("ID "));
      assert.ok(headers.length >= 2, text);
      assert.ok(!text.includes("\x1b"), JSON.stringify(text));
      assert.equal(text.split("\n").filter((l) => / sl /.test(l)).length, headers.length);
      await denopodOk(roots, ["rm", "-f", "-t", "0", "sl"]);
    });
  },
);

Deno.test(
  "stats on a terminal clears the screen before each report, unless --no-reset",
  ROOT_TEST,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["run", "-d", "--name", "sl", "busybox", "sleep", "1000"]);
      const clear = "\x1b[2J\x1b[1;1H";
      const streamed = await inPty(roots, "conmon", ["stats", "-i", "1", "sl"], [
        { expect: "AVG CPU %.*sl.*AVG CPU %.*sl " },
        { signal: "INT" },
      ]);
      assert.equal(streamed.failed, null, streamed.output);
      // deno itself redraws its (empty) progress line on a terminal: leave that out
      const screen = (text: string) => text.replaceAll("\x1b[0G\x1b[2K\x1b[J", "");
      const reports = screen(streamed.output).split(clear);
      assert.equal(reports[0], "", JSON.stringify(streamed.output.slice(0, 80)));
      assert.ok(reports.length - 1 >= 2, JSON.stringify(streamed.output));
      assert.match(reports[1], /^ID +NAME +CPU %.*\n[0-9a-f]{12} +sl +/s);
      const once = await inPty(roots, "conmon", ["stats", "--no-stream", "--no-reset", "sl"], []);
      assert.equal(once.exit, 0, once.output);
      assert.ok(!screen(once.output).includes("\x1b"), JSON.stringify(once.output));
      assert.match(screen(once.output), /^ID +NAME +CPU %/);
      await denopodOk(roots, ["rm", "-f", "-t", "0", "sl"]);
    });
  },
);

Deno.test({
  name: "stats and top print podman 4.3.1's columns, units and JSON keys",
  ...ROOT_TEST,
  ignore: ROOT_TEST.ignore || PODMAN === undefined,
  fn: async () => {
    const podman = await PodmanSandbox.create();
    try {
      await withRoots(async (roots) => {
        const tar = await busyboxRootfsTar();
        await denopodOk(roots, ["import", tar, "busybox"]);
        await podman.output("import", tar, "busybox");
        const run = ["run", "-d", "--name", "sl", "--memory", "64m", "busybox", "sleep", "1000"];
        await denopodOk(roots, run);
        await podman.output(...run);

        const ours = await denopodOk(roots, ["stats", "--no-stream", "sl"]);
        const theirs = await podman.output("stats", "--no-stream", "sl");
        const [oursHeader, oursRow] = ours.trimEnd().split("\n").map(cells);
        const [theirsHeader, theirsRow] = theirs.trimEnd().split("\n").map(cells);
        assert.deepEqual(oursHeader, theirsHeader);
        // NAME, the limit's unit, NET IO, BLOCK IO and PIDS agree; usage and CPU differ by nature
        assert.equal(oursRow[1], theirsRow[1]);
        assert.equal(oursRow[3].split(" / ")[1], theirsRow[3].split(" / ")[1]);
        assert.deepEqual(oursRow.slice(5, 8), theirsRow.slice(5, 8));
        // the ID column is as wide as podman's: 12 characters and two spaces
        assert.equal(ours.indexOf("NAME"), theirs.indexOf("NAME"));

        const oursJson = JSON.parse(
          await denopodOk(roots, ["stats", "--no-stream", "--format", "json", "sl"]),
        );
        const theirsJson = JSON.parse(
          await podman.output("stats", "--no-stream", "--format", "json", "sl"),
        );
        assert.deepEqual(Object.keys(oursJson[0]), Object.keys(theirsJson[0]));
        assert.deepEqual(
          Object.values(oursJson[0]).map((v) => typeof v),
          Object.values(theirsJson[0]).map((v) => typeof v),
        );

        for (
          const args of [["top", "sl", "pid", "comm"], [
            "top",
            "sl",
            "pid",
            "ppid",
            "user",
            "tty",
            "time",
            "nice",
            "group",
            "huser",
          ]]
        ) {
          assert.equal(await denopodOk(roots, args), await podman.output(...args));
        }
        const oursTop = (await denopodOk(roots, ["top", "sl"])).split("\n").map(cells);
        const theirsTop = (await podman.output("top", "sl")).split("\n").map(cells);
        assert.deepEqual(oursTop[0], theirsTop[0]);
        // everything but %CPU and ELAPSED, which depend on the moment
        const stable = (r: string[]) => [r[0], r[1], r[2], r[5], r[6], r[7]];
        assert.deepEqual(stable(oursTop[1]), stable(theirsTop[1]));

        for (const args of [["top", "nosuch"], ["stats", "--no-stream", "nosuch"]]) {
          const a = await denopod(roots, args);
          const b = await podman.run(...args);
          assert.deepEqual([a.code, a.stderr], [b.code, b.stderr]);
        }
        await denopodOk(roots, ["stop", "-t", "0", "sl"]);
        await podman.output("stop", "-t", "0", "sl");
        const a = await denopod(roots, ["top", "sl"]);
        const b = await podman.run("top", "sl");
        assert.deepEqual([a.code, a.stderr], [b.code, b.stderr]);
        await denopodOk(roots, ["rm", "sl"]);
      });
    } finally {
      await podman.remove();
    }
  },
});
