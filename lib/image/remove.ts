/**
 * `rmi`: untag or delete an image. Naming one of several names only untags it; deleting is
 * refused while a container uses the image (with `force`, the caller removes those containers
 * first). The image rows go and unreferenced layers are set aside in one transaction, and their
 * directories deleted after it commits.
 *
 * @example
 * ```ts
 * const result = await removeImage(runtime, "busybox", { force: false });
 * // { untagged: ["localhost/busybox:latest"], deleted: "ab12..." }
 * ```
 * @module
 */
import { ImageInUseError, InvalidArgError } from "../errors.ts";
import type { RuntimeContext } from "../container/context.ts";
import { normaliseImageName } from "../storage/images.ts";
import { imageEvent, recordEvents, withEvents } from "../events/journal.ts";
import { crashPoint } from "../util/crash.ts";

/** What `rmi` did to one image. */
export interface RemoveImageResult {
  untagged: string[];
  /** The image ID when the image was deleted, else undefined (only untagged). */
  deleted?: string;
}

/** Options for {@linkcode removeImage}. */
export interface RemoveImageOptions {
  force: boolean;
  /** Removes the given containers (for `force`), supplied by the caller. */
  removeContainers?: (ids: string[]) => Promise<void>;
}

/** Removes (or untags) one image; see the module doc. */
export async function removeImage(
  ctx: RuntimeContext,
  reference: string,
  options: RemoveImageOptions,
): Promise<RemoveImageResult> {
  const image = ctx.images.resolve(reference);
  let byName: string | undefined;
  try {
    const normalised = normaliseImageName(reference);
    byName = image.names.find((n) => n === normalised) ??
      image.names.find((n) => n.endsWith(`/${reference}`) || n.endsWith(`/${reference}:latest`));
  } catch {
    byName = undefined;
  }
  if (byName && image.names.length > 1) {
    withEvents(
      ctx.db,
      () => ctx.images.removeName(image.id, byName),
      () => [imageEvent("untag", image.id, byName)],
    );
    return { untagged: [byName] };
  }
  if (!byName && image.names.length > 1 && !options.force) {
    throw new InvalidArgError(
      `unable to delete image "${image.id}" by ID with more than one tag ([${
        image.names.join(" ")
      }]): please force removal`,
    );
  }
  const users = ctx.containers.usersOfImage(image.id);
  if (users.length > 0) {
    if (!options.force || !options.removeContainers) {
      throw new ImageInUseError(
        `image used by ${
          users[0]
        }: image is in use by a container: consider listing external containers and force-removing image`,
      );
    }
    await options.removeContainers(users);
  }
  const pending = ctx.db.transaction(() => {
    if (ctx.containers.usersOfImage(image.id).length > 0) {
      throw new ImageInUseError(
        `image used by a container created meanwhile: image is in use by a container`,
      );
    }
    ctx.images.delete(image.id);
    recordEvents(ctx.db, [
      ...image.names.map((n) => imageEvent("untag", image.id, n)),
      imageEvent("remove", image.id, image.names[0] ?? ""),
    ]);
    return ctx.layers.dropUnreferenced(image.layers);
  }, { retryWhenFull: true });
  crashPoint("rmi:committed");
  await ctx.layers.finishDeletes(pending);
  return { untagged: image.names, deleted: image.id };
}
