/**
 * Integration: every bad input through the real CLI, as root, in fresh roots. Each must give one
 * stderr line `Error: ...` naming what was wrong, exit 125, and leave nothing behind: no container,
 * image or layer row, no new file or directory under the roots, no mount, and nothing written in
 * the working directory or TMPDIR the command ran with.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { gzipSync } from "node:zlib";
import {
  busyboxRootfsTar,
  denopodOk,
  importBusybox,
  IS_ROOT,
  listDir,
  mountLinesUnder,
  REPO,
  type Roots,
  type RunResult,
  withRoots,
} from "./helpers/denopod.ts";
import { concatBytes } from "./helpers/tar_build.ts";
import { DOCKER_FIXTURE, editedFixture } from "./helpers/archive_fixtures.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };
const decoder = new TextDecoder();

/** Runs the CLI with explicit global flags, in `cwd`, with TMPDIR set to `cwd` as well. */
async function cli(globalArgs: string[], args: string[], cwd: string): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", join(REPO, "main.ts"), ...globalArgs, ...args],
    cwd,
    env: { TMPDIR: cwd },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Every path under `dir` (relative), except the SQLite files, which change on every open. */
function treeUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(path)];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const entry of entries) {
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (/^state\.db(-wal|-shm)?$/.test(relPath)) continue;
      out.push(relPath);
      if (entry.isDirectory) walk(join(path, entry.name), relPath);
    }
  };
  walk(dir, "");
  return out.sort();
}

/** The rows that say what exists: containers, images, image names, layers. */
function dbRows(root: string): string[] {
  const db = new DatabaseSync(join(root, "state.db"), { readOnly: true });
  try {
    const rows: string[] = [];
    for (const [table, column] of [["containers", "id"], ["images", "id"], ["layers", "id"]]) {
      const found = db.prepare(`SELECT ${column} AS v FROM ${table} ORDER BY 1`).all();
      for (const row of found) rows.push(`${table}:${row.v}`);
    }
    for (const row of db.prepare("SELECT name, image_id FROM image_names ORDER BY 1").all()) {
      rows.push(`name:${row.name}=${row.image_id}`);
    }
    return rows;
  } finally {
    db.close();
  }
}

/** What a failed command must not change. */
interface Snapshot {
  rows: string[];
  root: string[];
  runRoot: string[];
  mounts: string[];
  outside: string[];
}

/** The state a failed command must leave as it found. A container's own lockfile may appear. */
function snapshot(roots: Roots, outside: string): Snapshot {
  const rows = dbRows(roots.root);
  const lockfiles = new Set(
    rows.filter((r) => r.startsWith("containers:")).map((r) => `locks/${r.slice(11)}.lock`),
  );
  return {
    rows,
    root: treeUnder(roots.root),
    runRoot: treeUnder(roots.runRoot).filter((path) => !lockfiles.has(path)),
    mounts: mountLinesUnder(roots.dir).map((l) => l.split(" ").slice(4, 5).join("")).sort(),
    outside: treeUnder(outside),
  };
}

/** One bad command and the error line it must print. */
interface BadCase {
  args: string[];
  error: RegExp;
  /** What stdout must be (default: empty). */
  stdout?: string;
  /** The exit code (default 125; podman's own where its man page gives one). */
  code?: number;
}

/** Runs each case and asserts its one-line error, its exit code, and that nothing changed. */
async function assertRefused(roots: Roots, cases: BadCase[]): Promise<void> {
  const outside = await Deno.makeTempDir({ prefix: "denopod-outside-" });
  try {
    const globals = ["--root", roots.root, "--runroot", roots.runRoot];
    for (const { args, error, stdout = "", code = 125 } of cases) {
      const label = JSON.stringify(args);
      const before = snapshot(roots, outside);
      const result = await cli(globals, args, outside);
      assert.equal(result.code, code, `${label}: exit code (stderr: ${result.stderr})`);
      const lines = result.stderr.split("\n");
      assert.equal(
        lines.length,
        2,
        `${label}: one stderr line, got ${JSON.stringify(result.stderr)}`,
      );
      assert.equal(lines[1], "", `${label}: the error line ends with a newline`);
      assert.match(lines[0], /^Error: /, label);
      assert.match(lines[0], error, label);
      assert.equal(result.stdout, stdout, `${label}: stdout`);
      assert.deepEqual(snapshot(roots, outside), before, `${label}: left something behind`);
    }
    // The CLI's own view agrees with the rows checked above.
    assert.equal(
      (await denopodOk(roots, ["ps", "-aq"])).trim().split("\n").filter(Boolean).length,
      dbRows(roots.root).filter((r) => r.startsWith("containers:")).length,
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
}

/** Fresh roots holding the busybox image and one container named `first`. */
async function withFirstContainer(fn: (roots: Roots, firstId: string) => Promise<void>) {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    const firstId = (await denopodOk(roots, ["create", "--name", "first", "busybox", "true"]))
      .trim();
    await fn(roots, firstId);
  });
}

