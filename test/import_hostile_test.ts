/**
 * Integration: hostile tarballs through `denopod import`, as root, in fresh roots. A refused one
 * exits 125 with one line and leaves no image, no layer directory (no `tmp-*` either) and no
 * lockfile; one the design lands inside the root (`..`, absolute names, a symlinked parent, a PAX
 * path, a device node) exits 0 with every entry inside the layer. Either way a canary directory
 * outside the roots, and `/etc/passwd`, are untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { denopod, denopodOk, IS_ROOT, type Roots, withRoots } from "./helpers/denopod.ts";
import { layerDirs, listDir } from "./helpers/denopod.ts";
import { paxEntry, rawEntry, tarBytes } from "./helpers/tar_build.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** A directory outside the roots that hostile entries aim at, holding a canary file. */
interface Canary {
  dir: string;
  file: string;
}

/** What a directory tree looks like: each path with its type, mode, size and mtime. */
function fingerprint(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const full = join(path, entry.name);
      const st = Deno.lstatSync(full);
      out.push(`${rel}${entry.name} ${st.mode} ${st.size} ${st.nlink} ${st.mtime?.getTime()}`);
      if (st.isDirectory) walk(full, `${rel}${entry.name}/`);
    }
  };
  walk(dir, "");
  return out.sort();
}

function passwdFingerprint(): string {
  const st = Deno.lstatSync("/etc/passwd");
  return `${st.ino} ${st.nlink} ${st.size} ${st.mtime?.getTime()} ${
    Deno.readTextFileSync("/etc/passwd")
  }`;
}

