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
import { hasExited, runtimeKnows } from "../status.ts";
import { syncForDisplay } from "./sync.ts";

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
    if (hasExited(current.state.status)) return current.state.exitCode;
    if (runtimeKnows(current.state.status)) {
      // looks without the lock; takes it only once the process has ended
      const ctr = new Container(ctx, current);
      const present = await syncForDisplay(ctr);
      if (!present || hasExited(ctr.state.status)) continue;
    }
    // still running, or not started yet (podman waits for it to run and exit)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