const create = (...flags: string[]): string[] => ["create", ...flags, "busybox", "true"];

Deno.test("create refuses bad names and a taken name, leaving nothing behind", opts, async () => {
  await withFirstContainer(async (roots, firstId) => {
    await assertRefused(roots, [
      { args: create("--name", "-x"), error: /invalid container name "-x"/ },
      { args: create("--name", "a/b"), error: /invalid container name "a\/b"/ },
      { args: create("--name", "a b"), error: /invalid container name "a b"/ },
      {
        args: create("--name", "first"),
        error: new RegExp(
          `^Error: the container name "first" is already in use by ${firstId}\\. .*that name is already in use$`,
        ),
      },
      { args: ["create", "nosuchimage", "true"], error: /^Error: nosuchimage: image not known$/ },
    ]);
  });
});

Deno.test("create refuses bad rundir values (hostname, dns, add-host)", opts, async () => {
  await withFirstContainer(async (roots) => {
    await assertRefused(roots, [
      { args: create("--hostname", "a\nb"), error: /--hostname.*control character/ },
      { args: create("--dns", "not-an-ip"), error: /not-an-ip is not an ip address/ },
      {
        args: create("--dns-search", ".", "--dns-search", "x"),
        error: /cannot pass additional search domains when also specifying '\.'/,
      },
      {
        args: create("--dns", "1.1.1.1", "--network", "none"),
        error: /conflicting options: dns and the network mode: none/,
      },
      { args: create("--add-host", "foo"), error: /bad format for add-host: "foo"/ },
      { args: create("--add-host", "foo:notip"), error: /invalid IP address in add-host: "notip"/ },
      { args: create("--add-host", "foo\n:1.2.3.4"), error: /--add-host.*control character/ },
    ]);
  });
});

Deno.test("create refuses bad volumes, workdirs, sizes, signals and networks", opts, async () => {
  await withFirstContainer(async (roots) => {
    await assertRefused(roots, [
      {
        args: create("-v", "bad@name:/x"),
        error: /creating named volume "bad@name": .*names must match/,
      },
      {
        args: create("-v", "/tmp:rel"),
        error: /invalid container path "rel", must be an absolute/,
      },
      { args: create("-v", "/tmp:/x:bogus"), error: /^Error: invalid option type "bogus"$/ },
      { args: create("-w", "relative"), error: /invalid working directory "relative"/ },
      { args: create("-w", "/proc/x"), error: /"\/proc\/x": must not be under \/proc/ },
      { args: create("--shm-size", "0"), error: /invalid --shm-size 0/ },
      { args: create("--shm-size", "abc"), error: /invalid size: 'abc'/ },
      { args: create("--stop-signal", "NOPE"), error: /invalid signal: NOPE/ },
      { args: create("--stop-timeout", "-1"), error: /invalid argument "-1" for "--stop-timeout"/ },
      {
        args: create("--network", "bridge2"),
        error: /unable to find network with name or ID bridge2: network not found/,
      },
      { args: create("--network", "a b"), error: /invalid --network "a b"/ },
    ]);
  });
});

/** The image config fields a test edits (the fixture's `config` object). */
interface RuntimeConfigJson {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  User?: string;
  WorkingDir?: string;
}

/**
 * Loads the docker-archive fixture as `localhost/TAG:latest` with its config's runtime part
 * changed by `edit` (the config file renamed to its new digest, as an archive must have it).
 */
