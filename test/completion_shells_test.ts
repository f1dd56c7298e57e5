/**
 * `completion zsh` and `completion fish` loaded by the real shells (installed by
 * `scripts/setup.sh`), answering a prefix with subcommands, flags and names from a test store:
 * zsh in a pseudo-terminal, pressing Tab (its `compadd` records what the script offered); fish
 * through `complete -C`. bash is tested in `cli_table_test.ts`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denopod, denopodOk, importBusybox, IS_ROOT, REPO, withRoots } from "./helpers/denopod.ts";
import type { Roots } from "./helpers/denopod.ts";
import { ptyRun } from "./helpers/pty.ts";
import { PROGRAM_SPEC } from "../lib/cli/commands.ts";

function installed(program: string): boolean {
  try {
    return Deno.statSync(`/usr/bin/${program}`).isFile;
  } catch {
    return false;
  }
}

/** A folder with `denopod` on PATH (running this checkout, as an installed one would) and `fn`. */
async function withWrapper<T>(fn: (dir: string, path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-shells-" });
  try {
    await Deno.writeTextFile(
      join(dir, "denopod"),
      `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-check "${REPO}main.ts" "$@"\n`,
      { mode: 0o755 },
    );
    return await fn(dir, `${dir}:${Deno.env.get("PATH")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sorted, without repeats. */
function unique(lines: string[]): string[] {
  return [...new Set(lines.filter(Boolean))].sort();
}

/** Types `line` and Tab in an interactive zsh with the script loaded; what the script offered. */
async function zshComplete(script: string, line: string): Promise<string[]> {
  return await withWrapper(async (dir, path) => {
    const offered = join(dir, "offered");
    await Deno.writeTextFile(join(dir, "completion.zsh"), script);
    await Deno.writeTextFile(
      join(dir, "rc.zsh"),
      `PS1='READY> '
source ${dir}/completion.zsh
compadd() {
  builtin compadd -O __offered "$@"
  print -rl -- "\${__offered[@]}" >> ${offered}
  print -- '<<OFFERED>>' > /dev/tty
}
`,
    );
    const r = await ptyRun(["zsh", "-f", "-i"], [
      { size: [24, 200] },
      { send: `source ${dir}/rc.zsh\n` },
      { expect: "READY> " },
      { send: `${line}\t` },
      { expect: "<<OFFERED>>", timeout: 30 },
      // let the completion widget finish (a Ctrl-C inside it only interrupts it), then clear
      { sleep: 1 },
      { send: "\x03" },
      { expect: "READY> " },
      { send: "exit\n" },
    ], { PATH: path, HOME: dir, TERM: "xterm" });
    assert.equal(r.failed, null, `zsh: a step timed out; the screen showed:\n${r.output}`);
    assert.ok(!r.output.includes("command not found"), r.output);
    return unique(Deno.readTextFileSync(offered).split("\n"));
  });
}

/** fish's answers for `line` with the script loaded (`complete -C`), candidates only. */
async function fishComplete(script: string, line: string): Promise<string[]> {
  return await withWrapper(async (dir, path) => {
    await Deno.writeTextFile(join(dir, "completion.fish"), script);
    const out = await new Deno.Command("fish", {
      args: ["--no-config", "-c", `source ${dir}/completion.fish; complete -C ${quote(line)}`],
      env: { PATH: path, HOME: dir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "", "fish loaded the script quietly");
    return unique(new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split("\t")[0]));
  });
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "\\'")}'`;
}

/** The table's top-level commands (and aliases) that start with `prefix`: what a shell offers. */
function commandsStarting(prefix: string): string[] {
  return unique(
    (PROGRAM_SPEC.subcommands ?? []).filter((c) => !c.hidden)
      .flatMap((c) => [c.name, ...(c.aliases ?? [])])
      .filter((name) => name.startsWith(prefix)),
  );
}

/** A store with two images and three containers. */
async function store(roots: Roots): Promise<void> {
  await importBusybox(roots);
  await denopodOk(roots, ["tag", "busybox", "bigbox:2"]);
  for (const name of ["web1", "web2", "xdb"]) {
    await denopodOk(roots, ["create", "--name", name, "busybox", "true"]);
  }
}

Deno.test(
  "zsh completion, loaded in zsh: commands, flags, container and image names from the store",
  { ignore: !IS_ROOT || !installed("zsh"), sanitizeResources: false, sanitizeOps: false },
  async () => {
    await withRoots(async (roots) => {
      await store(roots);
      const script = (await denopod(roots, ["completion", "zsh"])).stdout;
      const globals = `denopod --root ${roots.root} --runroot ${roots.runRoot}`;
      assert.deepEqual(await zshComplete(script, "denopod st"), commandsStarting("st"));
      assert.deepEqual(await zshComplete(script, "denopod ps --no"), [
        "--no-trunc",
        "--noheading",
      ]);
      assert.deepEqual(await zshComplete(script, `${globals} rm -f we`), ["web1", "web2"]);
      assert.deepEqual(await zshComplete(script, `${globals} start web1 x`), ["xdb"]);
      assert.deepEqual(await zshComplete(script, `${globals} run --rm bi`), ["bigbox:2"]);
    });
  },
);

Deno.test(
  "fish completion, loaded in fish: commands, flags, container and image names from the store",
  { ignore: !IS_ROOT || !installed("fish"), sanitizeResources: false, sanitizeOps: false },
  async () => {
    await withRoots(async (roots) => {
      await store(roots);
      const script = (await denopod(roots, ["completion", "fish"])).stdout;
      const globals = `denopod --root ${roots.root} --runroot ${roots.runRoot}`;
      assert.deepEqual(await fishComplete(script, "denopod st"), commandsStarting("st"));
      assert.deepEqual(await fishComplete(script, "denopod ps --no"), [
        "--no-trunc",
        "--noheading",
      ]);
      assert.deepEqual(await fishComplete(script, `${globals} rm -f we`), ["web1", "web2"]);
      assert.deepEqual(await fishComplete(script, `${globals} start x`), ["xdb"]);
      assert.deepEqual(await fishComplete(script, `${globals} run --rm bi`), ["bigbox:2"]);
    });
  },
);
