/**
 * The local driver's `volume create -o` options, as podman 4.3 takes them: the keys `type`,
 * `device` and `o` (plus podman's other accepted keys), `o`'s `uid=`/`gid=` (the data directory
 * chowned at create, shown as `UID`/`GID`), and the mount a volume with a `type` or `device`
 * needs: mounted on `_data` when a container first uses it, unmounted after the last
 * (`lib/container/volume_mounts.ts`).
 *
 * @example
 * ```ts
 * const parsed = parseVolumeOptions({ type: "tmpfs", device: "tmpfs", o: "size=10m" });
 * volumeMountSpec(parsed.options, "/var/lib/denopod/volumes/v/_data");
 * // { type: "tmpfs", source: "tmpfs", target: ".../_data", flags: 0, data: "size=10m" }
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import type { MountSpec } from "../sys/mount.ts";
import { abi } from "../sys/abi.ts";

/** The option keys podman's local driver accepts. */
const KEYS = ["device", "o", "type", "uid", "gid", "size", "inodes", "noquota", "copy", "nocopy"];

/** Options after parsing: what `volume.json` and `inspect` keep, and the owner of `_data`. */
export interface ParsedVolumeOptions {
  options: Record<string, string>;
  uid?: number;
  gid?: number;
}

function integer(label: string, text: string | undefined): number {
  if (text === undefined || !/^-?\d+$/.test(text)) {
    throw new InvalidArgError(
      `cannot convert ${label} ${text ?? ""} to integer: strconv.Atoi: parsing ${
        JSON.stringify(text ?? "")
      }: invalid syntax`,
    );
  }
  return Number(text);
}

/** Checks and normalises `-o` options; podman's messages for what it refuses. */
export function parseVolumeOptions(raw: Record<string, string>): ParsedVolumeOptions {
  const out: ParsedVolumeOptions = { options: { ...raw } };
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key.toLowerCase())) {
      throw new InvalidArgError(`invalid mount option ${key} for driver 'local': invalid argument`);
    }
  }
  const o = raw.o;
  if (o === undefined) return out;
  const tmpfs = raw.type === "tmpfs";
  for (const option of o.split(",")) {
    const [name, value] = [
      option.split("=")[0].toLowerCase(),
      option.split("=").slice(1).join("="),
    ];
    if (name === "uid") {
      out.uid = integer("UID", option.includes("=") ? value : undefined);
      out.options.UID = value;
    } else if (name === "gid") {
      out.gid = integer("GID", option.includes("=") ? value : undefined);
      out.options.GID = value;
    } else if ((name === "size" || name === "inodes") && !tmpfs) {
      // denopod sets no project quotas; a tmpfs takes them as mount options
      throw new InvalidArgError(
        "volume options size and inodes not supported. Filesystem does not support Project Quota",
      );
    }
  }
  return out;
}

/** True when the volume is a mount (a `type` or `device` option), not a plain directory. */
export function needsMount(options: Record<string, string>): boolean {
  return options.type !== undefined || options.device !== undefined;
}

/** The mount(2) of a volume with options onto `target` (its `_data`). */
export function volumeMountSpec(options: Record<string, string>, target: string): MountSpec {
  const ms = abi();
  const flagsOf: Record<string, number> = {
    ro: ms.MS_RDONLY,
    nosuid: ms.MS_NOSUID,
    nodev: ms.MS_NODEV,
    noexec: ms.MS_NOEXEC,
    bind: ms.MS_BIND,
    rbind: ms.MS_BIND | ms.MS_REC,
  };
  let flags = 0;
  const data: string[] = [];
  for (const option of (options.o ?? "").split(",").filter((x) => x !== "")) {
    if (option === "rw") continue;
    if (flagsOf[option] !== undefined) flags |= flagsOf[option];
    else data.push(option);
  }
  const type = options.type ?? ((flags & ms.MS_BIND) !== 0 ? "none" : "");
  return { type, source: options.device ?? type, target, flags, data: data.join(",") };
}
