/** denopod's version, printed by `version` and `info`. */
export const VERSION = "0.1.0";

/** `version`'s data, podman's `define.Version` keys. */
export function versionInfo(): Record<string, unknown> {
  return {
    APIVersion: VERSION,
    Version: VERSION,
    // denopod is not built with Go: the runtime it runs on, where podman names its Go
    GoVersion: `deno${Deno.version.deno}`,
    GitCommit: "",
    BuiltTime: "Thu Jan  1 00:00:00 1970",
    Built: 0,
    OsArch: `${Deno.build.os}/${goArch()}`,
    Os: Deno.build.os,
  };
}

/** The machine architecture, Go's name for it (`amd64`). */
export function goArch(): string {
  return Deno.build.arch === "x86_64"
    ? "amd64"
    : Deno.build.arch === "aarch64"
    ? "arm64"
    : Deno.build.arch;
}
