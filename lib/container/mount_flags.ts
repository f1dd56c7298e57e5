/**
 * `-v SRC:DST[:OPTS]` and `--mount type=bind|tmpfs|volume,...` values, checked with podman
 * 4.3.1's words and turned into bind/volume specs and tmpfs specs. A source that is not an
 * absolute path names a volume (`--root/volumes/NAME/_data`).
 *
 * @example
 * ```ts
 * parseVolume("/srv:/data:ro,nodev");   // { source: "/srv", destination: "/data", readonly: true, options: ["nodev"] }
 * parseMount("type=tmpfs,dst=/scratch,tmpfs-size=1m"); // { kind: "tmpfs", tmpfs: { destination: "/scratch", options: ["size=1m"] } }
 * ```
 * @module
 */
import { isAbsolute } from "../util/path.ts";
import { InvalidArgError } from "../errors.ts";
import { assertNoControlChars } from "./rundir/validate.ts";
import { assertContainerPath, type TmpfsSpec, validateTmpfsOptions } from "./confinement.ts";
import type { VolumeSpec } from "./config.ts";
import { VOLUME_NAME } from "../volume/store.ts";

/** Checks a volume name; podman's words. */
export function validateVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgError(
      `creating named volume "${name}": running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument`,
    );
  }
}

const PASSED_OPTIONS = new Set([
  "nodev",
  "dev",
  "noexec",
  "exec",
  "nosuid",
  "suid",
  "bind",
  "rbind",
  "private",
  "rprivate",
  "shared",
  "rshared",
  "slave",
  "rslave",
]);

/** Applies `-v`/`--mount` options to a volume spec, refusing unknown and conflicting ones. */
function applyOptions(volume: VolumeSpec, options: string[], unknown: (o: string) => never): void {
  const rwro = options.filter((o) => o === "ro" || o === "rw");
  if (rwro.length > 1) {
    throw new InvalidArgError(
      `invalid options "${rwro.join(", ")}", can only specify 1 'rw' or 'ro' option`,
    );
  }
  const labels = options.filter((o) => o === "z" || o === "Z");
  if (labels.length > 1) {
    throw new InvalidArgError(
      `invalid options "${labels.join(", ")}", can only specify 1 'z', 'Z', or 'O' option`,
    );
  }
  const extra: string[] = [];
  for (const option of options) {
    if (option === "ro") volume.readonly = true;
    else if (option === "rw") volume.readonly = false;
    else if (option === "z" || option === "Z") volume.relabel = option;
    else if (option === "U") volume.chown = true;
    else if (PASSED_OPTIONS.has(option)) extra.push(option);
    else unknown(option);
  }
  if (extra.length > 0) volume.options = extra;
}

/** Parses `-v SRC:DST[:OPTS]`; a relative source names a volume. */
export function parseVolume(spec: string): VolumeSpec {
  assertNoControlChars("--volume", spec);
  const parts = spec.split(":");
  if (parts.length === 1) {
    // `-v /path`: an anonymous volume, named at create
    assertContainerPath(spec);
    return { source: "", destination: spec, readonly: false, anonymous: true };
  }
  if (parts.length > 3) {
    throw new InvalidArgError(`invalid volume "${spec}": must be SRC:DST[:OPTIONS]`);
  }
  const [source, destination, opts = ""] = parts;
  assertContainerPath(destination);
  const volume: VolumeSpec = { source, destination, readonly: false };
  if (!isAbsolute(source)) {
    validateVolumeName(source);
    volume.volumeName = source;
  }
  const options = opts === "" ? [] : opts.split(",");
  if (options.includes("O")) return overlayVolume(spec, volume, options);
  applyOptions(volume, options, (o) => {
    throw new InvalidArgError(`invalid option type "${o}"`);
  });
  return volume;
}

/**
 * `-v /HOST:/DST:O`: the host directory as the lower layer of an overlay whose changes are the
 * container's own and are dropped when it stops (`overlay_volumes.ts`). Host paths only, and
 * `O` alone: named volumes and other options with it are refused.
 */
