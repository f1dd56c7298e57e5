/**
 * Trees deeper than PATH_MAX: a container whose read-write layer holds one (made here from the
 * host side, with mkdirat/openat relative to directory descriptors, as a process in the container
 * would with relative mkdir and chdir) is listed by `ps -a -s`, inspected with `inspect -s` and
 * exported (GNU tar lists and reads the deep file); and the descriptor walks behind them give the
 * same answers whatever number of directories they may keep open.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  mountLinesUnder,
  withRoots,
} from "./helpers/denopod.ts";
import { withTempDir } from "./helpers/temp_dir.ts";
import { abi } from "../lib/sys/abi.ts";
import { AT_FDCWD, libc } from "../lib/sys/libc.ts";
import { DirectoryChain, DirectoryChangedError } from "../lib/sys/dir_chain.ts";
import { treeSize } from "../lib/storage/size.ts";
import { TarWriter } from "../lib/storage/tar/writer.ts";
import { writeTree } from "../lib/storage/tar/tree.ts";
import { humanSize } from "../lib/util/humanize.ts";

const AS_ROOT = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };
const PATH_MAX = 4096;

/** The few calls that make a deep tree without ever naming it by a long path. */
function fsAt() {
  const lib = Deno.dlopen("libc.so.6", {
    mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const c = (s: string) => new TextEncoder().encode(`${s}\0`);
  const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC } = abi();
  const check = (rc: number, what: string) => {
    if (rc < 0) throw new Error(`${what} failed`);
    return rc;
  };
  return {
    /** Makes directory `name` in `dirFd` and returns its descriptor. */
    mkdir(dirFd: number, name: string): number {
      check(lib.symbols.mkdirat(dirFd, c(name), 0o755), `mkdirat ${name}`);
      return check(
        lib.symbols.openat(dirFd, c(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0),
        `openat ${name}`,
      );
    },
    /** Opens an existing directory by path. */
    open(path: string): number {
      return check(lib.symbols.openat(AT_FDCWD, c(path), O_RDONLY | O_DIRECTORY, 0), path);
    },
    /** Writes file `name` holding `text` in `dirFd`. */
    writeFile(dirFd: number, name: string, text: string): void {
      const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
      const fd = check(lib.symbols.openat(dirFd, c(name), flags, 0o644), `create ${name}`);
      const bytes = new TextEncoder().encode(text);
      check(Number(lib.symbols.write(fd, bytes, BigInt(bytes.length))), `write ${name}`);
      lib.symbols.close(fd);
    },
    close(fd: number): void {
      lib.symbols.close(fd);
    },
    free: () => lib.close(),
  };
}

/**
 * Makes below `root` a chain of `depth` directories named `d` (with a file `f<level>` every 500
 * levels and a side directory at level 3), ending in `deep.txt`; returns the deep file's name
 * relative to `root`.
 */
function makeDeepTree(root: string, depth: number): string {
  const fs = fsAt();
  try {
    let fd = fs.open(root);
    const opened = [fd];
    for (let level = 1; level <= depth; level++) {
      if (level === 3) fs.close(fs.mkdir(fd, "side"));
      fd = fs.mkdir(fd, "d");
      opened.push(fd);
      if (level % 500 === 0) fs.writeFile(fd, `f${level}`, `level ${level}\n`);
      if (opened.length > 64) fs.close(opened.splice(0, 1)[0]);
    }
    fs.writeFile(fd, "deep.txt", "at the bottom\n");
    for (const open of opened) fs.close(open);
  } finally {
    fs.free();
  }
  return `${"d/".repeat(depth)}deep.txt`;
}

/** What `du --apparent-size -s -B1` says of `path` (it walks by descriptor too). */
async function duApparent(path: string): Promise<number> {
  const out = await new Deno.Command("du", {
    args: ["--apparent-size", "-s", "-B1", path],
    stdout: "piped",
  }).output();
  assert.ok(out.success, "du failed");
  return Number(new TextDecoder().decode(out.stdout).split("\t")[0]);
}

/** Runs GNU tar with `args`; returns its stdout. */
async function gnuTar(args: string[]): Promise<string> {
  const out = await new Deno.Command("tar", { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test(
  "a container with a tree deeper than PATH_MAX: ps -a -s, inspect -s and export work",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["create", "--name", "deep", "busybox", "true"]);
      await denopodOk(roots, ["create", "--name", "plain", "busybox", "true"]);
      const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "deep"])).trim();
      const upper = join(roots.root, "layers", id, "diff");
      const depth = 2100;
      const deepFile = makeDeepTree(upper, depth);
      assert.ok(deepFile.length > PATH_MAX, "the tree is deeper than PATH_MAX");
      const rwSize = await duApparent(upper);

      const ps = await denopod(roots, ["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(ps.stderr, "");
      const rows = ps.stdout.trim().split("\n").sort();
      assert.equal(rows.length, 2, ps.stdout);
      assert.ok(rows[0].startsWith(`deep ${humanSize(rwSize)} (virtual `), rows[0]);
      const plainId = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "plain"])).trim();
      const plainSize = await duApparent(join(roots.root, "layers", plainId, "diff"));
      assert.ok(rows[1].startsWith(`plain ${humanSize(plainSize)} (virtual `), rows[1]);

      const inspect = await denopod(roots, ["inspect", "-s", "--format", "{{.SizeRw}}", "deep"]);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.equal(inspect.stdout.trim(), String(rwSize));

      const tarPath = join(roots.dir, "deep.tar");
      const exported = await denopod(roots, ["export", "-o", tarPath, "deep"]);
      assert.equal(exported.code, 0, exported.stderr);
      const names = (await gnuTar(["-tf", tarPath])).split("\n");
      assert.ok(names.includes(deepFile), "GNU tar lists the deep file");
      assert.ok(names.includes(`${"d/".repeat(1000)}f1000`), "and a file half way down");
      assert.ok(names.includes("d/d/side/"), "and the side directory, after the walk came back up");
      assert.ok(names.includes("bin/busybox"), "and the image's files");
      assert.equal(
        names.filter((name) => /^(d\/)+$/.test(name)).length,
        depth,
        "every level's directory once",
      );
      assert.equal(await gnuTar(["-xOf", tarPath, deepFile]), "at the bottom\n");
      assert.deepEqual(mountLinesUnder(roots.dir), [], "export left a mount");

      await denopodOk(roots, ["rm", "deep"]);
      assert.equal((await denopodOk(roots, ["ps", "-aq"])).trim().split("\n").length, 1);
    }),
);

