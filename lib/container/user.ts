/**
 * Resolving `--user` (or the image's `User`) against the container's own `/etc/passwd` and
 * `/etc/group`. Those files are read inside the rootfs (every symlink resolved within it), opened
 * without following a symlink or blocking, must be regular files, and are size-capped: a hostile
 * image cannot make us read a host file, or hang us on a FIFO.
 *
 * @example
 * ```ts
 * resolveUser("/var/lib/denopod/layers/ID/merged", "nobody"); // { uid: 65534, gid: 65534, ... }
 * ```
 * @module
 */
import { InvalidArgError, SyscallError } from "../errors.ts";
import { resolveInRoot } from "../storage/tar/resolve.ts";
import { libc } from "../sys/libc.ts";
import type { ProcessUser } from "./files.ts";

/** The most a file read from a container's rootfs may hold. */
export const MAX_ROOTFS_FILE_BYTES = 4 * 1024 * 1024;

/** A file in a container's rootfs is there but cannot be used: not a regular file, or too big. */
export class RootfsFileError extends InvalidArgError {}

const FILE_KINDS: Record<string, string> = {
  dir: "a directory",
  symlink: "a symlink",
  char: "a character device",
  block: "a block device",
  fifo: "a FIFO",
  socket: "a socket",
};

/**
 * Reads the text file `path` inside `rootfs` (every symlink on the way resolved within the root);
 * undefined when it is absent or cannot be resolved inside the root. The file is opened without
 * following a symlink and without blocking (a FIFO cannot hang us), and `fstat`ed on that
 * descriptor: anything but a regular file of at most {@linkcode MAX_ROOTFS_FILE_BYTES} bytes
 * throws {@linkcode RootfsFileError}.
 */
export function readRootfsFile(rootfs: string, path: string): string | undefined {
  let hostPath: string;
  try {
    hostPath = resolveInRoot(rootfs, path, { followFinal: true }).path;
  } catch {
    return undefined;
  }
  const c = libc();
  let fd: number;
  try {
    fd = c.openRead(hostPath, true);
  } catch (err) {
    if (err instanceof SyscallError && (err.code === "ENOENT" || err.code === "ENOTDIR")) {
      return undefined;
    }
    if (err instanceof SyscallError && err.code === "ELOOP") {
      throw new RootfsFileError(`${path} in the container is a symlink that changed while read`);
    }
    throw err;
  }
  try {
    const st = c.fstat(fd);
    if (st.type !== "file") {
      throw new RootfsFileError(
        `${path} in the container is ${FILE_KINDS[st.type] ?? st.type}, not a regular file`,
      );
    }
    if (st.size > MAX_ROOTFS_FILE_BYTES) {
      throw new RootfsFileError(
        `${path} in the container is larger than ${MAX_ROOTFS_FILE_BYTES} bytes`,
      );
    }
    // One byte more than allowed, to notice a file that grew past the cap since the fstat.
    const buf = new Uint8Array(Math.min(st.size, MAX_ROOTFS_FILE_BYTES) + 1);
    let got = 0;
    while (got < buf.length) {
      const n = c.read(fd, buf.subarray(got), path);
      if (n === 0) break;
      got += n;
    }
    if (got > MAX_ROOTFS_FILE_BYTES) {
      throw new RootfsFileError(
        `${path} in the container is larger than ${MAX_ROOTFS_FILE_BYTES} bytes`,
      );
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } finally {
    c.close(fd);
  }
}

interface Entry {
  name: string;
  id: number;
  gid: number;
  members: string[];
}

function parseColonFile(text: string | undefined, kind: "passwd" | "group"): Entry[] {
  const entries: Entry[] = [];
  for (const line of (text ?? "").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    entries.push({
      name: f[0],
      id: Number(f[2]),
      gid: kind === "passwd" ? Number(f[3]) : Number(f[2]),
      members: kind === "group" ? f[3].split(",").filter((m) => m !== "") : [],
    });
  }
  return entries;
}

/**
 * Resolves `user[:group]` (names or numbers) inside `rootfs` to numeric IDs. Throws
 * {@linkcode RootfsFileError} when the rootfs's `/etc/passwd` or `/etc/group` is there but not a
 * usable regular file, whatever the user: runc reads them too when it starts the container, and
 * a FIFO would hang it.
 */
export function resolveUser(rootfs: string, spec: string): ProcessUser {
  if (spec === "") spec = "0";
  const [userPart, groupPart] = spec.split(":", 2);
  // Refused even for numbers: runc's init reads both files too, and would hang on a FIFO.
  const passwd = parseColonFile(readRootfsFile(rootfs, "/etc/passwd"), "passwd");
  const groups = parseColonFile(readRootfsFile(rootfs, "/etc/group"), "group");
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.id === uid);
    if (entry) {
      gid = entry.gid;
      name = entry.name;
    }
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) {
      throw new InvalidArgError(
        `unable to find user ${userPart}: no matching entries in passwd file`,
      );
    }
    uid = entry.id;
    gid = entry.gid;
    name = entry.name;
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) {
      gid = Number(groupPart);
    } else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) {
        throw new InvalidArgError(
          `unable to find group ${groupPart}: no matching entries in group file`,
        );
      }
      gid = group.id;
    }
  }
  const additionalGids = name === undefined
    ? []
    : groups.filter((g) => g.members.includes(name) && g.id !== gid).map((g) => g.id);
  return { uid, gid, additionalGids };
}
