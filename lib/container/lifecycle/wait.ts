/**
 * `wait`: block until a container has exited and return its exit code. The exit code is also
 * found after `run --rm` removed the container, from the exit-code table.
 *
 * @example
 * ```ts
 * const code = await waitForContainer(runtime, "web"); // 0
 * ```
 * @module
 */
import { NoSuchContainerError } from "../../errors.ts";
import type { RuntimeContext } from "../context.ts";
import { Container } from "../container.ts";
import { isActive } from "../status.ts";
import { syncContainer } from "./sync.ts";

/** How often `wait` looks again. */
const POLL_MS = 50;

/** Waits for the container named `nameOrId` to exit; returns its exit code. */
export async function waitForContainer(ctx: RuntimeContext, nameOrId: string): Promise<number> {
  const record = ctx.containers.find(nameOrId);
  if (!record) {
    const kept = ctx.containers.findExitCode(nameOrId);
    if (kept) return kept.exitCode;
    throw new NoSuchContainerError(nameOrId);
  }
  const id = record.config.id;
  for (;;) {
    const current = ctx.containers.get(id);
    if (!current) {
      const kept = ctx.containers.findExitCode(id);
      if (kept) return kept.exitCode;
      throw new NoSuchContainerError(nameOrId);
    }
    if (isActive(current.state.status) || current.state.status === "stopped") {
      const ctr = new Container(ctx, current);
      const changed = await ctr.withLock(() => syncContainer(ctr)).catch(() => false);
      if (changed) continue;
    } else if (current.state.status === "exited") {
      return current.state.exitCode;
    }
    // configured or created: not started yet; podman waits for it to run and exit
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
