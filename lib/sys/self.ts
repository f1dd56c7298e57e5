/**
 * How to run this program again (for the monitor's exit command): the compiled binary itself,
 * or `deno run -A --no-check <main module>` when running from source or a bundle.
 * @module
 */
import { fileURLToPath } from "../util/path.ts";

/** The argv prefix that re-executes this program. */
export function selfCommand(): string[] {
  if (Deno.build.standalone) return [Deno.execPath()];
  const main = Deno.mainModule.startsWith("file:")
    ? fileURLToPath(Deno.mainModule)
    : Deno.mainModule;
  return [Deno.execPath(), "run", "-A", "--no-check", main];
}
