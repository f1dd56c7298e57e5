/**
 * `info`, `version`, and `system refresh`. Thin: gather, print.
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { println, withRuntime } from "./common.ts";
import { VERSION } from "../version.ts";
import { registerCheckCommand } from "./housekeeping_check.ts";

function toYaml(value: unknown, indent = ""): string {
  if (value === null || typeof value !== "object") return `${JSON.stringify(value)}\n`;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]\n";
    return "\n" + value.map((v) => `${indent}- ${toYaml(v, `${indent}  `).trimStart()}`).join("");
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}\n";
  return "\n" +
    entries.map(([k, v]) => `${indent}${k}: ${toYaml(v, `${indent}  `).replace(/^\n/, "\n")}`).join(
      "",
    );
}

/** Registers the system commands on `program`. */
export function registerSystemCommands(program: Command): void {
  program.command("version").description("show version information")
    .option("-f, --format <format>", "json, or a Go template")
    .action(async (flags) => {
      const { renderTemplate } = await import("../util/template.ts");
      const data = {
        Client: {
          Version: VERSION,
          APIVersion: VERSION,
          DenoVersion: Deno.version.deno,
          OsArch: `${Deno.build.os}/${Deno.build.arch === "x86_64" ? "amd64" : Deno.build.arch}`,
        },
      };
      if (flags.format === "json") return println(JSON.stringify(data, null, 4));
      if (flags.format !== undefined) return println(renderTemplate(flags.format, data));
      println(`Version:      ${data.Client.Version}`);
      println(`API Version:  ${data.Client.APIVersion}`);
      println(`Deno Version: ${data.Client.DenoVersion}`);
      println(`OS/Arch:      ${data.Client.OsArch}`);
    });

  program.command("info").description("show system information")
    .option("-f, --format <format>", "json, or a Go template")
    .action(async function (flags) {
      const { systemInfo } = await import("../system_info.ts");
      const { renderTemplate } = await import("../util/template.ts");
      await withRuntime(this, async (runtime) => {
        const info = await systemInfo(runtime);
        if (flags.format === "json") return println(JSON.stringify(info, null, 4));
        if (flags.format !== undefined) return println(renderTemplate(flags.format, info));
        println(toYaml(info).trimStart().trimEnd());
      });
    });

  const system = program.command("system").description("manage denopod");
  system.command("refresh").description("reset containers' run-time state, as after a reboot")
    .option("--force", "on a live boot, stop running containers first")
    .action(async function (flags) {
      const { refreshCommand } = await import("../container/refresh.ts");
      await withRuntime(
        this,
        (runtime) => refreshCommand(runtime, { force: flags.force === true }),
      );
    });
  registerCheckCommand(system);
}