async function loadEditedImage(
  roots: Roots,
  tmp: string,
  tag: string,
  edit: (config: RuntimeConfigJson) => void,
): Promise<void> {
  const archive = await editedFixture(tmp, DOCKER_FIXTURE, tag, async (dir) => {
    const manifestPath = join(dir, "manifest.json");
    const [entry] = JSON.parse(await Deno.readTextFile(manifestPath)) as {
      Config: string;
      RepoTags: string[];
    }[];
    const config = JSON.parse(await Deno.readTextFile(join(dir, entry.Config)));
    edit(config.config);
    const bytes = new TextEncoder().encode(JSON.stringify(config));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const name = `${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}.json`;
    await Deno.remove(join(dir, entry.Config));
    await Deno.writeFile(join(dir, name), bytes);
    entry.Config = name;
    entry.RepoTags = [`localhost/${tag}:latest`];
    await Deno.writeTextFile(manifestPath, JSON.stringify([entry]));
    await Deno.remove(join(dir, "repositories"));
  });
  await denopodOk(roots, ["load", "-i", archive]);
}

Deno.test(
  "create and run refuse bad env, users, volume sources and image values, writing nothing",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const tmp = await Deno.makeTempDir({ prefix: "denopod-bad-image-" });
      try {
        await loadEditedImage(roots, tmp, "nulcmd", (c) => c.Cmd = ["sh", "-c", "echo a\u0000b"]);
        await loadEditedImage(roots, tmp, "escenv", (c) => c.Env = ["PATH=/bin", "A=x\u001b[2J"]);
        await loadEditedImage(roots, tmp, "keyless", (c) => c.Env = ["PATH=/bin", "=x"]);
        await loadEditedImage(roots, tmp, "hostenv", (c) => c.Env = ["PATH=/bin", "HOME"]);
        await loadEditedImage(roots, tmp, "nlentry", (c) => c.Entrypoint = ["/bin/sh\n"]);
        await loadEditedImage(roots, tmp, "baduser", (c) => c.User = "1:2:3");
        await loadEditedImage(roots, tmp, "bigid", (c) => c.User = "4294967296");
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
      for (const verb of ["create", "run"]) {
        const bad = (...args: string[]): string[] => [verb, ...args];
        await assertRefused(roots, [
          // podman 4.3.1: `Error: invalid environment variable: "=x"`
          {
            args: bad("-e", "=x", "busybox", "true"),
            error: /^Error: invalid environment variable: "=x"$/,
          },
          // podman 4.3.1 drops an empty -e silently; an empty key is refused as above
          {
            args: bad("-e", "", "busybox", "true"),
            error: /^Error: invalid environment variable: ""$/,
          },
          // podman 4.3.1, word for word
          {
            args: bad("-v", "/nonexistent:/x", "busybox", "true"),
            error: /^Error: statfs \/nonexistent: no such file or directory$/,
          },
          // podman 4.3.1 takes 0:0:0 and runs it as root: one colon at most here
          {
            args: bad("-u", "0:0:0", "busybox", "true"),
            error: /^Error: invalid user "0:0:0": must be user\[:group\]$/,
          },
          {
            args: bad("-u", ":0", "busybox", "true"),
            error: /^Error: invalid user ":0": the user/,
          },
          // podman 4.3.1 fails at start with these words (runc's limit, 2^31-1)
          ...["4294967296", "99999999999999999999", "0:2147483648"].map((user) => ({
            args: bad("-u", user, "busybox", "true"),
            error: /^Error: uids and gids must be in range 0-2147483647$/,
          })),
          {
            args: bad("nulcmd"),
            error: /^Error: invalid value for image Cmd: "echo a\\u0000b" contains a control/,
          },
          {
            args: bad("escenv"),
            error: /^Error: invalid value for image Env: "A=x\\u001b\[2J" contains a control/,
          },
          {
            args: bad("keyless"),
            error: /^Error: invalid environment variable in the image's Env: "=x"$/,
          },
          {
            args: bad("hostenv"),
            error: /^Error: invalid environment variable in the image's Env: "HOME"$/,
          },
          {
            args: bad("nlentry"),
            error: /^Error: invalid value for image Entrypoint: "\/bin\/sh\\n" contains a control/,
          },
          {
            args: bad("baduser"),
            error: /^Error: invalid user "1:2:3": must be user\[:group\]$/,
          },
          {
            args: bad("bigid"),
            error: /^Error: uids and gids must be in range 0-2147483647$/,
          },
        ]);
      }
      assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
      assert.deepEqual(listDir(join(roots.root, "containers")), []);
      // what is fine still works: a command given overrides the image's bad Cmd
      const ok = (await denopodOk(roots, ["create", "-u", "nobody:", "nulcmd", "true"])).trim();
      assert.match(ok, /^[0-9a-f]{64}$/);
      assert.equal(
        (await denopodOk(roots, ["inspect", "--format", "{{.Config.User}}", ok])).trim(),
        "nobody",
      );
    });
  },
);

