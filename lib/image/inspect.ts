/**
 * The shapes of an image users script against: `inspect`'s JSON object and the row `images`
 * prints, podman's field names. Pure mappings; nothing prints.
 * @module
 */
import type { RuntimeContext } from "../container/context.ts";
import type { ImageRecord } from "../storage/images.ts";
import { humanSize, timeAgo } from "../util/humanize.ts";

/** The `inspect` object of an image. */
export function imageInspect(ctx: RuntimeContext, image: ImageRecord): Record<string, unknown> {
  const config = image.config;
  return {
    Id: image.id,
    Digest: `sha256:${image.id}`,
    RepoTags: image.names,
    RepoDigests: [...new Set(image.names.map((n) => n.replace(/:[^:/]*$/, "")))].map((repo) =>
      `${repo}@sha256:${image.id}`
    ),
    Parent: "",
    Comment: config.history?.at(-1)?.comment ?? "",
    Created: config.created ?? image.created,
    Config: config.config ?? {},
    Version: "",
    Author: config.author ?? "",
    Architecture: config.architecture,
    Os: config.os,
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: {
      Name: "overlay",
      Data: {
        ...(image.layers.length > 1
          ? {
            LowerDir: image.layers.slice(0, -1).reverse().map((id) => ctx.paths.layerDiff(id))
              .join(":"),
          }
          : {}),
        UpperDir: ctx.paths.layerDiff(image.layers.at(-1) ?? ""),
      },
    },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Labels: config.config?.Labels ?? null,
    Annotations: {},
    ManifestType: "application/vnd.oci.image.manifest.v1+json",
    User: config.config?.User ?? "",
    History: config.history ?? [],
    NamesHistory: image.names,
  };
}

/** One `images` row per name (or one `<none>` row), the fields `--format` can name. */
export interface ImageRow {
  ID: string;
  Id: string;
  Repository: string;
  Tag: string;
  Names: string[];
  Digest: string;
  Created: number;
  CreatedAt: string;
  CreatedSince: string;
  Size: string;
  VirtualSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
  ReadOnly: boolean;
  Dangling: boolean;
}

/** Builds the `images` rows of an image: one per name, or one `<none>` row when untagged. */
export function imageRows(
  ctx: RuntimeContext,
  image: ImageRecord,
  options: { noTrunc: boolean; now: Date },
): ImageRow[] {
  const created = new Date(image.config.created ?? image.created);
  const base = {
    ID: options.noTrunc ? `sha256:${image.id}` : image.id.slice(0, 12),
    Id: image.id,
    Names: image.names,
    Digest: `sha256:${image.id}`,
    Created: Math.floor(created.getTime() / 1000),
    CreatedAt: created.toISOString(),
    CreatedSince: timeAgo(created, options.now),
    Size: humanSize(image.size),
    VirtualSize: image.size,
    Labels: image.config.config?.Labels ?? null,
    Containers: ctx.containers.usersOfImage(image.id).length,
    ReadOnly: false,
    Dangling: image.names.length === 0,
  };
  if (image.names.length === 0) return [{ ...base, Repository: "<none>", Tag: "<none>" }];
  return image.names.map((name) => {
    const colon = name.lastIndexOf(":");
    const slash = name.lastIndexOf("/");
    const tagged = colon > slash;
    return {
      ...base,
      Repository: tagged ? name.slice(0, colon) : name,
      Tag: tagged ? name.slice(colon + 1) : "<none>",
    };
  });
}
