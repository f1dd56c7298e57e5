/**
 * `volume create/ls/inspect/rm/prune/exists` (declared in `commands.ts`): podman's shapes.
 * Thin: parse, call lib/volume and lib/container/volume_*, print.
 * @module
 */
import type { Invocation } from "./table/spec.ts";
import { eprintln, exitStatus, println, withRuntime } from "./common.ts";
import { InvalidArgError } from "../errors.ts";
import { volumeStore } from "../container/volume_binds.ts";
import type { VolumeRecord, VolumeStore } from "../volume/store.ts";

function keyValues(flag: string, entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq === 0) throw new InvalidArgError(`invalid ${flag} "${entry}": the key is empty`);
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(entry)) {
      throw new InvalidArgError(`invalid ${flag} ${JSON.stringify(entry)}: control character`);
    }
    out[eq < 0 ? entry : entry.slice(0, eq)] = eq < 0 ? "" : entry.slice(eq + 1);
  }
  return out;
}

/** `volume create [--label K=V] [--opt K=V] [NAME]`: prints the name. */
export async function volumeCreate(
  this: Invocation,
  name: string | undefined,
  flags: { label: string[]; opt: string[] },
) {
  const { generateId } = await import("../util/names.ts");
  await withRuntime(this, (runtime) => {
    const record = volumeStore(runtime.paths).create(name ?? generateId(), {
      labels: keyValues("--label", flags.label),
      options: keyValues("--opt", flags.opt),
    });
    println(record.name);
  });
}

function inspectView(store: VolumeStore, v: VolumeRecord, mountCount: number) {
  return {
    Name: v.name,
    Driver: v.driver,
    Mountpoint: store.dataDir(v.name),
    CreatedAt: v.createdAt,
    Labels: v.labels,
    Scope: "local",
    Options: v.options,
    ...(v.options.UID !== undefined ? { UID: Number(v.options.UID) } : {}),
    ...(v.options.GID !== undefined ? { GID: Number(v.options.GID) } : {}),
    MountCount: mountCount,
    NeedsCopyUp: v.needsCopyUp,
    NeedsChown: v.needsCopyUp,
    Anonymous: v.anonymous,
  };
}

/** `volume ls [-q] [--format]`. */
export async function volumeLs(this: Invocation, flags: { quiet?: boolean; format?: string }) {
  const { renderTemplate } = await import("../util/template.ts");
  const { volumeMountCount } = await import("../container/volume_mounts.ts");
  await withRuntime(this, (runtime) => {
    const store = volumeStore(runtime.paths);
    const volumes = store.list();
    if (flags.quiet) return volumes.forEach((v) => println(v.name));
    const rows = volumes.map((v) => inspectView(store, v, volumeMountCount(runtime, v.name)));
    if (flags.format === "json") return println(JSON.stringify(rows, null, 4));
    if (flags.format !== undefined) {
      return rows.forEach((r) => println(renderTemplate(flags.format!, r)));
    }
    println("DRIVER      VOLUME NAME");
    for (const v of volumes) println(`${v.driver.padEnd(12)}${v.name}`);
  });
}

/** `volume inspect NAME...`: a JSON array, or a template per volume. */
export async function volumeInspect(
  this: Invocation,
  names: string[],
  flags: { format?: string },
) {
  const { renderTemplate } = await import("../util/template.ts");
  const { volumeMountCount } = await import("../container/volume_mounts.ts");
  await withRuntime(this, (runtime) => {
    const store = volumeStore(runtime.paths);
    const found = names.map((name) =>
      inspectView(store, store.resolve(name), volumeMountCount(runtime, name))
    );
    if (flags.format !== undefined && flags.format !== "json") {
      return found.forEach((v) => println(renderTemplate(flags.format!, v)));
    }
    println(JSON.stringify(found, null, 5));
  });
}

/** `volume exists NAME`: exit 0 when it exists, 1 when not. */
export async function volumeExists(this: Invocation, name: string) {
  await withRuntime(this, (runtime) => {
    if (!volumeStore(runtime.paths).get(name)) exitStatus.code = 1;
  });
}

/** `volume rm [-f] [-a] NAME...`: prints each removed name. */
export async function volumeRm(
  this: Invocation,
  names: string[],
  flags: { force?: boolean; all?: boolean },
) {
  const { removeVolume } = await import("../container/volume_remove.ts");
  await withRuntime(this, async (runtime) => {
    if (names.length === 0 && !flags.all) {
      throw new InvalidArgError("choose either one or more volumes or all");
    }
    const targets = flags.all ? volumeStore(runtime.paths).list().map((v) => v.name) : names;
    let failure: unknown;
    for (const name of targets) {
      try {
        await removeVolume(runtime, name, flags.force === true);
        println(name);
      } catch (err) {
        if (failure !== undefined) eprintln(`Error: ${(failure as Error).message}`);
        failure = err;
      }
    }
    if (failure !== undefined) throw failure;
  });
}

/** `volume prune [-f]`: removes every unused volume, printing their names. */
export async function volumePrune(this: Invocation) {
  const { pruneVolumes } = await import("../container/volume_remove.ts");
  await withRuntime(this, async (runtime) => {
    for (const { name } of await pruneVolumes(runtime)) println(name);
  });
}
