/**
 * The bridge from a stored container to {@linkcode containerUnit}: what `generate systemd` knows
 * of it (names, stop timeout, environment, create command, the monitor's pid file) and of this
 * denopod (how to run it again, the store's roots when they are not the defaults). Warns, as
 * podman does, when a unit without `--new` is made for a container with a restart policy.
 *
 * @example
 * ```ts
 * const unit = unitForContainer(ctr, { name: true, now: new Date(), version: VERSION });
 * ```
 * @module
 */
import type { Container } from "../container/container.ts";
import { DEFAULT_ROOT, DEFAULT_RUNROOT } from "../paths.ts";
import { MONITOR_PID_FILE } from "../oci/monitor_request.ts";
import { selfCommand } from "../sys/self.ts";
import { join } from "../util/path.ts";
import { logger } from "../log.ts";
import { type ContainerUnit, containerUnit, type UnitOptions } from "./systemd.ts";

const log = logger("generate");

/** The unit for `ctr` (see `systemd.ts`). */
export function unitForContainer(ctr: Container, options: UnitOptions): ContainerUnit {
  const { config } = ctr;
  const { paths } = ctr.ctx;
  const policy = config.restartPolicy?.name ?? "";
  if (!options.new && policy !== "" && policy !== "no") {
    log.warn(
      `Container ${ctr.id} has restart policy "${policy}" which can lead to issues on shutdown: consider recreating the container without a restart policy and use systemd's restart mechanism instead`,
    );
  }
  const rootFlags = [
    ...(paths.root !== DEFAULT_ROOT ? ["--root", paths.root] : []),
    ...(paths.runRoot !== DEFAULT_RUNROOT ? ["--runroot", paths.runRoot] : []),
  ];
  return containerUnit({
    id: ctr.id,
    name: config.name,
    stopTimeout: config.stopTimeout,
    env: config.env,
    createCommand: config.createCommand,
    runRoot: paths.runRoot,
    pidFile: join(paths.runDir(ctr.id), MONITOR_PID_FILE),
    executable: selfCommand(),
    rootFlags,
  }, options);
}