/** Runs `fn` with fresh roots, a canary directory outside them, and the hostile tar's path. */
async function withHostileTar(
  build: (canary: Canary) => Uint8Array,
  fn: (roots: Roots, tarPath: string, canary: Canary) => Promise<void>,
): Promise<void> {
  const outside = await Deno.makeTempDir({ prefix: "denopod-canary-" });
  try {
    const canary = {
      dir: join(outside, "canary-dir"),
      file: join(outside, "canary-dir", "canary"),
    };
    Deno.mkdirSync(canary.dir);
    Deno.writeTextFileSync(canary.file, "canary: untouched\n");
    const tarPath = join(outside, "hostile.tar");
    Deno.writeFileSync(tarPath, build(canary));
    const before = fingerprint(outside);
    const passwd = passwdFingerprint();
    await withRoots(async (roots) => {
      await fn(roots, tarPath, canary);
      assert.deepEqual(fingerprint(outside), before, "something outside the roots changed");
      assert.equal(passwdFingerprint(), passwd, "/etc/passwd changed");
      assert.deepEqual(layerLocks(roots), [], "a layer lockfile was left");
    });
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
}

function layerLocks(roots: Roots): string[] {
  return listDir(join(roots.runRoot, "locks")).filter((n) => n.startsWith("layer-"));
}

/** Imports the tar, expecting refusal: exit 125, one line matching `error`, nothing kept. */
async function assertRefused(roots: Roots, tarPath: string, error: RegExp): Promise<void> {
  const result = await denopod(roots, ["import", tarPath, "hostile"]);
  assert.equal(result.code, 125, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.split("\n");
  assert.equal(lines.length, 2, `one line: ${JSON.stringify(result.stderr)}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], error);
  assert.equal(await denopodOk(roots, ["images", "-q"]), "");
  assert.deepEqual(layerDirs(roots), [], "a layer directory was left");
}

/** Imports the tar, expecting success; returns the single layer's `diff` directory. */
async function assertLandsInside(roots: Roots, tarPath: string): Promise<string> {
  const result = await denopod(roots, ["import", tarPath, "hostile"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const layers = layerDirs(roots);
  assert.equal(layers.length, 1, `one layer dir: ${layers}`);
  assert.match(layers[0], /^[0-9a-f]{64}$/);
  assert.ok(listDir(join(roots.root, "layers", layers[0])).includes("diff"));
  assert.deepEqual(listDir(roots.dir), ["root", "run"], "nothing beside the roots");
  return join(roots.root, "layers", layers[0], "diff");
}

Deno.test("import lands ../ names inside the layer", opts, async () => {
  await withHostileTar(
    (canary) =>
      tarBytes([
        rawEntry({ name: "../../../../escape.txt", body: "x" }),
        rawEntry({ name: `../../../../../../../..${canary.dir}/pwned`, body: "y" }),
      ]),
    async (roots, tarPath, canary) => {
      const diff = await assertLandsInside(roots, tarPath);
      assert.equal(Deno.readTextFileSync(join(diff, "escape.txt")), "x");
      assert.equal(Deno.readTextFileSync(join(diff, canary.dir, "pwned")), "y");
      assert.deepEqual(listDir(roots.dir), ["root", "run"]);
    },
  );
});

Deno.test("import lands absolute names inside the layer", opts, async () => {
  await withHostileTar(
    (canary) => tarBytes([rawEntry({ name: `${canary.dir}/pwned`, body: "abs" })]),
    async (roots, tarPath, canary) => {
      const diff = await assertLandsInside(roots, tarPath);
      assert.equal(Deno.readTextFileSync(join(diff, canary.dir, "pwned")), "abs");
    },
  );
});

Deno.test(
  "import resolves a symlinked directory inside the layer, never on the host",
  opts,
  async () => {
    await withHostileTar(
      (canary) =>
        tarBytes([
          rawEntry({ name: "link", type: "2", linkname: canary.dir }),
          rawEntry({ name: "link/pwned", body: "through the link" }),
          rawEntry({ name: "link/canary", body: "overwritten?" }),
        ]),
      async (roots, tarPath, canary) => {
        const diff = await assertLandsInside(roots, tarPath);
        assert.equal(Deno.readLinkSync(join(diff, "link")), canary.dir);
        assert.equal(Deno.readTextFileSync(join(diff, canary.dir, "pwned")), "through the link");
        assert.equal(Deno.readTextFileSync(join(diff, canary.dir, "canary")), "overwritten?");
      },
    );
  },
);

Deno.test("import refuses a symlink chain that climbs out of the layer", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        rawEntry({ name: "a", type: "2", linkname: "b" }),
        rawEntry({ name: "b", type: "2", linkname: "c/../../../../../../.." }),
        rawEntry({ name: "c/", type: "5" }),
        rawEntry({ name: "a/pwned", body: "x" }),
      ]),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /archive entry "a\/pwned": .*climbs out of the root/);
    },
  );
});

Deno.test("import refuses a hard link to /etc/passwd", opts, async () => {
  await withHostileTar(
    () => tarBytes([rawEntry({ name: "passwd", type: "1", linkname: "/etc/passwd" })]),
    async (roots, tarPath) => {
      await assertRefused(
        roots,
        tarPath,
        /^Error: archive entry "passwd": hard link target "\/etc\/passwd" is not an earlier entry of this layer$/,
      );
    },
  );
});

Deno.test("import refuses a hard link to ../../x", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        rawEntry({ name: "x", body: "inside" }),
        rawEntry({ name: "link", type: "1", linkname: "../../x" }),
      ]),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /archive entry "link": hard link target escapes/);
    },
  );
});

Deno.test("import refuses a hard link through a symlink to the host's /etc", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        rawEntry({ name: "hostetc", type: "2", linkname: "/etc" }),
        rawEntry({ name: "passwd", type: "1", linkname: "hostetc/passwd" }),
      ]),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /archive entry "passwd": hard link target/);
    },
  );
});

Deno.test("import from stdin lands a gzip'd ../ name inside the layer", opts, async () => {
  const tar = tarBytes([rawEntry({ name: "../../../stdin-escape.txt", body: "gz" })]);
  await withHostileTar(() => tar, async (roots) => {
    const result = await denopod(roots, ["import", "-", "hostile"], { stdin: gzipSync(tar) });
    assert.equal(result.code, 0, result.stderr);
    const layers = layerDirs(roots);
    assert.equal(layers.length, 1);
    const diff = join(roots.root, "layers", layers[0], "diff");
    assert.equal(Deno.readTextFileSync(join(diff, "stdin-escape.txt")), "gz");
    assert.deepEqual(listDir(roots.dir), ["root", "run"]);
  });
});

Deno.test("import refuses a hard link to a directory", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        rawEntry({ name: "d/", type: "5" }),
        rawEntry({ name: "link", type: "1", linkname: "d" }),
      ]),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /hard link target "d" is a directory/);
    },
  );
});

Deno.test("import lands a PAX path override with .. inside the layer", opts, async () => {
  await withHostileTar(
    (canary) =>
      tarBytes([
        paxEntry({ path: `../../../../../../..${canary.dir}/pax-pwned` }),
        rawEntry({ name: "harmless.txt", body: "pax" }),
      ]),
    async (roots, tarPath, canary) => {
      const diff = await assertLandsInside(roots, tarPath);
      assert.equal(Deno.readTextFileSync(join(diff, canary.dir, "pax-pwned")), "pax");
      await assert.rejects(Deno.lstat(join(diff, "harmless.txt")), Deno.errors.NotFound);
    },
  );
});

Deno.test("import refuses a PAX header over the limit", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        paxEntry({ comment: "A".repeat(2 * 1024 * 1024) }),
        rawEntry({ name: "f", body: "x" }),
      ]),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /PAX header of \d+ bytes is over the limit/);
    },
  );
});

Deno.test("import creates a device node inside the layer (as root)", opts, async () => {
  await withHostileTar(
    (canary) =>
      tarBytes([
        rawEntry({ name: "dev/", type: "5" }),
        rawEntry({ name: "dev/mynull", type: "3", mode: 0o666, devmajor: 1, devminor: 3 }),
        rawEntry({ name: `${canary.dir}/node`, type: "3", devmajor: 1, devminor: 5 }),
      ]),
    async (roots, tarPath, canary) => {
      const diff = await assertLandsInside(roots, tarPath);
      const node = Deno.lstatSync(join(diff, "dev/mynull"));
      assert.ok(node.isCharDevice, "a character device");
      assert.equal(node.rdev, (1 << 8) | 3);
      assert.equal(node.mode! & 0o777, 0o666);
      assert.ok(Deno.lstatSync(join(diff, canary.dir, "node")).isCharDevice);
    },
  );
});

Deno.test("import refuses a stream that is not tar", opts, async () => {
  await withHostileTar(
    () => new TextEncoder().encode("this is not a tarball\n".repeat(100)),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /not a valid tar archive/);
    },
  );
});

Deno.test("import refuses a tarball cut in the middle of a body", opts, async () => {
  await withHostileTar(
    () =>
      tarBytes([
        rawEntry({ name: "first", body: "complete" }),
        rawEntry({ name: "big", body: "x".repeat(50_000) }),
      ]).subarray(0, 1024 + 512 + 20_000),
    async (roots, tarPath) => {
      await assertRefused(roots, tarPath, /truncated/);
    },
  );
});
