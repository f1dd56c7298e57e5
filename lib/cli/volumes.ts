/**
 * `volume create/ls/inspect/rm/prune/exists`: podman's shapes. Thin: parse, call lib/volume,
 * print.
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { collect, eprintln, exitStatus, println, withRuntime } from "./common.ts";
import { InvalidArgError } from "../errors.ts";

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

/** Registers `volume ...` on `program`. */
export function registerVolumeCommands(program: Command): void {
  const volume = program.command("volume").description("manage volumes");

  volume.command("create").description("create a volume")
    .argument("[name]")
    .option("-l, --label <key=value>", "set a label", collect, [] as string[])
    .option("-o, --opt <key=value>", "set a driver option", collect, [] as string[])
    .action(async function (name, flags) {
      const { volumeStore } = await import("../container/volume_binds.ts");
      const { generateId } = await import("../util/names.ts");
      await withRuntime(this, (runtime) => {
        const record = volumeStore(runtime.paths).create(name ?? generateId(), {
          labels: keyValues("--label", flags.label),
          options: keyValues("--opt", flags.opt),
        });
        println(record.name);
      });
    });

  volume.command("ls").alias("list").description("list volumes")
    .option("-q, --quiet", "print only the names")
    .option("--format <format>", "json, or a Go template")
    .action(async function (flags) {
      const { volumeStore } = await import("../container/volume_binds.ts");
      const { renderTemplate } = await import("../util/template.ts");
      await withRuntime(this, (runtime) => {
        const volumes = volumeStore(runtime.paths).list();
        if (flags.quiet) return volumes.forEach((v) => println(v.name));
        const rows = volumes.map((v) => ({
          Name: v.name,
          Driver: v.driver,
          Labels: v.labels,
          Mountpoint: volumeStore(runtime.paths).dataDir(v.name),
          CreatedAt: v.createdAt,
          Scope: "local",
        }));
        if (flags.format === "json") return println(JSON.stringify(rows, null, 4));
        if (flags.format !== undefined) {
          return rows.forEach((r) => println(renderTemplate(flags.format!, r)));
        }
        println("DRIVER      VOLUME NAME");
        for (const v of volumes) println(`${v.driver.padEnd(12)}${v.name}`);
      });
    });

  volume.command("inspect").description("show details of volumes, as a JSON array")
    .argument("<names...>")
    .option("-f, --format <format>", "json, or a Go template")
    .action(async function (names, flags) {
      const { volumeStore } = await import("../container/volume_binds.ts");
      const { renderTemplate } = await import("../util/template.ts");
      await withRuntime(this, (runtime) => {
        const store = volumeStore(runtime.paths);
        const found = names.map((name) => {
          const v = store.resolve(name);
          return {
            Name: v.name,
            Driver: v.driver,
            Mountpoint: store.dataDir(v.name),
            CreatedAt: v.createdAt,
            Labels: v.labels,
            Scope: "local",
            Options: v.options,
            MountCount: 0,
            NeedsCopyUp: v.needsCopyUp,
            NeedsChown: v.needsCopyUp,
            Anonymous: v.anonymous,
          };
        });
        if (flags.format !== undefined && flags.format !== "json") {
          return found.forEach((v) => println(renderTemplate(flags.format!, v)));
        }
        println(JSON.stringify(found, null, 5));
      });
    });

  volume.command("exists").description("exit 0 when the volume exists, 1 when not")
    .argument("<name>")
    .action(async function (name) {
      const { volumeStore } = await import("../container/volume_binds.ts");
      await withRuntime(this, (runtime) => {
        if (!volumeStore(runtime.paths).get(name)) exitStatus.code = 1;
      });
    });

  volume.command("rm").alias("remove").description("remove volumes")
    .argument("[names...]")
    .option("-f, --force", "remove the containers using them first")
    .option("-a, --all", "remove every volume")
    .action(async function (names, flags) {
      const { removeVolume } = await import("../container/volume_remove.ts");
      const { volumeStore } = await import("../container/volume_binds.ts");
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
    });

  volume.command("prune").description("remove every volume no container uses")
    .option("-f, --force", "do not ask for confirmation")
    .action(async function () {
      const { pruneVolumes } = await import("../container/volume_remove.ts");
      await withRuntime(this, async (runtime) => {
        for (const name of await pruneVolumes(runtime)) println(name);
      });
    });
}
