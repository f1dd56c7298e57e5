/**
 * The command table: podman's flag rules in the parser, `--help` for every command in podman's
 * layout, bare groups, `--version`, a closed stdout, and the completion scripts loaded by bash
 * answering for a prefix (commands, flags, and container and image names from the store).
 */
import assert from "node:assert/strict";
import { PROGRAM_SPEC } from "../lib/cli/commands.ts";
import { COMMON_PROGRAM_SPEC } from "../lib/cli/common_commands.ts";
import { parseCommandLine, UsageError } from "../lib/cli/table/parse.ts";
import { helpText } from "../lib/cli/table/help.ts";
import { bashCompletion, fishCompletion, zshCompletion } from "../lib/cli/table/completion.ts";
import type { CommandSpec } from "../lib/cli/table/spec.ts";
import {
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  REPO,
  withRoots,
} from "./helpers/denopod.ts";

const rootOpts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** Parses and returns the run's parameters (positionals, then flags) and globals. */
function parsed(...argv: string[]) {
  const result = parseCommandLine(PROGRAM_SPEC, argv);
  if (result.kind !== "run") throw new Error(`expected a run, got ${result.kind}`);
  return {
    command: result.path.slice(1).map((s) => s.name).join(" "),
    params: result.params,
    globals: result.globals,
  };
}

