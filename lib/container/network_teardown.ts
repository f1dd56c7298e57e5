/**
 * The one call the lifecycle makes when a container ends: tear its bridge networks down. The
 * network code (netavark driver, netns, IPAM) is loaded only for a container on a bridge, so the
 * commands that merely look at containers (`ps`, `inspect`) never load it.
 *
 * @example
 * ```ts
 * await teardownIfBridged(ctr); // a no-op for none, host and private containers
 * ```
 * @module
 */
import type { Container } from "./container.ts";

/** Runs `teardownNetwork` for a bridge container (the caller holds its lock). */
export async function teardownIfBridged(ctr: Container): Promise<void> {
  if (ctr.config.network !== "bridge") return;
  const { teardownNetwork } = await import("./network.ts");
  await teardownNetwork(ctr);
}
