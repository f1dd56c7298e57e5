/**
 * The common commands' start-up path: `ps -a`, `inspect`, `images`, `version`, `start`, `stop`,
 * `exec`, `rm` load no npm package and none of `node:fs`, `node:child_process`, `node:events`,
 * `node:stream` (each costs tens of milliseconds before the command starts). The modules a command
 * loads are read from Deno's own debug log of the run; their static imports are then checked.
 */
import assert from "node:assert/strict";
import {
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  REPO,
  withRoots,
} from "./helpers/denopod.ts";
import type { Roots } from "./helpers/denopod.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** Import specifiers that must not load on the common path. */
const FORBIDDEN = /^(npm:|node:(fs|child_process|events|stream)(\/|$)|[a-z@][^:]*$)/;

/** The local modules one CLI run loaded, from `DENO_LOG=debug`. */
async function loadedModules(roots: Roots, args: string[]): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...cliPrefix(roots), ...args],
    env: { DENO_LOG: "debug" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  const found = new Set<string>();
  for (const m of log.matchAll(/specifier: (file:\/\/\S+?),?(\s|$)/g)) found.add(m[1]);
  for (const m of log.matchAll(/specifier: (npm:\S+)/g)) found.add(m[1]);
  return [...found];
}

/** The static imports of a module's source (`import ... from "x"`, `export ... from "x"`). */
function staticImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)";?$/gms)) {
    out.push(m[1]);
  }
  for (const m of source.matchAll(/^import\s+"([^"]+)";?$/gm)) out.push(m[1]);
  return out;
}

Deno.test(
  "the common commands load no npm package and no node:fs/child_process/events/stream",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["create", "--name", "idle", "busybox", "true"]);
      await denopodOk(roots, ["run", "-d", "--name", "busy", "busybox", "sleep", "1000"]);
      const commands = [
        ["ps", "-a"],
        ["inspect", "idle"],
        ["images"],
        ["version"],
        ["start", "idle"],
        ["exec", "busy", "true"],
        ["stop", "-t", "0", "busy"],
        ["rm", "-f", "idle"],
      ];
      for (const args of commands) {
        const modules = await loadedModules(roots, args);
        assert.ok(
          modules.some((m) => m.endsWith("/main.ts")),
          `${args.join(" ")}: the trace works`,
        );
        const bad: string[] = [];
        for (const module of modules) {
          if (module.startsWith("npm:")) {
            bad.push(module);
            continue;
          }
          const path = new URL(module).pathname;
          if (!path.startsWith(REPO)) continue;
          for (const specifier of staticImports(Deno.readTextFileSync(path))) {
            if (FORBIDDEN.test(specifier)) {
              bad.push(`${path.slice(REPO.length)} imports ${specifier}`);
            }
          }
        }
        assert.deepEqual(bad, [], `denopod ${args.join(" ")}`);
      }
    });
  },
);

Deno.test(
  "ps, inspect and images load no container, runc or layer code while no shown container needs a sync",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const heavy = ["container/container.ts", "oci/runc.ts", "storage/layers.ts"];
      const loadedHeavy = async (args: string[]) =>
        (await loadedModules(roots, args)).filter((m) =>
          heavy.some((h) => m.endsWith(`/lib/${h}`))
        );
      await denopodOk(roots, ["ps", "-a"]); // the first command makes the store
      for (const args of [["ps", "-a"], ["images"], ["inspect", "--type", "image", "nothere"]]) {
        assert.deepEqual(await loadedHeavy(args), [], `denopod ${args.join(" ")}`);
      }
      // a created container is shown from its rows: ps and inspect still load none of them, nor
      // the sync, the mount or tree-walking code, the volume store or the events journal; and the
      // common commands parse against their own entries, not the whole command table
      await importBusybox(roots);
      await denopodOk(roots, ["create", "--name", "idle", "busybox", "true"]);
      const mutation = [
        "container/lifecycle/sync.ts",
        "container/rw_size.ts",
        "sys/libc.ts",
        "sys/mount.ts",
        "sys/lockfile.ts",
        "storage/overlay.ts",
        "volume/store.ts",
        "events/journal.ts",
        "cli/commands.ts",
      ];
      for (const args of [["ps", "-a"], ["inspect", "idle"], ["images"], ["version"]]) {
        const loaded = await loadedModules(roots, args);
        assert.deepEqual(
          loaded.filter((m) => [...heavy, ...mutation].some((h) => m.endsWith(`/lib/${h}`))),
          [],
          `denopod ${args.join(" ")}`,
        );
      }
      // help and other commands load the whole table
      for (const args of [["ps", "--help"], ["container", "inspect", "idle"]]) {
        assert.ok(
          (await loadedModules(roots, args)).some((m) => m.endsWith("/lib/cli/commands.ts")),
          `denopod ${args.join(" ")}`,
        );
      }
      assert.match(await denopodOk(roots, ["images", "--format", "{{.Containers}}"]), /^1\n$/);
      assert.match(await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]), /^idle\n$/);
      assert.match(
        await denopodOk(roots, ["inspect", "--format", "{{.Name}}", "idle"]),
        /^idle\n$/,
      );
      // a running container needs a sync (its process may have ended): its code loads then, and
      // ps and inspect show it running
      await denopodOk(roots, ["run", "-d", "--name", "busy", "busybox", "sleep", "1000"]);
      try {
        for (const args of [["ps", "-a"], ["inspect", "busy"]]) {
          assert.deepEqual((await loadedHeavy(args)).length, 3, `denopod ${args.join(" ")}`);
        }
        assert.match(
          await denopodOk(roots, ["ps", "--format", "{{.Names}} {{.State}}"]),
          /^busy Up /,
        );
        assert.equal(
          await denopodOk(roots, ["inspect", "--format", "{{.State.Status}}", "busy"]),
          "running\n",
        );
      } finally {
        await denopod(roots, ["rm", "-f", "-t", "0", "busy"]);
      }
      // inspect reads podman's defaults from their own module, not the spec builder or flag parsers
      const builders = [
        "container/spec.ts",
        "container/confinement.ts",
        "container/mount_flags.ts",
      ];
      assert.deepEqual(
        (await loadedModules(roots, ["inspect", "idle"])).filter((m) =>
          builders.some((b) => m.endsWith(`/lib/${b}`))
        ),
        [],
      );
    });
  },
);