function usageError(...argv: string[]): string {
  try {
    parseCommandLine(PROGRAM_SPEC, argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  throw new Error(`${argv.join(" ")} parsed`);
}

Deno.test("flags: bundles, =value, separate value, repeats, defaults, negation", () => {
  const ps = parsed("ps", "-aq", "--filter=name=a", "-f", "id=1", "-fstatus=exited", "--no-trunc");
  assert.equal(ps.command, "ps");
  assert.deepEqual(ps.params, [{
    all: true,
    quiet: true,
    filter: ["name=a", "id=1", "status=exited"],
    trunc: false,
  }]);
  assert.deepEqual(parsed("ps", "--all=false", "-n", "3").params, [{
    all: false,
    last: 3,
    filter: [],
  }]);
  assert.deepEqual(parsed("inspect", "x").params, [["x"], { format: "json", type: "all" }]);
  assert.deepEqual(parsed("kill", "-s", "HUP", "a", "b").params, [["a", "b"], { signal: "HUP" }]);
  assert.deepEqual(parsed("history", "--human=false", "img").params, [
    "img",
    { human: false },
  ]);
});

Deno.test("global flags go before or after the command; groups and aliases resolve", () => {
  for (
    const argv of [
      ["--root", "/r", "ps", "--runroot=/rr"],
      ["ps", "--root=/r", "--runroot", "/rr"],
      ["--runroot", "/rr", "--root", "/r", "ps"],
    ]
  ) {
    const result = parsed(...argv);
    assert.equal(result.command, "ps");
    assert.deepEqual(result.globals, { root: "/r", runroot: "/rr" });
  }
  assert.equal(parsed("image", "ls").command, "image list");
  assert.equal(parsed("image", "list").command, "image list");
  assert.equal(parsed("container", "ls", "-a").command, "container list");
  assert.equal(parsed("umount", "x").command, "unmount");
  assert.equal(parsed("--log-level", "debug", "system", "refresh").command, "system refresh");
});

Deno.test("run, create and exec stop taking flags at the first argument; -- ends flags", () => {
  assert.deepEqual(parsed("run", "--rm", "img", "ls", "-l", "--all").params.slice(0, 2), [
    "img",
    ["ls", "-l", "--all"],
  ]);
  assert.deepEqual(parsed("exec", "-e", "A=1", "ctr", "sh", "-c", "x").params, [
    "ctr",
    ["sh", "-c", "x"],
    { env: ["A=1"] },
  ]);
  // other commands take flags after their arguments, as podman does
  assert.deepEqual(parsed("rm", "ctr", "-f").params, [["ctr"], { cidfile: [], force: true }]);
  assert.deepEqual(parsed("rm", "--", "-f").params, [["-f"], { cidfile: [] }]);
  // a value that starts with a dash is a value
  assert.deepEqual(parsed("create", "--name", "-x", "img").params[0], "img");
});

Deno.test("the common commands' own table parses their command lines as the whole table does", () => {
  // the same entries: the whole table lists the common commands' specs themselves
  for (const spec of COMMON_PROGRAM_SPEC.subcommands ?? []) {
    assert.ok(PROGRAM_SPEC.subcommands?.includes(spec), spec.name);
  }
  const outcome = (root: CommandSpec, argv: string[]) => {
    try {
      const result = parseCommandLine(root, argv);
      return result.kind === "run"
        ? {
          kind: result.kind,
          command: result.path.slice(1).map((s) => s.name),
          params: result.params,
          globals: result.globals,
        }
        : { kind: result.kind };
    } catch (err) {
      return { error: String(err) };
    }
  };
  const lines = [
    ["ps", "-aq", "--filter=name=a", "--no-trunc"],
    ["--root", "/r", "ps", "--runroot", "/rr", "-a", "--log-level", "debug"],
    ["--root", "ps", "images"],
    ["inspect", "-f", "{{.Id}}", "--size", "a", "b"],
    ["inspect", "--type=image", "--", "-x"],
    ["images", "busybox", "--sort", "size", "-n"],
    ["version", "--format", "json"],
  ];
  for (const argv of lines) {
    const common = outcome(COMMON_PROGRAM_SPEC, argv);
    assert.equal("kind" in common && common.kind, "run", argv.join(" "));
    assert.deepEqual(common, outcome(PROGRAM_SPEC, argv), argv.join(" "));
  }
  // anything else (help, a usage error, another command) is left to the whole table
  const others = [
    ["ps", "--help"],
    ["--version"],
    ["image", "ls"],
    ["rm", "x"],
    ["ps", "--x"],
    ["ps", "-n", "x"],
    ["images", "a", "b"],
  ];
  for (const argv of others) {
    assert.notEqual(outcome(COMMON_PROGRAM_SPEC, argv).kind, "run", argv.join(" "));
  }
});

Deno.test("usage errors carry podman's wording", () => {
  assert.equal(usageError("ps", "--bogus"), "unknown flag: --bogus");
  assert.equal(usageError("ps", "-x"), "unknown shorthand flag: 'x' in -x");
  assert.equal(usageError("ps", "--format"), "flag needs an argument: --format");
  assert.equal(usageError("ps", "-n"), "flag needs an argument: 'n' in -n");
  assert.equal(usageError("ps", "extra"), "`denopod ps` takes no arguments");
  assert.equal(usageError("create"), "requires at least 1 arg(s), only received 0");
  assert.equal(usageError("export", "a", "b"), "accepts 1 arg(s), received 2");
  assert.equal(usageError("images", "a", "b"), "accepts at most 1 arg(s), received 2");
  assert.equal(usageError("import", "a", "b", "c"), "accepts between 1 and 2 arg(s), received 3");
  assert.equal(usageError("bogus"), "unrecognized command `denopod bogus`");
  assert.equal(usageError("image", "bogus"), "unrecognized command `denopod image bogus`");
  assert.equal(
    usageError("ps", "-n", "x"),
    'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax',
  );
  assert.equal(
    usageError("ps", "--all=maybe"),
    'invalid argument "maybe" for "-a, --all" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  );
});

/** Every command path in the table, hidden ones left out. */
function everyCommand(): CommandSpec[][] {
  const out: CommandSpec[][] = [];
  const walk = (path: CommandSpec[]) => {
    out.push(path);
    for (const sub of path[path.length - 1].subcommands ?? []) {
      if (!sub.hidden) walk([...path, sub]);
    }
  };
  walk([PROGRAM_SPEC]);
  return out;
}

Deno.test("--help for every command: podman's sections, at least one example", () => {
  for (const path of everyCommand()) {
    const name = ["denopod", ...path.slice(1).map((s) => s.name)].join(" ");
    const text = helpText(path);
    const cmd = path[path.length - 1];
    assert.ok(text.startsWith(`${cmd.short}\n\n`), name);
    assert.match(text, new RegExp(`\\nUsage:\\n  ${name}( |\\n)`), name);
    if (cmd.action) {
      assert.match(text, /\nDescription:\n {2}\S/, name);
      assert.match(text, /\nExamples:\n {2}\S/, `${name} has examples`);
      const examples = text.split("\nExamples:\n")[1].split("\n\n")[0].trimEnd();
      for (const line of examples.split("\n")) {
        assert.ok(/^ {2}\S/.test(line) && line.includes("denopod "), `${name}: ${line}`);
      }
    } else {
      assert.match(text, /\nAvailable Commands:\n/, name);
    }
    for (const flag of cmd.action ? cmd.flags ?? [] : []) {
      assert.ok(text.includes(`--${flag.name}`), `${name} lists --${flag.name}`);
    }
  }
});

Deno.test("help is laid out as podman's: options aligned, defaults shown", () => {
  const ps = helpText([PROGRAM_SPEC, PROGRAM_SPEC.subcommands!.find((s) => s.name === "ps")!]);
  assert.match(
    ps,
    /\nUsage:\n {2}denopod ps \[options\]\n\nExamples:\n {2}denopod ps -a\n/,
  );
  // pflag's layout: flag column padded to the longest, then the help, sorted by long name
  assert.match(ps, /\nOptions:\n {2}-a, --all {14}Show all the containers/);
  assert.match(ps, /\n {2}-f, --filter strings {3}Filter output/);
  assert.match(ps, /\n {6}--format string {4}Pretty-print/);
  const kill = helpText([PROGRAM_SPEC, PROGRAM_SPEC.subcommands!.find((s) => s.name === "kill")!]);
  assert.match(kill, /-s, --signal string {3}Signal to send to the container \(default "KILL"\)/);
});

Deno.test("the CLI: --help, bare groups, --version", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", `${REPO}main.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  };
  const help = await run("ps", "--help");
  assert.equal(help.code, 0);
  assert.ok(help.stdout.startsWith("List containers\n\nDescription:\n"), help.stdout);
  assert.ok(help.stdout.endsWith("\n\n"), "a blank line ends the help, as podman's");
  assert.equal((await run("rm", "-h")).stdout.split("\n")[0], "Remove one or more containers");
  for (
    const [args, name] of [[[], "denopod"], [["image"], "denopod image"], [[
      "system",
    ], "denopod system"]] as const
  ) {
    const bare = await run(...args);
    assert.equal(bare.code, 125, name);
    assert.match(bare.stdout, /\nAvailable Commands:\n/, name);
    assert.equal(bare.stderr, `Error: missing command '${name} COMMAND'\n`);
  }
  const version = await run("--version");
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^denopod version \d+\.\d+\.\d+\n$/);
  assert.equal((await run("-v")).stdout, version.stdout);
});

Deno.test("a closed stdout ends the command quietly", rootOpts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    for (let i = 0; i < 3; i++) await denopodOk(roots, ["tag", "busybox", `busybox:t${i}`]);
    // `denopod images | head -0`: the reader is gone before denopod writes
    const result = await new Deno.Command("bash", {
      args: [
        "-c",
        `"$0" "$@" 2>"$ERR" | true; echo "\${PIPESTATUS[0]}"`,
        Deno.execPath(),
        ...cliPrefix(roots),
        "images",
      ],
      env: { ERR: `${roots.dir}/stderr` },
      stdout: "piped",
    }).output();
    assert.equal(Deno.readTextFileSync(`${roots.dir}/stderr`), "", "nothing on stderr");
    const status = new TextDecoder().decode(result.stdout).trim();
    assert.ok(status === "141" || status === "0", `ended as a SIGPIPE would: ${status}`);
  });
});

