/**
 * Container commands of the storage half: `create`, `mount`, `umount`, `export`, `rm` (`ps` and
 * `inspect` are in `listing.ts`). Thin: parse flags, load and call the library, print.
 *
 * @module
 */
import {
  ContainerRemovedError,
  ContainerStateError,
  DenopodError,
  InvalidArgError,
  NoSuchContainerError,
} from "../errors.ts";
import type { Container } from "../container/container.ts";
import type { Runtime } from "../runtime.ts";
import { eprintln, exitStatus, println, withRuntime } from "./common.ts";
import type { CreateFlagValues } from "./container_flags.ts";
import type { Invocation } from "./table/spec.ts";

/**
 * Runs `fn` for each name, printing podman-style errors for the ones that fail; the exit status
 * is the last failure's, through `exitCodeOf` where the command has podman's own codes.
 */
export async function forEachTarget(
  names: string[],
  fn: (name: string) => Promise<void>,
  exitCodeOf: (err: DenopodError) => number | undefined = () => undefined,
): Promise<void> {
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      if (!(err instanceof DenopodError)) throw err;
      eprintln(`Error: ${err.message}`);
      exitStatus.code = exitCodeOf(err) ?? err.exitCode;
    }
  }
}

/** podman-rm(1) EXIT STATUS: 1 no such container, 2 a container is running or paused. */
export function rmExitCode(err: DenopodError): number | undefined {
  if (err instanceof NoSuchContainerError) return 1;
  if (err instanceof ContainerStateError) return 2;
  return undefined;
}

function lookupAll(runtime: Runtime, names: string[], all: boolean, latest = false): Container[] {
  if (all) return runtime.allContainers();
  if (latest) {
    const newest = runtime.allContainers()[0];
    if (!newest) throw new NoSuchContainerError("latest");
    return [newest];
  }
  return names.map((n) => runtime.lookupContainer(n));
}

/** `create IMAGE [COMMAND...]`: prints the new container's ID. */
export async function create(
  this: Invocation,
  image: string,
  command: string[],
  flags: CreateFlagValues,
) {
  const { createFromFlags } = await import("./cidfile.ts");
  await withRuntime(this, async (runtime) => {
    const ctr = await createFromFlags(runtime, flags, image, command);
    println(ctr.id);
  });
}

/** `mount [NAME...]`: mounts and prints the mount points, or lists the mounted containers. */
export async function mount(this: Invocation, names: string[], flags: { trunc?: boolean }) {
  await withRuntime(this, async (runtime) => {
    if (names.length === 0) {
      for (const ctr of runtime.allContainers()) {
        if (!ctr.state.mounted) continue;
        const id = flags.trunc === false ? ctr.id : ctr.id.slice(0, 12);
        println(`${id}  ${ctr.state.mountpoint}`);
      }
      return;
    }
    await forEachTarget(names, async (name) => {
      const ctr = runtime.lookupContainer(name);
      println(await ctr.withLock(() => ctr.mount()));
    });
  });
}

/** `unmount [NAME...]`. */
export async function umount(
  this: Invocation,
  names: string[],
  flags: { all?: boolean; force?: boolean },
) {
  await withRuntime(this, async (runtime) => {
    if (names.length === 0 && !flags.all) {
      throw new InvalidArgError("you must provide at least one container name or ID");
    }
    const targets = flags.all
      ? runtime.allContainers().filter((c) => c.state.mounted).map((c) => c.id)
      : names;
    await forEachTarget(targets, async (name) => {
      const ctr = runtime.lookupContainer(name);
      await ctr.withLock(() => ctr.unmount(flags.force === true));
      println(flags.all ? ctr.id : name);
    });
  });
}

/**
 * `export NAME`: the container's filesystem as a tar archive. podman prints nothing; with `-o`
 * and stderr a terminal, a bar shows the bytes written and the rate.
 */
export async function exportContainer(this: Invocation, name: string, flags: { output?: string }) {
  const { exportContainer } = await import("../container/export.ts");
  const { byteProgress } = await import("./progress.ts");
  await withRuntime(this, async (runtime) => {
    const ctr = runtime.lookupContainer(name);
    if (flags.output === undefined && Deno.stdout.isTerminal()) {
      throw new InvalidArgError("refusing to export to terminal. Use -o flag or redirect");
    }
    const progress = flags.output ? byteProgress(`Exporting ${ctr.name}`) : undefined;
    try {
      await exportContainer(ctr, { path: flags.output, onProgress: progress?.update });
    } finally {
      progress?.done();
    }
  });
}

/** `rm` flags. */
export interface RmFlags {
  force?: boolean;
  all?: boolean;
  ignore?: boolean;
  time?: number;
  /** `-v`: also remove the anonymous volumes. */
  volumes?: boolean;
  /** `--cidfile`: the containers named by these files. */
  cidfile?: string[];
}

/** `rm NAME...`. */
export async function rm(this: Invocation, names: string[], flags: RmFlags) {
  const { removeContainer } = await import("../container/remove.ts");
  await withRuntime(this, async (runtime) => {
    const { readCidfiles } = await import("./cidfile.ts");
    names = [...names, ...await readCidfiles(flags.cidfile ?? [], flags.ignore === true)];
    if (names.length === 0 && !flags.all && (flags.cidfile ?? []).length === 0) {
      throw new InvalidArgError("you must provide at least one name or id");
    }
    if (flags.time !== undefined && !flags.force) {
      throw new InvalidArgError("--force option must be specified to use the --time option");
    }
    const targets = flags.all ? lookupAll(runtime, [], true).map((c) => c.id) : names;
    await forEachTarget(targets, async (name) => {
      let ctr: Container;
      try {
        ctr = runtime.lookupContainer(name);
      } catch (err) {
        if (flags.ignore && err instanceof NoSuchContainerError) return;
        throw err;
      }
      try {
        await removeContainer(ctr, {
          force: flags.force === true,
          timeout: flags.time,
          volumes: flags.volumes === true,
        });
      } catch (err) {
        // another process removed it between our lookup and our lock
        if (!(err instanceof ContainerRemovedError)) throw err;
        if (flags.ignore) return;
        throw new NoSuchContainerError(name, { cause: err });
      }
      println(name);
    }, rmExitCode);
  });
}
