/**
 * `network connect` and `network disconnect`, as podman 4.3: the container's config gains or
 * loses the network (its interface name kept, so the others keep theirs), and on a running
 * container netavark sets up or tears down just that network in its namespace — with the
 * container's port mappings, as podman passes them — and the address is leased or freed in the
 * same step. Both run under the container's lock.
 *
 * @example
 * ```ts
 * await connectNetwork(ctr, "db", { ip: "10.231.5.9" }); // eth1 appears in a running container
 * await disconnectNetwork(ctr, "db", { force: false });  // and goes again
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { logger } from "../log.ts";
import {
  addressHolder,
  AddressInUseError,
  leaseAddresses,
  leasesOf,
  releaseLease,
} from "../network/ipam.ts";
import { checkStaticIp, parseStaticIp } from "../network/static.ts";
import { DEFAULT_NETWORK } from "../network/store.ts";
import type { ContainerConfig } from "./config.ts";
import type { Container } from "./container.ts";
import { syncContainer } from "./lifecycle/sync.ts";
import {
  interfaceNames,
  netavarkFor,
  networkOptions,
  networkStore,
  recordStatus,
} from "./network.ts";

const log = logger("network");

/** True while the container's network namespace is set up (running or paused). */
function isLive(ctr: Container): boolean {
  const { status } = ctr.state;
  return ctr.config.network === "bridge" && ctr.state.netNs !== "" &&
    (status === "running" || status === "paused");
}

/** `network connect` options. */
export interface ConnectOptions {
  /** `--ip`: a static address on this network. */
  ip?: string;
}

/**
 * Joins the container to network `nameOrId` (a no-op when it is on it already, as podman 4.3).
 * A container on `none` or `host` is refused; one in a private namespace of its own can join
 * only while stopped (it becomes a bridge container).
 */
export async function connectNetwork(
  ctr: Container,
  nameOrId: string,
  options: ConnectOptions = {},
): Promise<void> {
  const ip = options.ip === undefined ? undefined : parseStaticIp(options.ip);
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    const { config, ctx, state } = ctr;
    const store = networkStore(ctx);
    const network = nameOrId === "bridge" || nameOrId === DEFAULT_NETWORK
      ? await store.ensureDefault()
      : store.get(nameOrId);
    if (config.network === "none" || config.network === "host") {
      throw new InvalidArgError(`"${config.network}" is not supported: invalid network mode`);
    }
    if (config.network === "private" && (state.status === "running" || state.status === "paused")) {
      throw new InvalidArgError(
        `container ${ctr.name} runs in a private network namespace without networks: stop it to connect it to ${network.name}`,
      );
    }
    const joined = config.network === "bridge" ? config.networks ?? [] : [];
    if (joined.includes(network.name)) return;
    if (ip !== undefined) {
      checkStaticIp(network, ip);
      const holder = addressHolder(ctx.db, network.name, ip);
      if (holder !== undefined) {
        throw new AddressInUseError(
          `IPAM error: requested ip address ${ip} is already allocated to container ID ${holder}`,
        );
      }
    }
    const interfaces = config.network === "bridge" ? interfaceNames(config) : {};
    const used = new Set(Object.values(interfaces));
    let n = 0;
    while (used.has(`eth${n}`)) n++;
    interfaces[network.name] = `eth${n}`;
    const next: ContainerConfig = {
      ...config,
      network: "bridge",
      networks: [...joined, network.name],
      interfaceNames: interfaces,
    };
    if (ip !== undefined) next.staticIps = { ...config.staticIps, [network.name]: ip };
    else if (next.staticIps?.[network.name] !== undefined) {
      const { [network.name]: _dropped, ...rest } = next.staticIps;
      next.staticIps = rest;
    }
    if (!isLive(ctr)) {
      ctr.replaceConfig(next);
      return;
    }
    let leased: string[] = [];
    ctx.db.transaction(() => {
      leased = leaseAddresses(ctx.db, network, ctr.id, ip);
    });
    let status;
    try {
      status = await netavarkFor(ctx).setup(
        state.netNs,
        networkOptions(ctr, [network], { [network.name]: leased }, next),
      );
    } catch (err) {
      ctx.db.transaction(() => releaseLease(ctx.db, ctr.id, network.name));
      throw err;
    }
    ctx.db.transaction(() => {
      ctr.replaceConfig(next);
      recordStatus(ctr, { ...state.networkStatus, ...status });
      ctr.save();
    });
    log.debug("container {id} connected to {network}", { id: ctr.id, network: network.name });
  });
}

/** `network disconnect` options. */
export interface DisconnectOptions {
  /** `-f`: leave the network even when netavark's teardown fails (logged). */
  force: boolean;
}

/** Takes the container off network `nameOrId`; refused when it is not on it. */
export async function disconnectNetwork(
  ctr: Container,
  nameOrId: string,
  options: DisconnectOptions,
): Promise<void> {
  await ctr.withLock(async () => {
    await syncContainer(ctr);
    const { config, ctx, state } = ctr;
    const store = networkStore(ctx);
    const network = store.get(nameOrId === "bridge" ? DEFAULT_NETWORK : nameOrId);
    const joined = config.network === "bridge" ? config.networks ?? [] : [];
    if (!joined.includes(network.name)) {
      throw new InvalidArgError(`container ${ctr.name} is not connected to network ${nameOrId}`);
    }
    const interfaces = interfaceNames(config);
    const live = isLive(ctr);
    if (live) {
      const leased = leasesOf(ctx.db, ctr.id)[network.name] ?? [];
      try {
        await netavarkFor(ctx).teardown(
          state.netNs,
          networkOptions(ctr, [network], { [network.name]: leased }),
        );
      } catch (err) {
        if (!options.force) throw err;
        log.warn("network disconnect of container {name}: {err}", {
          name: ctr.name,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
    delete interfaces[network.name];
    const next: ContainerConfig = {
      ...config,
      networks: joined.filter((n) => n !== network.name),
      interfaceNames: interfaces,
    };
    for (const key of ["staticIps", "staticMacs"] as const) {
      const map = next[key];
      if (map?.[network.name] === undefined) continue;
      const { [network.name]: _dropped, ...rest } = map;
      next[key] = rest;
    }
    ctx.db.transaction(() => {
      releaseLease(ctx.db, ctr.id, network.name);
      ctr.replaceConfig(next);
      if (live && state.networkStatus) {
        const { [network.name]: _gone, ...rest } = state.networkStatus;
        recordStatus(ctr, rest);
      }
      ctr.save();
    });
    log.debug("container {id} disconnected from {network}", {
      id: ctr.id,
      network: network.name,
    });
  });
}