function overlayVolume(spec: string, volume: VolumeSpec, options: string[]): VolumeSpec {
  if (options.length > 1) {
    throw new InvalidArgError(
      `invalid volume "${spec}": the O option cannot be combined with other options`,
    );
  }
  if (volume.volumeName !== undefined) {
    throw new InvalidArgError(
      `invalid volume "${spec}": the O option needs an absolute host path, not a named volume`,
    );
  }
  // overlay's option string separates with ',' and ':'
  if (volume.source.includes(",")) {
    throw new InvalidArgError(`invalid volume "${spec}": an O source must not contain ','`);
  }
  return { ...volume, overlay: true };
}

/** What one `--mount` gave. */
export type MountFlag = { kind: "bind"; volume: VolumeSpec } | { kind: "tmpfs"; tmpfs: TmpfsSpec };

const MOUNT_FORMAT =
  "incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]";

/** Parses `--mount type=bind|tmpfs|volume,src=,dst=,...`. */
export function parseMount(text: string): MountFlag {
  assertNoControlChars("--mount", text);
  const fields = text.split(",");
  if (!fields.some((f) => f.startsWith("type="))) throw new InvalidArgError(MOUNT_FORMAT);
  let type: string | undefined;
  let source: string | undefined;
  let destination: string | undefined;
  const options: string[] = [];
  const tmpfsOptions: string[] = [];
  for (const field of fields) {
    const eq = field.indexOf("=");
    const key = eq < 0 ? field : field.slice(0, eq);
    const value = eq < 0 ? "" : field.slice(eq + 1);
    const invalid = (): never => {
      throw new InvalidArgError(`${key}: invalid mount option`);
    };
    switch (key) {
      case "type":
        type = value;
        break;
      case "src":
      case "source":
        source = value;
        break;
      case "dst":
      case "destination":
      case "target":
        destination = value;
        break;
      case "ro":
      case "readonly":
        if (eq < 0 || value === "true" || value === "1") options.push("ro");
        else if (value === "false" || value === "0") options.push("rw");
        else invalid();
        break;
      case "bind-propagation":
        if (!PASSED_OPTIONS.has(value) || ["bind", "rbind"].includes(value)) invalid();
        options.push(value);
        break;
      case "bind-nonrecursive":
        options.push("bind");
        break;
      case "relabel":
        if (value === "shared") options.push("z");
        else if (value === "private") options.push("Z");
        else invalid();
        break;
      case "tmpfs-size":
        tmpfsOptions.push(`size=${value}`);
        break;
      case "tmpfs-mode":
        tmpfsOptions.push(`mode=${value}`);
        break;
      default:
        if (eq < 0 && PASSED_OPTIONS.has(key)) options.push(key);
        else invalid();
    }
  }
  if (type !== "bind" && type !== "tmpfs" && type !== "volume") {
    throw new InvalidArgError(`invalid filesystem type "${type}"`);
  }
  if (destination === undefined || destination === "") {
    throw new InvalidArgError("must set volume destination");
  }
  assertContainerPath(destination);
  if (type === "tmpfs") {
    if (source !== undefined) {
      throw new InvalidArgError("source is not supported with tmpfs mounts");
    }
    const all = [...options.map((o) => o === "z" || o === "Z" ? "" : o), ...tmpfsOptions]
      .filter((o) => o !== "");
    validateTmpfsOptions(all);
    return { kind: "tmpfs", tmpfs: { destination, options: all } };
  }
  const volume: VolumeSpec = { source: source ?? "", destination, readonly: false };
  if (type === "bind") {
    // podman stats the destination's name when no source is given
    volume.source = source ?? destination;
    if (!isAbsolute(volume.source)) {
      throw new InvalidArgError(`invalid source path "${volume.source}", must be absolute`);
    }
  } else {
    if (source === undefined || source === "") {
      throw new InvalidArgError(
        "--mount type=volume: anonymous volumes are not supported; give src=NAME",
      );
    }
    validateVolumeName(source);
    volume.volumeName = source;
  }
  applyOptions(volume, options, (o) => {
    throw new InvalidArgError(`${o}: invalid mount option`);
  });
  return { kind: "bind", volume };
}
