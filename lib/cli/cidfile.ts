/**
 * `--cidfile` and `--replace`, as podman's: `create`/`run --cidfile FILE` write the new
 * container's ID into FILE (refused before anything is made when FILE exists); `stop`/`rm
 * --cidfile FILE` act on the container FILE names (with `--ignore`, a missing FILE or container is
 * no error); `create`/`run --replace --name N` first remove the container named N, if any.
 * These are what a `generate systemd --new` unit runs.
 *
 * @example
 * ```ts
 * assertCidfileFree(flags.cidfile); // before create
 * await writeCidfile(flags.cidfile, ctr.id); // after
 * ```
 * @module
 */
import { ContainerRemovedError, InvalidArgError, NoSuchContainerError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { Container } from "../container/container.ts";
import type { CreateFlagValues } from "./container_flags.ts";

/** Throws when `path` exists already (podman's words), so nothing is created for it. */
export function assertCidfileFree(path: string | undefined): void {
  if (path === undefined) return;
  try {
    Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  throw new InvalidArgError(
    "container id file exists. Ensure another container is not using it or delete it",
  );
}

/** Writes `id` into the new file `path` (never over an existing one). */
export async function writeCidfile(path: string, id: string): Promise<void> {
  await Deno.writeTextFile(path, id, { createNew: true, mode: 0o644 });
}

/**
 * The container IDs the files at `paths` hold; with `ignore`, a missing file is skipped,
 * otherwise it is an error naming it.
 */
export async function readCidfiles(paths: readonly string[], ignore: boolean): Promise<string[]> {
  const ids: string[] = [];
  for (const path of paths) {
    try {
      ids.push((await Deno.readTextFile(path)).trim());
    } catch (err) {
      if (ignore && err instanceof Deno.errors.NotFound) continue;
      throw new InvalidArgError(`reading CIDFile: ${(err as Error).message}`);
    }
  }
  return ids;
}

/** `--replace`: removes (forcibly) the container named exactly `name`, if there is one. */
export async function replaceNamed(runtime: Runtime, name: string | undefined): Promise<void> {
  if (name === undefined) {
    throw new InvalidArgError("cannot replace container without --name being set");
  }
  const record = runtime.containers.find(name);
  if (!record || record.config.name !== name) return;
  const { removeContainer } = await import("../container/remove.ts");
  try {
    await removeContainer(runtime.lookupContainer(record.config.id), { force: true });
  } catch (err) {
    if (!(err instanceof NoSuchContainerError || err instanceof ContainerRemovedError)) throw err;
  }
}

/**
 * `create`/`run`'s making of the container from their flags: `--cidfile` checked free first,
 * `--replace`'s container removed, the container created, then its ID written to `--cidfile`.
 * `startFollows` (`run`): its rundir files and spec are written by the start, not also here.
 */
export async function createFromFlags(
  runtime: Runtime,
  flags: CreateFlagValues,
  image: string,
  command: string[],
  startFollows = false,
): Promise<Container> {
  // create's code loads only here: `rm`/`stop --cidfile` read this module too
  const [{ createContainer }, { createOptionsFrom }] = await Promise.all([
    import("../container/create.ts"),
    import("./container_flags.ts"),
  ]);
  const options = createOptionsFrom(flags, image, command);
  assertCidfileFree(flags.cidfile);
  if (flags.replace) await replaceNamed(runtime, flags.name);
  const ctr = await createContainer(runtime, options, { startFollows });
  if (flags.cidfile !== undefined) await writeCidfile(flags.cidfile, ctr.id);
  return ctr;
}
