/**
 * The image store: rows in `images` (the config JSON as stored, its layer IDs) and
 * `image_names` (every `name:tag` pointing at an image). An image's ID is the sha256 of its config
 * bytes; its size is the sum of its layers' kept sizes, never a walk of the disk.
 *
 * @example
 * ```ts
 * const image = images.resolve("busybox");   // localhost/busybox:latest, or an ID prefix
 * ```
 * @module
 */
import { AmbiguousNameError, NameInUseError, NoSuchImageError } from "../errors.ts";
import type { StateDb } from "../state/db.ts";
import type { ImageConfig } from "./archive/image_config.ts";
import { parseImageReference } from "../util/names.ts";

/** An image as stored. */
export interface ImageRecord {
  /** sha256 hex of the config bytes. */
  id: string;
  /** `localhost/name:tag` references, in the order they were given. */
  names: string[];
  /** The config JSON exactly as stored (its sha256 is the ID). */
  configJson: string;
  /** The parsed config. */
  config: ImageConfig;
  /** Layer IDs (diff ID hex), bottom first. */
  layers: string[];
  /** ISO-8601 time the image was created (from its config, else when stored). */
  created: string;
  /** Sum of the layers' sizes in bytes. */
  size: number;
}

interface ImageRow {
  id: string;
  config: string;
  layers: string;
  created: string;
  size: number | null;
}

const SELECT_IMAGES = `SELECT images.id, images.config, images.layers, images.created,
  (SELECT SUM(layers.size) FROM json_each(images.layers) JOIN layers ON layers.id = json_each.value) AS size
  FROM images`;

/** Turns a user's image reference into the name it is stored under (`busybox` → `localhost/busybox:latest`). */
export function normaliseImageName(reference: string): string {
  const ref = parseImageReference(reference);
  return `${ref.name}:${ref.tag}`;
}

/** Reads and writes image rows; see the module doc. */
export class ImageStore {
  constructor(private readonly db: StateDb) {}

  #fromRow(row: ImageRow): ImageRecord {
    const names = this.db.all<{ name: string }>(
      "SELECT name FROM image_names WHERE image_id = ? ORDER BY position",
      row.id,
    ).map((r) => r.name);
    return {
      id: row.id,
      names,
      configJson: row.config,
      config: JSON.parse(row.config) as ImageConfig,
      layers: JSON.parse(row.layers) as string[],
      created: row.created,
      size: row.size ?? 0,
    };
  }

  /** Every image, newest first. */
  list(): ImageRecord[] {
    return this.db.all<ImageRow>(`${SELECT_IMAGES} ORDER BY images.created DESC`)
      .map((row) => this.#fromRow(row));
  }

  /** The image with exactly this ID, or undefined. */
  get(id: string): ImageRecord | undefined {
    const row = this.db.get<ImageRow>(`${SELECT_IMAGES} WHERE images.id = ?`, id);
    return row && this.#fromRow(row);
  }

  /**
   * Finds an image by name (`busybox`, `localhost/busybox:1`), full ID, `sha256:` ID or ID prefix;
   * throws NoSuchImageError, or AmbiguousNameError when a prefix matches several.
   */
  resolve(reference: string): ImageRecord {
    const found = this.find(reference);
    if (!found) throw new NoSuchImageError(reference);
    return found;
  }

  /** As {@linkcode resolve}, but returns undefined when nothing matches. */
  find(reference: string): ImageRecord | undefined {
    const bare = reference.replace(/^sha256:/, "");
    if (/^[0-9a-f]{64}$/.test(bare)) {
      const exact = this.get(bare);
      if (exact) return exact;
    }
    let byName: { image_id: string } | undefined;
    try {
      byName = this.db.get<{ image_id: string }>(
        "SELECT image_id FROM image_names WHERE name = ?",
        normaliseImageName(reference),
      );
    } catch {
      byName = undefined; // not a valid reference: may still be an ID prefix
    }
    if (!byName && !reference.includes("/")) {
      // podman also finds `fixture:2` stored as `example.com/fixture:2` when only one matches
      const suffix = `/${reference.includes(":") ? reference : `${reference}:latest`}`;
      const rows = this.db.all<{ image_id: string }>(
        "SELECT DISTINCT image_id FROM image_names WHERE substr(name, -length(?)) = ?",
        suffix,
        suffix,
      );
      if (rows.length === 1) byName = rows[0];
    }
    if (byName) return this.get(byName.image_id);
    if (/^[0-9a-f]{1,64}$/.test(bare)) {
      const rows = this.db.all<{ id: string }>(
        "SELECT id FROM images WHERE substr(id, 1, length(?)) = ? LIMIT 2",
        bare,
        bare,
      );
      if (rows.length > 1) {
        throw new AmbiguousNameError(`image ID prefix "${bare}" matches more than one image`);
      }
      if (rows.length === 1) return this.get(rows[0].id);
    }
    return undefined;
  }

  /**
   * Stores an image (or finds the identical one) and points `names` at it, taking each name away
   * from any other image, as podman does. Returns the stored record.
   */
  put(
    id: string,
    configJson: string,
    layers: string[],
    created: string,
    names: string[],
  ): ImageRecord {
    return this.db.transaction(() => {
      this.db.run(
        "INSERT OR IGNORE INTO images (id, config, layers, created) VALUES (?, ?, ?, ?)",
        id,
        configJson,
        JSON.stringify(layers),
        created,
      );
      for (const name of names) this.addName(id, name);
      return this.get(id)!;
    });
  }

  /** Points `name` at image `id`, moving it from another image when needed. */
  addName(id: string, name: string): void {
    const position = this.db.get<{ n: number }>(
      "SELECT COALESCE(MAX(position), -1) + 1 AS n FROM image_names WHERE image_id = ?",
      id,
    )?.n ?? 0;
    this.db.run(
      "INSERT INTO image_names (name, image_id, position) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, position = excluded.position",
      name,
      id,
      position,
    );
  }

  /** Removes `name` from image `id`; throws when the image does not carry it. */
  removeName(id: string, name: string): void {
    if (this.db.run("DELETE FROM image_names WHERE image_id = ? AND name = ?", id, name) === 0) {
      throw new NoSuchImageError(name);
    }
  }

  /** Deletes the image row and its names (the caller drops unreferenced layers). */
  delete(id: string): void {
    this.db.run("DELETE FROM image_names WHERE image_id = ?", id);
    this.db.run("DELETE FROM images WHERE id = ?", id);
  }

  /** Throws NameInUseError if `name` points at an image other than `id`. */
  assertNameFree(name: string, id: string): void {
    const row = this.db.get<{ image_id: string }>(
      "SELECT image_id FROM image_names WHERE name = ?",
      name,
    );
    if (row && row.image_id !== id) throw new NameInUseError(`image name "${name}" is in use`);
  }
}
