/**
 * The shape of an image users script against: `inspect`'s JSON object, podman's field names
 * (`images`' rows are in `list.ts`). A pure mapping; nothing prints.
 * @module
 */
import type { RuntimeContext } from "../container/context.ts";
import type { ImageRecord } from "../storage/images.ts";

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
