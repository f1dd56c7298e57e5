/**
 * What the container's process may do: capabilities, no-new-privileges, umask, the seccomp
 * filter, host devices (`--device`), and `--privileged` (every capability, every host device,
 * no masked or read-only paths, `/sys` and the cgroup tree writable, no seccomp).
 *
 * @example
 * ```ts
 * newSpec(withSecurity(conf), withSeccomp(await loadSeccomp(...)), withDevices(devices));
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import { ALL_CAPABILITIES, type Confinement, type DeviceSpec } from "../confinement.ts";
import type { OciDevice, SpecOption } from "../spec.ts";
import type { OciSeccomp } from "./seccomp.ts";

/**
 * The capabilities in this process's bounding set (`CapBnd` in `/proc/self/status`): what
 * `--privileged` can hand on (a capability outside it makes runc fail).
 */
export function ownBoundingSet(status?: string): Set<string> {
  const text = status ?? Deno.readTextFileSync("/proc/self/status");
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text)?.[1] ?? "0";
  const mask = BigInt(`0x${hex}`);
  return new Set(ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n));
}

/** Sets the capability sets, no-new-privileges and umask; `--privileged` opens the rest. */
export function withSecurity(conf: Confinement): SpecOption {
  const bounding = conf.privileged ? ownBoundingSet() : undefined;
  return (spec) => {
    const caps = bounding
      ? conf.capabilities.filter((c) => bounding.has(c))
      : [...conf.capabilities];
    spec.process.capabilities = {
      bounding: [...caps],
      effective: [...caps],
      permitted: [...caps],
      inheritable: [],
      ambient: [],
    };
    spec.process.noNewPrivileges = conf.noNewPrivileges;
    spec.process.user.umask = conf.umask;
    if (conf.privileged) {
      spec.linux.maskedPaths = [];
      spec.linux.readonlyPaths = [];
      for (const mount of spec.mounts) {
        if (mount.type === "sysfs" || mount.type === "cgroup") {
          mount.options = mount.options.filter((o) => o !== "ro").concat("rw");
        }
      }
    }
    if (Object.keys(conf.annotations).length > 0) {
      spec.annotations = { ...spec.annotations, ...conf.annotations };
    }
  };
}

/** Sets `linux.seccomp`, or removes it for `unconfined`. */
export function withSeccomp(seccomp: OciSeccomp | undefined): SpecOption {
  return (spec) => {
    if (seccomp) spec.linux.seccomp = seccomp;
    else delete spec.linux.seccomp;
  };
}

/** Major and minor numbers of a Linux `dev_t`. */
export function splitDevNumber(rdev: number): [number, number] {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return [major, minor];
}

/** The device node `path` on the host, as the spec describes it at `destination`. */
export function hostDevice(path: string, destination = path): OciDevice {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    throw new InvalidArgError(`stat ${path}: no such file or directory`, { cause: err });
  }
  if (!info.isCharDevice && !info.isBlockDevice) {
    throw new InvalidArgError(`${path} is not a device`);
  }
  const [major, minor] = splitDevNumber(info.rdev ?? 0);
  return {
    path: destination,
    type: info.isCharDevice ? "c" : "b",
    major,
    minor,
    fileMode: (info.mode ?? 0o666) & 0o777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
  };
}

/** Devices runc gives every container anyway; `--privileged` does not add them twice. */
const RUNC_DEFAULT_DEVICES = new Set([
  "/dev/null",
  "/dev/zero",
  "/dev/full",
  "/dev/random",
  "/dev/urandom",
  "/dev/tty",
  "/dev/console",
  "/dev/ptmx",
]);

/** Every device node directly in the host's `/dev` (for `--privileged`). */
export function allHostDevices(dir = "/dev"): OciDevice[] {
  const devices: OciDevice[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (RUNC_DEFAULT_DEVICES.has(path) || entry.isDirectory || entry.isSymlink) continue;
    try {
      devices.push(hostDevice(path));
    } catch {
      // not a device node (or gone): skip
    }
  }
  return devices;
}

/**
 * Creates each `--device` in the container and allows it in the device cgroup with its
 * permissions; `privileged` gives every host device and allows all.
 */
export function withDevices(devices: readonly DeviceSpec[], privileged: boolean): SpecOption {
  const nodes = devices.map((d) => ({
    node: hostDevice(d.source, d.destination),
    perms: d.permissions,
  }));
  const hostNodes = privileged ? allHostDevices() : [];
  return (spec) => {
    const list = [...hostNodes, ...nodes.map((n) => n.node)];
    if (list.length > 0) spec.linux.devices = list;
    if (privileged) {
      spec.linux.resources.devices = [{ allow: true, access: "rwm" }];
      return;
    }
    for (const { node, perms } of nodes) {
      spec.linux.resources.devices.push({
        allow: true,
        type: node.type,
        major: node.major,
        minor: node.minor,
        access: perms,
      });
    }
  };
}
