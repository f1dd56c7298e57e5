/**
 * `info`, `version`, and `system refresh`. Thin: gather, print.
 *
 * @module
 */
import { println, withRuntime, writeOut } from "./common.ts";
import type { Invocation } from "./table/spec.ts";

/** `version`: podman's lines, `--format json` (`{"Client": ...}`), or a template. */
export async function version(flags: { format?: string }) {
  const { versionInfo } = await import("../version.ts");
  const client = versionInfo();
  if (flags.format === "json") return println(JSON.stringify({ Client: client }));
  if (flags.format !== undefined) {
    const { formatTable } = await import("../util/template.ts");
    const { VERSION_TEMPLATE } = await import("./template_contexts.ts");
    try {
      return writeOut(
        formatTable(flags.format, [{ Client: client, Server: null }], {}, VERSION_TEMPLATE),
      );
    } catch {
      // podman: an older `--format {{.Version}}` is run against the client's fields
      const format = flags.format.replaceAll(".Server.", ".");
      return writeOut(formatTable(format, [client], {}, VERSION_TEMPLATE));
    }
  }
  println(`Client:       denopod`);
  println(`Version:      ${client.Version}`);
  println(`API Version:  ${client.APIVersion}`);
  println(`Go Version:   ${client.GoVersion}`);
  println(`Built:        ${client.BuiltTime}`);
  println(`OS/Arch:      ${client.OsArch}`);
}

/** `info`: YAML, `--format json`, or a template over podman's Go field names. */
export async function info(this: Invocation, flags: { format?: string }) {
  const { infoTemplateView, systemInfo } = await import("../system_info.ts");
  await withRuntime(this, async (runtime) => {
    const info = await systemInfo(runtime);
    if (flags.format === "json") return println(JSON.stringify(info, null, 2));
    if (flags.format !== undefined) {
      const { formatTable } = await import("../util/template.ts");
      const { INFO_TEMPLATE } = await import("./template_contexts.ts");
      return writeOut(formatTable(flags.format, [infoTemplateView(info)], {}, INFO_TEMPLATE));
    }
    const { toYaml } = await import("../util/yaml.ts");
    println(toYaml(info));
  });
}

/** `system refresh`: refused on a live boot unless `--force`, which stops containers first. */
export async function refresh(this: Invocation, flags: { force?: boolean }) {
  const { refreshCommand } = await import("../container/refresh.ts");
  await withRuntime(this, (runtime) => refreshCommand(runtime, { force: flags.force === true }));
}