/** Runs bash with the completion script loaded and asks `_denopod` about `words`. */
async function complete(script: string, words: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-completion-" });
  try {
    // `denopod` on PATH: a wrapper running this checkout, as an installed denopod would be
    await Deno.writeTextFile(
      `${dir}/denopod`,
      `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-check "${REPO}main.ts" "$@"\n`,
      { mode: 0o755 },
    );
    await Deno.writeTextFile(`${dir}/completion.bash`, script);
    const quoted = words.map((w) => `'${w}'`).join(" ");
    const out = await new Deno.Command("bash", {
      args: [
        "--norc",
        "-c",
        `source "${dir}/completion.bash"
COMP_WORDS=(${quoted}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMP_LINE="\${COMP_WORDS[*]}"
_denopod denopod; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "", "bash loaded the script quietly");
    return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bash completion: commands, subcommands, flags and fixed values", async () => {
  const script = (await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", `${REPO}main.ts`, "completion", "bash"],
    stdout: "piped",
  }).output()).stdout;
  const text = new TextDecoder().decode(script);
  assert.deepEqual(await complete(text, ["denopod", "st"]), ["start", "stats", "stop"]);
  assert.deepEqual(await complete(text, ["denopod", "image", "l"]), ["list", "load", "ls"]);
  assert.deepEqual(await complete(text, ["denopod", "ps", "--no"]), ["--no-trunc", "--noheading"]);
  assert.deepEqual(await complete(text, ["denopod", "--root", "/x", "inspect", "--type", "c"]), [
    "container",
  ]);
  assert.deepEqual(await complete(text, ["denopod", "completion", "z"]), ["zsh"]);
});

Deno.test("bash completion: container and image names from the store", rootOpts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["tag", "busybox", "bigbox:2"]);
    await denopodOk(roots, ["create", "--name", "web1", "busybox", "true"]);
    await denopodOk(roots, ["create", "--name", "web2", "busybox", "true"]);
    await denopodOk(roots, ["create", "--name", "xdb", "busybox", "true"]);
    const script = (await denopod(roots, ["completion", "bash"])).stdout;
    const globals = ["--root", roots.root, "--runroot", roots.runRoot];
    assert.deepEqual(await complete(script, ["denopod", ...globals, "rm", "-f", "we"]), [
      "web1",
      "web2",
    ]);
    // prefixes with a letter that is not hex: no container or image ID can match them
    assert.deepEqual(await complete(script, ["denopod", ...globals, "start", "web1", "x"]), [
      "xdb",
    ]);
    assert.deepEqual(await complete(script, ["denopod", ...globals, "run", "--rm", "bi"]), [
      "bigbox:2",
    ]);
    assert.deepEqual(await complete(script, ["denopod", ...globals, "run", "--rm", "bu"]), [
      "busybox:latest",
    ]);
    assert.deepEqual(await complete(script, ["denopod", ...globals, "rmi", "localhost/bi"]), [
      "localhost/bigbox:2",
    ]);
    // a command's second argument that is not a container gets nothing from the store
    assert.deepEqual(await complete(script, ["denopod", ...globals, "export", "web1", "w"]), []);
  });
});

Deno.test("zsh and fish scripts come from the same table", () => {
  const zsh = zshCompletion(PROGRAM_SPEC);
  assert.ok(zsh.startsWith("#compdef denopod\n"));
  assert.ok(zsh.includes(bashCompletion(PROGRAM_SPEC)));
  const fish = fishCompletion(PROGRAM_SPEC);
  assert.match(fish, /complete -c denopod -n '__fish_use_subcommand' -a ps -d 'List containers'/);
  assert.match(fish, /-n '__fish_seen_subcommand_from ps' -l all -s a -d /);
  assert.match(
    fish,
    /-n '__fish_seen_subcommand_from rm' -a '\(denopod \(__fish_denopod_globals\) __complete containers 2>\/dev\/null\)'/,
  );
});
