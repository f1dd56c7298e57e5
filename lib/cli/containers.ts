/**
 * Container commands of the storage half: `create`, `ps`, `inspect`, `mount`, `umount`,
 * `export`, `rm`. Thin: parse flags, load and call the library, print.
 *
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import {
  ContainerRemovedError,
  ContainerStateError,
  DenopodError,
  InvalidArgError,
  NoSuchContainerError,
} from "../errors.ts";
import type { Container } from "../container/container.ts";
import type { ContainerView } from "../container/view.ts";
import type { Runtime } from "../runtime.ts";
import { eprintln, exitStatus, println, withRuntime } from "./common.ts";
import type { CreateFlagValues } from "./container_flags.ts";
import type { Invocation } from "./table/spec.ts";
import type { TemplateOptions } from "../util/template/parse.ts";

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

const PS_HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedHuman: "CREATED",
  RunningFor: "CREATED",
  Status: "STATUS",
  Ports: "PORTS",
  Names: "NAMES",
  Size: "SIZE",
  State: "STATE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  Pid: "PID",
  ExitCode: "EXIT CODE",
};

const PS_DEFAULT =
  "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

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

/** `ps` flags. */
export interface PsFlags {
  all?: boolean;
  quiet?: boolean;
  size?: boolean;
  trunc?: boolean;
  latest?: boolean;
  last?: number;
  filter: string[];
  format?: string;
  noheading?: boolean;
  sort?: string;
}

/** `ps`: lists containers. */
export async function ps(this: Invocation, flags: PsFlags) {
  const [{ printRows }, { PS_TEMPLATE }] = await Promise.all([
    import("./output.ts"),
    import("./template_contexts.ts"),
  ]);
  await withRuntime(this, async (runtime) => {
    const now = clockNow();
    const all = runtime.containers.list();
    // what an empty store, or no --filter, never needs loads only when it is needed
    const keep = flags.filter.length === 0
      ? undefined
      : (await import("../container/filters.ts")).containerFilter(flags.filter, {
        now,
        created: (name) => runtime.containers.resolve(name).config.created,
      });
    if (all.length === 0 && flags.sort === undefined) {
      if (flags.quiet) return;
      if (flags.format === "json") return println("[]");
      const defaultTable = flags.size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
      const noHeading = flags.noheading === true;
      return await printRows([], flags.format, defaultTable, PS_HEADERS, noHeading, PS_TEMPLATE);
    }
    const { filterView, psJson, psReport, PS_SORT_KEYS, sortContainers } = await import(
      "../container/ps.ts"
    );
    const sort = flags.sort ?? "created";
    if (!(PS_SORT_KEYS as readonly string[]).includes(sort)) {
      throw new InvalidArgError(
        `invalid argument "${sort}" for "--sort" flag: "${sort}" is not a valid value.  Choose from: "${
          PS_SORT_KEYS.join(", ")
        }"`,
      );
    }
    let ctrs: ContainerView[] = [];
    for (const record of all) {
      const shown = await runtime.containerForDisplay(record);
      if (shown) ctrs.push(shown);
    }
    // podman: a filter does not imply -a; --latest and --last do
    if (!flags.all && !flags.latest && (flags.last === undefined || flags.last < 0)) {
      ctrs = ctrs.filter((c) => c.state.status === "running" || c.state.status === "stopping");
    }
    if (keep) ctrs = ctrs.filter((c) => keep(filterView(c)));
    // the store lists the newest first; --latest and --last take the newest
    if (flags.latest) ctrs = ctrs.slice(0, 1);
    if (flags.last !== undefined && flags.last >= 0) ctrs = ctrs.slice(0, flags.last);
    // the RW layers' sizes walk trees: their code loads only when they are shown or sorted by
    const rwSize = flags.size || sort === "size"
      ? (await import("../container/rw_size.ts")).rwSize
      : undefined;
    ctrs = sortContainers(ctrs, sort, now, rwSize);
    const view = { noTrunc: flags.trunc === false, now, rwSize: flags.size ? rwSize : undefined };
    if (flags.quiet) {
      for (const ctr of ctrs) println(view.noTrunc ? ctr.id : ctr.id.slice(0, 12));
      return;
    }
    if (flags.format === "json") {
      println(JSON.stringify(ctrs.map((c) => psJson(c, view)), null, 2));
      return;
    }
    const rows = ctrs.map((c) => psReport(c, view));
    const defaultTable = flags.size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
    await printRows(
      rows,
      flags.format,
      defaultTable,
      PS_HEADERS,
      flags.noheading === true,
      PS_TEMPLATE,
    );
  }, { light: true });
}

/** `inspect` flags. */
export interface InspectFlags {
  format?: string;
  size?: boolean;
  type: string;
}

/** `inspect NAME...`: containers and images, as a JSON array or a template per object. */
export async function inspect(this: Invocation, names: string[], flags: InspectFlags) {
  // a container's or an image's code loads when one is found (the container's is asked for at
  // once, so that it loads while the store opens)
  let containerCodeLoad: Promise<typeof import("../container/inspect.ts")> | undefined;
  const containerCode = () => containerCodeLoad ??= import("../container/inspect.ts");
  if (flags.type !== "image") containerCode().catch(() => {});
  const imageCode = () => import("../image/inspect.ts");
  const [{ printInspect }, { CONTAINER_INSPECT_TEMPLATE, IMAGE_INSPECT_TEMPLATE }] = await Promise
    .all([import("./output.ts"), import("./template_contexts.ts")]);
  await withRuntime(this, async (runtime) => {
    const found: object[] = [];
    const templates: TemplateOptions[] = [];
    let failure: DenopodError | undefined;
    for (const name of names) {
      const ctr = flags.type === "image" ? undefined : runtime.containers.find(name);
      if (ctr) {
        const { containerInspect } = await containerCode();
        const shown = await runtime.containerForDisplay(ctr);
        if (shown) {
          const sizeRw = flags.size
            ? (await import("../container/rw_size.ts")).rwSize(shown)
            : undefined;
          found.push(containerInspect(shown, { sizeRw }));
          templates.push(CONTAINER_INSPECT_TEMPLATE);
          continue;
        }
      }
      const image = flags.type === "container" ? undefined : runtime.images.find(name);
      if (image) {
        found.push((await imageCode()).imageInspect(runtime, image));
        templates.push(IMAGE_INSPECT_TEMPLATE);
        continue;
      }
      failure = flags.type === "container"
        ? new NoSuchContainerError(name)
        : new InvalidArgError(`no such object: "${name}"`);
    }
    await printInspect(found, flags.format, templates);
    if (failure) throw failure;
  }, { light: true });
}

/** `container inspect NAME...`: containers only. */
export function containerInspect(this: Invocation, names: string[], flags: InspectFlags) {
  return inspect.call(this, names, { ...flags, type: "container" });
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
