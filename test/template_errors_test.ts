/**
 * A bad `--format` template is refused with podman's message: the template's name (`ps`,
 * `inspect`, ...), the position podman gives (a list's template runs inside `{{range .}}`), and
 * the Go type names of podman's data (`containers.psReporter`, `*define.InspectContainerState`),
 * compared with podman 4.3.1's answers recorded in `test/fixtures/podman/template_errors.json`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  busyboxRootfsTar,
  denopod,
  denopodOk,
  IS_ROOT,
  REPO,
  withRoots,
} from "./helpers/denopod.ts";
import { TAR, TEMPLATE_ERROR_CASES, TEMPLATE_SCENARIO } from "./helpers/template_error_cases.ts";

const RECORDED = JSON.parse(
  Deno.readTextFileSync(join(REPO, "test/fixtures/podman/template_errors.json")),
) as { cases: Record<string, { code: number; stderr: string }> };

Deno.test(
  "a bad --format template names podman's template, position and types",
  { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false },
  async () => {
    await withRoots(async (roots) => {
      const tar = await busyboxRootfsTar();
      for (const step of TEMPLATE_SCENARIO) {
        await denopodOk(roots, step.map((a) => (a === TAR ? tar : a)));
      }
      for (const c of TEMPLATE_ERROR_CASES) {
        const ours = await denopod(roots, c.args);
        const podman = RECORDED.cases[c.name];
        assert.equal(ours.code, podman.code, `${c.name}: exit code`);
        // `info` warns about this host's runc first (a denopod addition, see the README)
        const stderr = ours.stderr.split("\n").filter((l) => !l.startsWith("WARN[")).join("\n");
        assert.equal(stderr, podman.stderr, c.name);
      }
    });
  },
);
