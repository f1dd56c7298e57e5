/**
 * Resolving `--user` (or the image's `User`) against the container's own `/etc/passwd` and
 * `/etc/group`. Those files are read inside the rootfs (every symlink resolved within it), must be
 * regular files, and are size-capped: a hostile image cannot make us read a host file.
 *
 * @example
 * ```ts
 * resolveUser("/var/lib/denopod/layers/ID/merged", "nobody"); // { uid: 65534, gid: 65534, ... }
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { resolveInRoot } from "../storage/tar/resolve.ts";
import type { ProcessUser } from "./files.ts";

/** The most a file read from a container's rootfs may hold. */
export const MAX_ROOTFS_FILE_BYTES = 4 * 1024 * 1024;

/** Reads a text file inside `rootfs`; undefined when absent or not a regular file. */
export function readRootfsFile(rootfs: string, path: string): string | undefined {
  let hostPath: string;
  try {
    hostPath = resolveInRoot(rootfs, path, { followFinal: true }).path;
  } catch {
    return undefined;
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(hostPath, { read: true });
  } catch {
    return undefined;
  }
  try {
    const info = file.statSync();
    if (!info.isFile || info.size > MAX_ROOTFS_FILE_BYTES) return undefined;
    const buf = new Uint8Array(info.size);
    let got = 0;
    while (got < buf.length) {
      const n = file.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } finally {
    file.close();
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

/** Resolves `user[:group]` (names or numbers) inside `rootfs` to numeric IDs. */
export function resolveUser(rootfs: string, spec: string): ProcessUser {
  if (spec === "") spec = "0";
  const [userPart, groupPart] = spec.split(":", 2);
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