Deno.test(
  "treeSize and writeTree give the same answers with few directory descriptors as with many",
  () =>
    withTempDir("denopod-walk-", async (dir) => {
      // a tree with branches at several depths, so the walk goes up and down past the cap
      const tree = join(dir, "tree");
      Deno.mkdirSync(tree);
      for (const branch of ["a", "b", "c"]) {
        let path = join(tree, branch);
        for (let level = 0; level < 9; level++) {
          Deno.mkdirSync(path, { recursive: true });
          Deno.writeTextFileSync(join(path, `file${level}`), branch.repeat(level + 1));
          Deno.symlinkSync(`file${level}`, join(path, `link${level}`));
          if (level % 3 === 0) Deno.mkdirSync(join(path, `empty${level}`));
          path = join(path, `sub${level % 2}`);
        }
      }
      Deno.linkSync(join(tree, "a", "file0"), join(tree, "b", "hard"));
      const expected = await duApparent(tree);
      const archive = (maxOpenDirectories?: number) => {
        const chunks: Uint8Array[] = [];
        const writer = new TarWriter((chunk) => chunks.push(chunk.slice()));
        writeTree(tree, writer, { maxOpenDirectories });
        writer.finish();
        return new Uint8Array(chunks.flatMap((chunk) => [...chunk]));
      };
      const reference = archive();
      for (const maxOpen of [1, 2, 3, 5]) {
        assert.equal(treeSize(tree, { maxOpenDirectories: maxOpen }), expected, `cap ${maxOpen}`);
        assert.deepEqual(archive(maxOpen), reference, `same archive with cap ${maxOpen}`);
      }
      assert.equal(treeSize(tree), expected);
    }),
);

Deno.test("DirectoryChain refuses to come back up into a directory replaced meanwhile", () =>
  withTempDir("denopod-chain-", async (dir) => {
    await Deno.mkdir(join(dir, "a/b/c"), { recursive: true });
    const c = libc();
    const { chain } = DirectoryChain.open(c, dir, 1);
    try {
      chain.enter("a");
      chain.enter("b");
      assert.deepEqual(chain.enter("c").entries, []);
      assert.equal(chain.depth, 3);
      chain.leave(); // back in b, which the cap of one open directory had closed: reopened
      assert.equal(c.lstat("c", chain.fd()).type, "dir");
      // `a` is swapped for a look-alike while only `b` is open
      await Deno.rename(join(dir, "a"), join(dir, "old-a"));
      await Deno.mkdir(join(dir, "a/b/c"), { recursive: true });
      chain.leave(); // back in a: closed, and no longer the directory the walk went into
      assert.throws(() => chain.fd(), DirectoryChangedError);
    } finally {
      chain.close();
    }
  }));
