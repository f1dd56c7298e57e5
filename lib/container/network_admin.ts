/**
 * `network rm` and `network prune`: a network is removed only when no container uses it (with
 * `force`, those containers are killed and removed first, as podman's `network rm -f`); the
 * default network is never pruned. Its bridge and firewall rules went with its last container's
 * teardown (netavark removes them then), so removing the file is all that is left.
 *
 * @example
 * ```ts
 * await removeNetwork(runtime, "web", { force: false }); // NetworkInUseError while used
 * await pruneNetworks(runtime); // ["old"]
 * ```
 * @module
 */
import type { RuntimeContext } from "./context.ts";
import { Container } from "./container.ts";
import { removeContainer } from "./remove.ts";
import { networkStore } from "./network.ts";
import { DEFAULT_NETWORK, NetworkInUseError } from "../network/store.ts";
import type { Network } from "../network/types.ts";
import { ContainerRemovedError } from "../errors.ts";

/** The containers whose config joins network `name`. */
export function networkUsers(ctx: RuntimeContext, name: string): Container[] {
  return ctx.containers.list()
    .filter((r) => r.config.network === "bridge" && (r.config.networks ?? []).includes(name))
    .map((r) => new Container(ctx, r));
}

/** Options for {@linkcode removeNetwork}. */
export interface RemoveNetworkOptions {
  /** Remove the containers using it first (killing running ones). */
  force: boolean;
}

/** Removes the network named (or with the ID) `nameOrId`; returns it. */
export async function removeNetwork(
  ctx: RuntimeContext,
  nameOrId: string,
  options: RemoveNetworkOptions,
): Promise<Network> {
  const store = networkStore(ctx);
  const network = store.get(nameOrId);
  const users = networkUsers(ctx, network.name);
  if (users.length > 0 && !options.force) {
    throw new NetworkInUseError(
      `"${network.name}" has associated containers with it (${
        users.map((c) => c.name).join(", ")
      }). Use -f to forcibly delete containers: network is being used`,
    );
  }
  for (const ctr of users) {
    try {
      await removeContainer(ctr, { force: true, timeout: 0 });
    } catch (err) {
      if (!(err instanceof ContainerRemovedError)) throw err;
    }
  }
  await store.remove(network.name);
  return network;
}

/** Removes every network no container uses, except the default one; returns their names. */
export async function pruneNetworks(ctx: RuntimeContext): Promise<string[]> {
  const store = networkStore(ctx);
  const used = new Set(
    ctx.containers.list().flatMap((r) =>
      r.config.network === "bridge" ? r.config.networks ?? [] : []
    ),
  );
  const removed: string[] = [];
  for (const network of store.list()) {
    if (network.name === DEFAULT_NETWORK || used.has(network.name)) continue;
    await store.remove(network.name);
    removed.push(network.name);
  }
  return removed;
}
