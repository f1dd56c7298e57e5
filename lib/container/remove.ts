/**
 * Removing a container: refused while it runs unless forced (then it is killed first); its
 * storage torn down, its row, its lockfile and its exit file deleted. Against a concurrent remover: whoever takes
 * the lock second finds the row gone and gets ContainerRemovedError (`rm` reports it as no such
 * container).
 *
 * @example
 * ```ts
 * await removeContainer(ctr, { force: true });
 * ```
 * @module
 */
import { ContainerStateError } from "../errors.ts";
import { removeExitFile } from "../oci/exitfile.ts";
import type { Container } from "./container.ts";
import { isActive } from "./status.ts";
import { teardownNetwork } from "./network.ts";
import { logger } from "../log.ts";

const log = logger("container");

/** Options for {@linkcode removeContainer}. */
export interface RemoveOptions {
  /** Kill a running or paused container first. */
  force: boolean;
  /** Called to stop an active container when forced (provided by the running half). */
  stop?: (ctr: Container) => Promise<void>;
}

/** Removes the container; see the module doc. */
export async function removeContainer(ctr: Container, options: RemoveOptions): Promise<void> {
  await ctr.withLock(async () => {
    if (isActive(ctr.state.status) || ctr.state.status === "created") {
      if (!options.force && ctr.state.status !== "created") {
        throw new ContainerStateError(
          `cannot remove container ${ctr.id} as it is ${ctr.state.status} - running or paused containers cannot be removed without force: container state improper`,
        );
      }
      if (options.stop) await options.stop(ctr);
    }
    await teardownNetwork(ctr);
    await ctr.teardownStorage();
    ctr.ctx.containers.delete(ctr.id);
    ctr.markRemoved();
    ctr.removeLockfile();
    // the exit code lives on in its own table (for `wait`); the runroot is a tmpfs: keep it clean
    await removeExitFile(ctr.ctx.paths.exitsDir, ctr.id);
    log.debug("removed container {id}", { id: ctr.id });
  });
}
