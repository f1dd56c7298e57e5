/**
 * Fixtures for the tar tests: running host tools (GNU tar, gzip, zstd, du), a sandbox that proves
 * an extraction wrote nothing outside its layer directory, and tree snapshots to compare.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { libc } from "../../lib/sys/libc.ts";

/** Runs a command, fails the test unless it exits 0, and returns its stdout. */
export async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(
    out.code,
    0,
    `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
  );
  return text;
}

/** `sha256:<hex>` of a file's bytes, as `sha256sum` prints it. */
export async function sha256File(path: string): Promise<string> {
  const line = await run("sha256sum", [path]);
  return `sha256:${line.split(" ")[0]}`;
}

/** `sha256:<hex>` of bytes. */
export function sha256Bytes(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A layer directory inside a parent of its own, plus an outside directory holding a canary. */
export interface Sandbox {
  /** The parent of `dest`; after the test it must hold nothing but `dest`. */
  parent: string;
  /** The fresh, empty layer directory to extract into. */
  dest: string;
  /** A directory outside the sandbox that hostile archives aim at. */
  outside: string;
  /** A file in `outside` whose content must not change. */
  canary: string;
}

const CANARY_TEXT = "canary: untouched\n";

/**
 * Runs `fn` with a fresh sandbox, then asserts that nothing was written outside `dest`: the parent
 * holds only `dest`, `outside` holds only the unchanged canary, and `/etc/passwd` is intact.
 */
export async function withSandbox(fn: (sandbox: Sandbox) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "denopod-tar-" });
  const outside = await Deno.makeTempDir({ prefix: "denopod-outside-" });
  const passwdBefore = await Deno.readFile("/etc/passwd");
  const passwdInfo = await Deno.lstat("/etc/passwd");
  try {
    const dest = `${parent}/dest`;
    await Deno.mkdir(dest);
    const canary = `${outside}/canary`;
    await Deno.writeTextFile(canary, CANARY_TEXT);
    await fn({ parent, dest, outside, canary });
    assert.deepEqual(await names(parent), ["dest"], "something was written next to dest");
    assert.deepEqual(await names(outside), ["canary"], "something was written outside dest");
    assert.equal(await Deno.readTextFile(canary), CANARY_TEXT);
    assert.deepEqual(await Deno.readFile("/etc/passwd"), passwdBefore);
    assert.equal((await Deno.lstat("/etc/passwd")).nlink, passwdInfo.nlink);
  } finally {
    await Deno.remove(parent, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
}

/** The sorted names in a directory. */
export async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/** What a test compares about one path of a tree. */
export interface NodeSnapshot {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  content?: string;
  target?: string;
  rdev?: number;
  xattrs: Record<string, string>;
}

/**
 * Snapshots every path below `root` (sorted, root excluded): type, mode, owner, size (0 for
 * directories, whose size depends on the filesystem's history), whole-second mtime, sha256 of file
 * content, symlink target, device number, and `user.*` / `trusted.overlay.*` xattrs (hex).
 */
export function snapshotTree(root: string): Record<string, NodeSnapshot> {
  const out: Record<string, NodeSnapshot> = {};
  const walk = (dir: string, prefix: string) => {
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const name of entries) {
      const path = `${dir}/${name}`;
      const rel = prefix + name;
      const info = Deno.lstatSync(path);
      const type = info.isFile
        ? "file"
        : info.isDirectory
        ? "dir"
        : info.isSymlink
        ? "symlink"
        : info.isFifo
        ? "fifo"
        : info.isCharDevice
        ? "char"
        : info.isBlockDevice
        ? "block"
        : "other";
      const xattrs: Record<string, string> = {};
      for (const key of libc().llistxattr(path)) {
        if (!key.startsWith("user.") && !key.startsWith("trusted.overlay.")) continue;
        xattrs[key] = toHex(libc().lgetxattr(path, key) ?? new Uint8Array());
      }
      out[rel] = {
        type,
        mode: (info.mode ?? 0) & 0o7777,
        uid: info.uid ?? -1,
        gid: info.gid ?? -1,
        size: info.isDirectory ? 0 : info.size,
        mtime: Math.floor((info.mtime?.getTime() ?? 0) / 1000),
        content: info.isFile
          ? createHash("sha256").update(Deno.readFileSync(path)).digest("hex")
          : undefined,
        target: info.isSymlink ? Deno.readLinkSync(path) : undefined,
        rdev: info.isCharDevice || info.isBlockDevice ? info.rdev ?? 0 : undefined,
        xattrs,
      };
      if (info.isDirectory) walk(path, rel + "/");
    }
  };
  walk(root, "");
  return out;
}

/** Hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sets a file's mtime (and atime) without following symlinks. */
export function setMtime(path: string, seconds: number): void {
  libc().lutimes(path, seconds, seconds);
}

/** Name parts longer than ustar's 100-byte name field, together over its 256-byte limit. */
export const LONG_DIR = "d".repeat(120);
/** See {@linkcode LONG_DIR}. */
export const LONG_FILE = "f".repeat(140);
/** A binary xattr value (not valid UTF-8), as `security.capability` values are. */
export const BINARY_XATTR = new Uint8Array([0x01, 0xff, 0x00, 0x41, 0xc3]);

/**
 * Fills `root` with one of everything a layer holds: files with owners 1234 and 3000000, a
 * setuid file, setgid and sticky directories, a hard link, relative, absolute-dangling and long
 * symlinks, a FIFO, a char device 1:3, an empty file, a non-ASCII name, a path over 256 bytes, a
 * binary `user.x` xattr, and distinct mtimes on everything (directories last). Needs root.
 */
export function buildSampleTree(root: string): void {
  const c = libc();
  const file = (rel: string, text: string, mode: number, uid = 0, gid = 0) => {
    Deno.writeTextFileSync(`${root}/${rel}`, text);
    Deno.chownSync(`${root}/${rel}`, uid, gid);
    Deno.chmodSync(`${root}/${rel}`, mode);
  };
  const dir = (rel: string, mode: number, uid = 0, gid = 0) => {
    Deno.mkdirSync(`${root}/${rel}`);
    Deno.chownSync(`${root}/${rel}`, uid, gid);
    Deno.chmodSync(`${root}/${rel}`, mode);
  };
  dir("dir", 0o750, 1234, 1234);
  file("dir/file.txt", "hello\n", 0o640, 1234, 1234);
  c.lsetxattr(`${root}/dir/file.txt`, "user.x", BINARY_XATTR);
  Deno.linkSync(`${root}/dir/file.txt`, `${root}/dir/hard`);
  Deno.symlinkSync("dir/file.txt", `${root}/sym`);
  Deno.symlinkSync("/etc/nonexistent/target", `${root}/abs-dangling`);
  Deno.symlinkSync("t".repeat(150), `${root}/longlink`);
  file("suid", "#!/bin/sh\n", 0o4755);
  file("bigid", "big ids\n", 0o600, 3_000_000, 3_000_001);
  file("empty", "", 0o644);
  file("\u00fcn\u00efc\u00f6d\u00e9.txt", "unicode\n", 0o644);
  dir("shared", 0o2775, 0, 1234);
  dir("tmp", 0o1777);
  c.mknod(`${root}/fifo`, 0o010000 | 0o620, 0, 0);
  Deno.chmodSync(`${root}/fifo`, 0o620);
  c.mknod(`${root}/null`, 0o020000 | 0o666, 1, 3);
  Deno.chmodSync(`${root}/null`, 0o666);
  dir("long", 0o755);
  dir(`long/${LONG_DIR}`, 0o755);
  file(`long/${LONG_DIR}/${LONG_FILE}`, "long\n", 0o644);
  let t = 1_400_000_000;
  for (
    const rel of [
      "dir/file.txt",
      "sym",
      "abs-dangling",
      "longlink",
      "suid",
      "bigid",
      "empty",
      "\u00fcn\u00efc\u00f6d\u00e9.txt",
      "fifo",
      "null",
      `long/${LONG_DIR}/${LONG_FILE}`,
    ]
  ) setMtime(`${root}/${rel}`, t += 1000);
  for (const rel of [`long/${LONG_DIR}`, "long", "dir", "shared", "tmp"]) {
    setMtime(`${root}/${rel}`, t += 1000);
  }
}
