/**
 * Integration: many containers at once, as root, in fresh roots, under conmon and the built-in
 * monitor. Eight loops of ten `run --rm` each, all started together, all succeed and leave no
 * row, container layer, rundir, exit file or mount; two `create --name same` at once give one
 * container and one clear error.
 */
import assert from "node:assert/strict";
import { importBusybox, withRoots } from "./helpers/denopod.ts";
import { assertNoContainerLeft, cliFor, MONITORS, ROOT_TEST } from "./helpers/running.ts";
import { layerDirs } from "./helpers/denopod.ts";

const LOOPS = 8;
const RUNS_PER_LOOP = 10;

for (const monitor of MONITORS) {
  Deno.test(
    `[${monitor}] ${LOOPS} parallel loops of ${RUNS_PER_LOOP} run --rm all succeed and leave nothing`,
    ROOT_TEST,
    () =>
      withRoots(async (roots) => {
        await importBusybox(roots);
        const cli = cliFor(roots, monitor);
        const imageLayers = layerDirs(roots);
        const failures: string[] = [];
        const loop = async (n: number) => {
          for (let i = 0; i < RUNS_PER_LOOP; i++) {
            const result = await cli.run([
              "run",
              "--rm",
              "busybox",
              "sh",
              "-c",
              `echo loop${n}-run${i}`,
            ]);
            if (result.code !== 0 || result.stdout !== `loop${n}-run${i}\n`) {
              failures.push(
                `loop ${n} run ${i}: exit ${result.code}, stdout ${
                  JSON.stringify(result.stdout)
                }, stderr ${result.stderr.trim()}`,
              );
            }
          }
        };
        await Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
        assert.deepEqual(failures, [], "every run exits 0 and prints its line");
        await assertNoContainerLeft(cli, roots, imageLayers);
      }),
  );

  Deno.test(
    `[${monitor}] two create --name same at once give one container and one clear error`,
    ROOT_TEST,
    () =>
      withRoots(async (roots) => {
        await importBusybox(roots);
        const cli = cliFor(roots, monitor);
        const results = await Promise.all([
          cli.run(["create", "--name", "same", "busybox", "true"]),
          cli.run(["create", "--name", "same", "busybox", "true"]),
        ]);
        const codes = results.map((r) => r.code).sort();
        assert.deepEqual(codes, [0, 125], results.map((r) => r.stderr).join(""));
        const failed = results.find((r) => r.code === 125)!;
        assert.match(failed.stderr, /^Error: .*same.*already in use.*\n$/);
        assert.equal((await cli.ok(["ps", "-aq"])).trim().split("\n").length, 1);
        assert.equal((await cli.run(["start", "-a", "same"])).code, 0);
      }),
  );
}
