/**
 * `completion bash|zsh|fish` (the script, from the command table) and the hidden
 * `__complete containers|images` the scripts call for names from the store.
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { println, withRuntime, writeOut } from "./common.ts";
import { PROGRAM_SPEC } from "./commands.ts";
import { completionScript, type Shell, SHELLS } from "./table/completion.ts";
import type { Invocation } from "./table/spec.ts";

/** `completion SHELL [-f FILE]`. */
export async function completion(this: Invocation, shell: string, flags: { file?: string }) {
  if (!SHELLS.includes(shell as Shell)) {
    throw new InvalidArgError(`unsupported shell "${shell}": must be one of ${SHELLS.join(", ")}`);
  }
  const script = completionScript(PROGRAM_SPEC, shell as Shell);
  if (flags.file === undefined || flags.file === "-") writeOut(script);
  else await Deno.writeTextFile(flags.file, script);
}

/** `__complete containers|images`: one name per line: names, then short IDs. */
export async function completeNames(this: Invocation, kind: string) {
  if (kind !== "containers" && kind !== "images") {
    throw new InvalidArgError(`cannot complete "${kind}": must be containers or images`);
  }
  await withRuntime(this, (runtime) => {
    if (kind === "containers") {
      const ctrs = runtime.allContainers();
      for (const ctr of ctrs) println(ctr.name);
      for (const ctr of ctrs) println(ctr.id.slice(0, 12));
      return;
    }
    const images = runtime.images.list();
    const names = images.flatMap((image) => image.names);
    for (const name of names) println(name);
    // what users type for local images: the name without podman's `localhost/`
    for (const name of names) if (name.startsWith("localhost/")) println(name.slice(10));
    for (const image of images) println(image.id.slice(0, 12));
  });
}
