/**
 * The listings of containers: `ps` and `inspect` (containers and images), two of the common
 * commands whose start-up is measured against podman's; apart from the other container commands
 * (`containers.ts`) so that they load only their own code. Thin: load and call the library, print.
 *
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { DenopodError, InvalidArgError, NoSuchContainerError } from "../errors.ts";
import type { ContainerView } from "../container/view.ts";
import { println, withRuntime } from "./common.ts";
import type { Invocation } from "./table/spec.ts";
import type { TemplateOptions } from "../util/template/parse.ts";

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