Deno.test("usage errors: unknown flag, missing argument, bad --log-level", opts, async () => {
  await withFirstContainer(async (roots) => {
    await assertRefused(roots, [
      { args: create("--bogus"), error: /^Error: unknown flag: --bogus$/ },
      { args: ["create"], error: /^Error: requires at least 1 arg\(s\), only received 0$/ },
      { args: ["create", "--name"], error: /^Error: flag needs an argument: --name$/ },
      { args: ["--log-level", "bogus", "ps"], error: /invalid log level "bogus"/ },
    ]);
  });
});

Deno.test(
  "rmi, inspect, rm and export refuse with podman's messages and exit codes",
  opts,
  async () => {
    await withFirstContainer(async (roots, firstId) => {
      await assertRefused(roots, [
        {
          args: ["rmi", "busybox"],
          error: new RegExp(
            `^Error: image used by ${firstId}: image is in use by a container`,
          ),
          code: 2,
        },
        { args: ["rmi", "nosuch"], error: /^Error: nosuch: image not known$/, code: 1 },
        { args: ["inspect", "nosuch"], error: /^Error: no such object: "nosuch"$/, stdout: "[]\n" },
        {
          args: ["rm", "nosuch"],
          error: /^Error: no container with name or ID "nosuch" found: no such container$/,
          code: 1,
        },
        {
          args: ["export", "-o", "/nonexistent-dir/x.tar", "first"],
          error: /^Error: open \/nonexistent-dir\/x\.tar: no such file or directory$/,
        },
      ]);
      await assert.rejects(Deno.stat("/nonexistent-dir"), Deno.errors.NotFound);
    });
  },
);

Deno.test(
  "export to a full disk fails with one line and leaves no partial file",
  opts,
  async () => {
    await withFirstContainer(async (roots) => {
      const full = join(roots.dir, "full");
      await Deno.mkdir(full);
      const mounted = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full],
      }).output();
      assert.ok(mounted.success, decoder.decode(mounted.stderr));
      Deno.writeTextFileSync(join(full, "old.tar"), "the old file");
      const result = await cli(
        ["--root", roots.root, "--runroot", roots.runRoot],
        ["export", "-o", join(full, "old.tar"), "first"],
        roots.dir,
      );
      assert.equal(result.code, 125);
      assert.equal(
        result.stderr,
        `Error: write ${join(full, "old.tar")}: no space left on device\n`,
      );
      assert.deepEqual(treeUnder(full), ["old.tar"], "the partial file was removed");
      assert.equal(Deno.readTextFileSync(join(full, "old.tar")), "the old file");
      assert.deepEqual(mountLinesUnder(join(roots.root, "layers")), [], "the rootfs was unmounted");
    });
  },
);

Deno.test("import refuses missing, non-tar, truncated and corrupt input", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    const fixtures = await Deno.makeTempDir({ prefix: "denopod-bad-import-" });
    try {
      const tar = await Deno.readFile(await busyboxRootfsTar());
      const gz = gzipSync(tar);
      const write = (name: string, bytes: Uint8Array) => {
        Deno.writeFileSync(join(fixtures, name), bytes);
        return join(fixtures, name);
      };
      const notTar = write("notes.txt", new TextEncoder().encode("not a tarball\n".repeat(200)));
      const truncated = write("truncated.tar", tar.subarray(0, 100_000));
      const cutGzip = write("cut.tar.gz", gz.subarray(0, 5000));
      const badGzip = write(
        "bad.tar.gz",
        concatBytes(new Uint8Array([0x1f, 0x8b, 0x08, 0x00]), new Uint8Array(4096).fill(7)),
      );
      const good = write("good.tar", tar);
      await assertRefused(roots, [
        {
          args: ["import", join(fixtures, "missing.tar")],
          error: /^Error: cannot import .*missing\.tar: no such file$/,
        },
        { args: ["import", notTar], error: /not a valid tar archive/ },
        { args: ["import", truncated], error: /the tar archive is truncated/ },
        { args: ["import", cutGzip], error: /^Error: corrupt gzip data/ },
        { args: ["import", badGzip], error: /^Error: corrupt gzip data/ },
        {
          args: ["import", "--change", "BOGUS x", good],
          error: /invalid --change "BOGUS x": BOGUS is not one of/,
        },
        {
          args: ["import", "--change", "WORKDIR relative", good],
          error: /invalid --change "WORKDIR relative": WORKDIR must be absolute/,
        },
      ]);
    } finally {
      await Deno.remove(fixtures, { recursive: true });
    }
  });
});

