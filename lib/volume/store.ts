/**
 * Named volumes on disk: `--root/volumes/NAME/` holds `volume.json` (name, labels, options,
 * creation time, whether the image's content still has to be copied in) and `_data` (what the
 * container sees). Creating is a `mkdir` of the volume's directory, so of two `volume create X` at
 * once one wins; the metadata is written to a temporary file and renamed, so a reader sees a whole
 * volume or none. Whether a volume is in use is the caller's question (the containers' configs).
 *
 * @example
 * ```ts
 * const store = new VolumeStore("/var/lib/denopod/volumes");
 * store.create("data", { labels: { a: "b" } });
 * store.list().map((v) => v.name); // ["data"]
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { parseVolumeOptions } from "./options.ts";

/** A volume name, as podman checks it. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** No volume has the name. `volume rm` exits 1 for it, as podman. */
export class NoSuchVolumeError extends DenopodError {
  override exitCode = 1;
  constructor(name: string, options?: ErrorOptions) {
    super(`no volume with name "${name}" found: no such volume`, options);
  }
}

/** A volume with the name exists already. */
export class VolumeExistsError extends DenopodError {
  constructor(name: string) {
    super(`volume with name ${name} already exists: volume already exists`);
  }
}

/** The volume is used by containers. `volume rm` exits 2 for it, as podman. */
export class VolumeInUseError extends DenopodError {
  override exitCode = 2;
  constructor(name: string, containerIds: string[]) {
    super(
      `volume ${name} is being used by the following container(s): ${
        containerIds.join(", ")
      }: volume is being used`,
    );
  }
}

/** What `volume.json` holds. */
export interface VolumeRecord {
  name: string;
  driver: "local";
  labels: Record<string, string>;
  options: Record<string, string>;
  /** ISO-8601 creation time. */
  createdAt: string;
  /** Made by `-v /path` without a name; `rm -v` removes it with its container. */
  anonymous: boolean;
  /** The image's content at the mount point is still to be copied in (first use). */
  needsCopyUp: boolean;
}

/** Options of {@linkcode VolumeStore.create}. */
export interface CreateVolumeOptions {
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

/** The volumes under one directory; see the module doc. */
export class VolumeStore {
  constructor(readonly dir: string) {}

  /** The volume's directory. */
  volumeDir(name: string): string {
    return join(this.dir, name);
  }

  /** What the container sees: `NAME/_data`. */
  dataDir(name: string): string {
    return join(this.dir, name, "_data");
  }

  /** Creates the volume; throws {@linkcode VolumeExistsError} when the name is taken. */
  create(name: string, options: CreateVolumeOptions = {}): VolumeRecord {
    if (!VOLUME_NAME.test(name)) {
      throw new InvalidArgError(
        "running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument",
      );
    }
    // checked before anything is written
    const parsed = parseVolumeOptions(options.options ?? {});
    Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    try {
      Deno.mkdirSync(this.volumeDir(name), { mode: 0o700 });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) throw new VolumeExistsError(name);
      throw err;
    }
    const record: VolumeRecord = {
      name,
      driver: "local",
      labels: options.labels ?? {},
      options: parsed.options,
      createdAt: new Date().toISOString(),
      anonymous: options.anonymous ?? false,
      needsCopyUp: true,
    };
    try {
      Deno.mkdirSync(this.dataDir(name), { mode: 0o755 });
      // `o=uid=,gid=`: the data belongs to them from the start (podman chowns at create)
      if (parsed.uid !== undefined || parsed.gid !== undefined) {
        Deno.chownSync(this.dataDir(name), parsed.uid ?? null, parsed.gid ?? null);
      }
      this.save(record);
    } catch (err) {
      Deno.removeSync(this.volumeDir(name), { recursive: true });
      throw err;
    }
    return record;
  }

  /** Writes the volume's metadata (temporary file, then rename). */
  save(record: VolumeRecord): void {
    const path = join(this.volumeDir(record.name), "volume.json");
    const tmp = `${path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    Deno.renameSync(tmp, path);
  }

  /** The volume, or undefined. */
  get(name: string): VolumeRecord | undefined {
    if (!VOLUME_NAME.test(name)) return undefined;
    try {
      return JSON.parse(Deno.readTextFileSync(join(this.volumeDir(name), "volume.json")));
    } catch {
      return undefined;
    }
  }

  /** The volume; throws {@linkcode NoSuchVolumeError}. */
  resolve(name: string): VolumeRecord {
    const record = this.get(name);
    if (!record) throw new NoSuchVolumeError(name);
    return record;
  }

  /** Every volume, by name. */
  list(): VolumeRecord[] {
    const out: VolumeRecord[] = [];
    try {
      for (const entry of Deno.readDirSync(this.dir)) {
        const record = entry.isDirectory ? this.get(entry.name) : undefined;
        if (record) out.push(record);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Deletes the volume and its data (the caller checked it is unused). */
  async remove(name: string): Promise<void> {
    this.resolve(name);
    // the metadata goes first: a crash mid-way leaves no half volume that lists
    await Deno.remove(join(this.volumeDir(name), "volume.json"));
    await Deno.remove(this.volumeDir(name), { recursive: true });
  }
}