Deno.test("a state.db that is not a database is refused, naming it", opts, async () => {
  await withRoots(async (roots) => {
    await Deno.mkdir(roots.root, { recursive: true });
    const dbPath = join(roots.root, "state.db");
    Deno.writeTextFileSync(dbPath, "garbage\n".repeat(2000));
    const result = await cli(["--root", roots.root, "--runroot", roots.runRoot], ["ps"], roots.dir);
    assert.equal(result.code, 125);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `Error: cannot use the state database ${dbPath}: file is not a database\n`,
    );
    assert.equal(Deno.readTextFileSync(dbPath), "garbage\n".repeat(2000));
  });
});

Deno.test("--root and --runroot holding ':' or a control character are refused", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-badroot-" });
  try {
    const good = join(dir, "good");
    const cases: [string[], RegExp][] = [
      [["--root", join(dir, "a:b"), "--runroot", good], /--root ".*a:b" must not hold ':'/],
      [["--root", join(dir, "a\x01b"), "--runroot", good], /--root.*control character/],
      [["--root", good, "--runroot", join(dir, "c:d")], /--runroot ".*c:d" must not hold ':'/],
      [["--root", good, "--runroot", join(dir, "c\td")], /--runroot.*control character/],
    ];
    for (const [globals, error] of cases) {
      const result = await cli(globals, ["ps", "-a"], dir);
      assert.equal(result.code, 125, result.stderr);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr.split("\n").length, 2, result.stderr);
      assert.match(result.stderr, error);
      assert.deepEqual(treeUnder(dir), [], `${JSON.stringify(globals)} created something`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "create refuses each bad resource, security and mount flag value with podman 4.3.1's words, leaving nothing behind",
  opts,
  async () => {
    await withFirstContainer(async (roots) => {
      const exact = (text: string) =>
        new RegExp(`^Error: ${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
      await assertRefused(roots, [
        {
          args: create("--memory", "foo"),
          error: exact("invalid value for memory: invalid size: 'foo'"),
        },
        {
          args: create("--memory", "-5m"),
          error: exact("invalid value for memory: invalid size: '-5m'"),
        },
        { args: create("--memory", "1"), error: exact("minimum memory limit allowed is 6MB") },
        {
          args: create("--memory-swap", "foo", "--memory", "10m"),
          error: exact("invalid value for memory: invalid size: 'foo'"),
        },
        {
          args: create("--memory", "10m", "--memory-swap", "5m"),
          error: exact("minimum memoryswap limit should be larger than memory limit, see usage"),
        },
        {
          args: create("--memory-swap", "5m"),
          error: exact(
            "you should always set a memory limit when using a memoryswap limit, see usage",
          ),
        },
        {
          args: create("--memory", "10m", "--memory-reservation", "20m"),
          error: exact(
            "minimum memory limit cannot be less than memory reservation limit, see usage",
          ),
        },
        {
          args: create("--cpus", "foo"),
          error: exact(
            'invalid argument "foo" for "--cpus" flag: strconv.ParseFloat: parsing "foo": invalid syntax',
          ),
        },
        { args: create("--cpus", "-1"), error: /^Error: range of CPUs is from 0\.01 to / },
        {
          args: create("--cpu-shares", "foo"),
          error: exact(
            'invalid argument "foo" for "-c, --cpu-shares" flag: strconv.ParseUint: parsing "foo": invalid syntax',
          ),
        },
        { args: create("--cpuset-cpus", "foo"), error: exact("invalid value foo for cpuset cpus") },
        {
          args: create("--cpuset-cpus", "999"),
          error: /^Error: requested CPUs are not available - requested 999, available: 0/,
        },
        {
          args: create("--pids-limit", "foo"),
          error: exact(
            'invalid argument "foo" for "--pids-limit" flag: strconv.ParseInt: parsing "foo": invalid syntax',
          ),
        },
        {
          args: create("--ulimit", "foo"),
          error: exact(
            'ulimit option "foo" requires name=SOFT:HARD, failed to be parsed: invalid ulimit argument: foo',
          ),
        },
        {
          args: create("--ulimit", "nofile=foo"),
          error: exact(
            'ulimit option "nofile=foo" requires name=SOFT:HARD, failed to be parsed: strconv.ParseInt: parsing "foo": invalid syntax',
          ),
        },
        {
          args: create("--ulimit", "nofile=10:5"),
          error: exact(
            'ulimit option "nofile=10:5" requires name=SOFT:HARD, failed to be parsed: ulimit soft limit must be less than or equal to hard limit: 10 > 5',
          ),
        },
        {
          args: create("--ulimit", "bogus=1"),
          error: exact(
            'ulimit option "bogus=1" requires name=SOFT:HARD, failed to be parsed: invalid ulimit type: bogus',
          ),
        },
        { args: create("--cap-add", "FOO"), error: exact('"CAP_FOO": unknown capability') },
        { args: create("--cap-drop", "BAR"), error: exact('"CAP_BAR": unknown capability') },
        { args: create("--security-opt", "foo"), error: exact('invalid --security-opt 1: "foo"') },
        {
          args: create("--security-opt", "label=foo"),
          error: exact('invalid --security-opt 1: "label=foo"'),
        },
        {
          args: create("--security-opt", "seccomp=/nonexist"),
          error: exact("opening seccomp profile failed: open /nonexist: no such file or directory"),
        },
        {
          args: create("--tmpfs", "rel"),
          error: exact('invalid container path "rel", must be an absolute path'),
        },
        {
          args: create("--tmpfs", "/x:foo"),
          error: exact('unknown mount option "foo": invalid mount option'),
        },
        {
          args: create("--mount", "type=foo,dst=/x"),
          error: exact('invalid filesystem type "foo"'),
        },
        {
          args: create("--mount", "type=bind,src=/nonexist,dst=/x"),
          error: exact("statfs /nonexist: no such file or directory"),
        },
        {
          args: create("--mount", "type=bind,src=/tmp"),
          error: exact("must set volume destination"),
        },
        {
          args: create("--mount", "type=bind,src=/tmp,dst=/x,foo=bar"),
          error: exact("foo: invalid mount option"),
        },
        {
          args: create("--mount", "type=tmpfs,src=/a,dst=/x"),
          error: exact("source is not supported with tmpfs mounts"),
        },
        {
          args: create("--mount", "foo"),
          error: /^Error: incorrect mount format: should be --mount type=/,
        },
        {
          args: create("-v", "/tmp:/x:ro,rw"),
          error: exact(`invalid options "ro, rw", can only specify 1 'rw' or 'ro' option`),
        },
        {
          args: create("-v", "/tmp:/x:Z,z"),
          error: exact(`invalid options "Z, z", can only specify 1 'z', 'Z', or 'O' option`),
        },
        {
          args: create("--device", "/nonexist"),
          error: exact("stat /nonexist: no such file or directory"),
        },
        { args: create("--device", "/dev/null:/x:q"), error: exact("invalid device mode: q") },
        { args: create("--device", "/dev/null:rel"), error: exact("invalid device mode: rel") },
        {
          args: create("--env-file", "/nonexist"),
          error: exact('parsing env file "/nonexist": open /nonexist: no such file or directory'),
        },
        {
          args: create("--annotation", "foo"),
          error: exact("annotations must be formatted KEY=VALUE"),
        },
        {
          args: create("--umask", "foo"),
          error: exact(
            "running container create option: invalid umask string foo: invalid argument",
          ),
        },
        {
          args: create("--read-only-tmpfs=foo"),
          error: exact(
            'invalid argument "foo" for "--read-only-tmpfs" flag: strconv.ParseBool: parsing "foo": invalid syntax',
          ),
        },
      ]);
    });
  },
);
