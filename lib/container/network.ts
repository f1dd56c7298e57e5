/**
 * A container's bridge networks: what `--network` and `-p`/`-P` resolve to at create, and the
 * setup and teardown around each run. Setup takes the container's addresses and host ports in one
 * transaction (recording the namespace path in the same one, so a crash at any later point leaves
 * something teardown finds), makes the network namespace, and starts `netavark setup`, which the
 * start awaits only before `runc start`. Teardown runs
 * `netavark teardown`, unmounts and deletes the namespace, and frees the addresses and ports; it
 * runs under the container's lock and clears what it undid, so it happens once however many
 * commands notice the container ended.
 *
 * @example
 * ```ts
 * const { ready } = await beginNetworkSetup(ctr); // before the rundir files and the spec
 * await ready;                                      // before runc start
 * await teardownNetwork(ctr); // when the container has ended (finishExit, refresh, rm)
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { logger } from "../log.ts";
import { createNetns, removeNetns } from "../sys/netns.ts";
import { isMountPoint } from "../sys/mount.ts";
import {
  addressHolder,
  AddressInUseError,
  holdsAny,
  leaseAddresses,
  leasesOf,
  portHolder,
  PortInUseError,
  releaseContainer,
  reservePorts,
} from "../network/ipam.ts";
import { findNetavark, Netavark } from "../network/netavark.ts";
import {
  assertDistinctHostPorts,
  expandHostPorts,
  exposedPortMappings,
  parsePublish,
} from "../network/ports.ts";
import { DEFAULT_NETWORK, NetworkStore } from "../network/store.ts";
import type { Network, NetworkOptions, PortMapping, StatusBlock } from "../network/types.ts";
import { addressesOf, firstAddress } from "../network/status.ts";
import { checkStaticIp, parseMac, parseNetworkList, parseStaticIp } from "../network/static.ts";
import { formatIpv4, prefixMask } from "../network/ipv4.ts";
import type { ContainerConfig, NetworkMode } from "./config.ts";
import type { RuntimeContext } from "./context.ts";
import type { Container } from "./container.ts";

const log = logger("network");

/** The lowest and highest host port picked for `-P` and `-p CTRPORT`. */
const EPHEMERAL_FIRST = 32768;
const EPHEMERAL_LAST = 60999;

/** The network files of this runtime's root. */
export function networkStore(ctx: RuntimeContext): NetworkStore {
  return new NetworkStore(ctx.paths.networksDir, ctx.paths.lockPath("networks"));
}

/** What `--network` resolved to. */
export interface NetworkSelection {
  mode: NetworkMode;
  /** With `bridge`: the networks joined, by name. */
  networks: string[];
  /** Static addresses asked for (`--ip`, `NAME:ip=`), by network name. */
  staticIps?: Record<string, string>;
  /** Static MAC addresses asked for (`--mac-address`, `NAME:mac=`), by network name. */
  staticMacs?: Record<string, string>;
}

/** `--ip` and `--mac-address`: one static address for the container's only network. */
export interface StaticAddressFlags {
  ip?: string;
  mac?: string;
}

/**
 * Resolves `--network`: `none`, `host`, `private` (the default without `-p`), `bridge` (the
 * default network, made on first use), or `NAME[:ip=A.B.C.D,mac=XX:..][,NAME...]` of existing
 * networks. Publishing ports or asking for a static address without `--network` means `bridge`.
 * An unknown name, a static address outside the network's subnet, on its gateway or held by
 * another container, or a bridge without netavark installed, is an error here, at create.
 */
export async function resolveNetworkSelection(
  ctx: RuntimeContext,
  value: string | undefined,
  publishes: boolean,
  statics: StaticAddressFlags = {},
): Promise<NetworkSelection> {
  const flagIp = statics.ip === undefined ? undefined : parseStaticIp(statics.ip);
  const flagMac = statics.mac === undefined ? undefined : parseMac(statics.mac);
  if (value === undefined || value === "") {
    if (!publishes && flagIp === undefined && flagMac === undefined) {
      return { mode: "private", networks: [] };
    }
    value = "bridge";
  }
  if (value === "none" || value === "host" || value === "private") {
    if (publishes) {
      throw new InvalidArgError(
        `published ports need a bridge network: they cannot be used with --network ${value}`,
      );
    }
    if (flagIp !== undefined || flagMac !== undefined) {
      throw new InvalidArgError(
        `--${
          flagIp !== undefined ? "ip" : "mac-address"
        } can only be set when the network mode is bridge: invalid argument`,
      );
    }
    return { mode: value, networks: [] };
  }
  findNetavark(); // a bridge without netavark cannot start: say so now, before anything is made
  const store = networkStore(ctx);
  const selection: NetworkSelection = { mode: "bridge", networks: [] };
  const requests = parseNetworkList(value);
  for (const request of requests) {
    if (request.name === "") {
      throw new InvalidArgError(`invalid --network ${JSON.stringify(value)}`);
    }
    if (["none", "host", "private"].includes(request.name)) {
      throw new InvalidArgError(`--network ${request.name} cannot be combined with other networks`);
    }
    const network = request.name === "bridge" || request.name === DEFAULT_NETWORK
      ? await store.ensureDefault()
      : store.get(request.name);
    if (!selection.networks.includes(network.name)) selection.networks.push(network.name);
    if (request.ip !== undefined) (selection.staticIps ??= {})[network.name] = request.ip;
    if (request.mac !== undefined) (selection.staticMacs ??= {})[network.name] = request.mac;
  }
  for (const [flag, given] of [["ip", flagIp], ["mac-address", flagMac]] as const) {
    if (given === undefined) continue;
    if (selection.networks.length !== 1) {
      throw new InvalidArgError(`--${flag} can only be set for a single network: invalid argument`);
    }
    const target = flag === "ip" ? (selection.staticIps ??= {}) : (selection.staticMacs ??= {});
    target[selection.networks[0]] = given;
  }
  for (const [name, ip] of Object.entries(selection.staticIps ?? {})) {
    checkStaticIp(store.get(name), ip);
    const holder = addressHolder(ctx.db, name, ip);
    if (holder !== undefined) {
      throw new AddressInUseError(
        `IPAM error: requested ip address ${ip} is already allocated to container ID ${holder}`,
      );
    }
  }
  return selection;
}

/**
 * Resolves `-p` values and `-P` (the image's `ExposedPorts`) into mappings with every host port
 * chosen: a host port left out gets a free one (free on the host and in no container's config).
 * A fixed host port another running container publishes is refused naming that container.
 */
export function resolvePortMappings(
  ctx: RuntimeContext,
  publish: string[],
  publishAll: boolean,
  exposed: Record<string, unknown> | undefined,
): PortMapping[] {
  const mappings = publish.map(parsePublish);
  if (publishAll) {
    const taken = new Set(mappings.map((m) => `${m.container_port}/${m.protocol}`));
    for (const m of exposedPortMappings(exposed)) {
      if (!taken.has(`${m.container_port}/${m.protocol}`)) mappings.push(m);
    }
  }
  if (mappings.length === 0) return mappings;
  const inConfigs = new Set<string>();
  for (const record of ctx.containers.list()) {
    for (const p of expandHostPorts(record.config.portMappings ?? [])) {
      inConfigs.add(`${p.hostPort}/${p.protocol}`);
    }
  }
  for (const m of mappings) {
    if (m.host_port !== 0) {
      for (const p of expandHostPorts([m])) {
        const holder = portHolder(ctx.db, p.protocol, p.hostPort, p.hostIp);
        if (holder !== undefined) {
          throw new PortInUseError(
            `host port ${p.hostPort}/${p.protocol} is already published by container ${
              ctx.containers.get(holder)?.config.name ?? holder
            }`,
          );
        }
      }
      continue;
    }
    m.host_port = pickFreePorts(ctx, m, inConfigs);
    for (const p of expandHostPorts([m])) inConfigs.add(`${p.hostPort}/${p.protocol}`);
  }
  assertDistinctHostPorts(mappings);
  return mappings;
}

function pickFreePorts(ctx: RuntimeContext, m: PortMapping, inConfigs: Set<string>): number {
  const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1 - m.range;
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const start = EPHEMERAL_FIRST + ((offset + i) % span);
    let free = true;
    for (let port = start; port < start + m.range && free; port++) {
      free = !inConfigs.has(`${port}/${m.protocol}`) &&
        portHolder(ctx.db, m.protocol, port, m.host_ip) === undefined &&
        hostPortFree(port, m.protocol, m.host_ip);
    }
    if (free) return start;
  }
  throw new InvalidArgError(`no free host port left for ${m.container_port}/${m.protocol}`);
}

function hostPortFree(port: number, protocol: string, hostIp: string): boolean {
  const hostname = hostIp || "0.0.0.0";
  try {
    if (protocol === "udp") {
      Deno.listenDatagram({ port, hostname, transport: "udp" }).close();
    } else {
      Deno.listen({ port, hostname }).close();
    }
    return true;
  } catch {
    return false;
  }
}

/** The netavark driver of this runtime (its config folder and lock on the runroot). */
export function netavarkFor(ctx: RuntimeContext): Netavark {
  return new Netavark({
    configDir: ctx.paths.netavarkDir,
    lockPath: ctx.paths.lockPath("netavark"),
  });
}

/**
 * The interface each of the container's networks gets inside it, by network name: `ethN` by the
 * network's place in the list, unless `network connect`/`disconnect` recorded other names (an
 * interface keeps its name when another network leaves).
 */
export function interfaceNames(config: Readonly<ContainerConfig>): Record<string, string> {
  const out: Record<string, string> = {};
  (config.networks ?? []).forEach((name, i) => {
    out[name] = config.interfaceNames?.[name] ?? `eth${i}`;
  });
  return out;
}

/** netavark's options for `networks` of the container (all of them, or one being (dis)connected). */
export function networkOptions(
  ctr: Container,
  networks: Network[],
  leases: Record<string, string[]>,
  config: Readonly<ContainerConfig> = ctr.config,
): NetworkOptions {
  const options: NetworkOptions = {
    container_id: ctr.id,
    container_name: ctr.name,
    networks: {},
    network_info: {},
  };
  const interfaces = interfaceNames(config);
  for (const network of networks) {
    const ips = leases[network.name] ?? [];
    const mac = config.staticMacs?.[network.name];
    options.networks[network.name] = {
      interface_name: interfaces[network.name],
      ...(ips.length > 0 ? { static_ips: ips } : {}),
      ...(mac ? { static_mac: mac } : {}),
      aliases: [ctr.id.slice(0, 12)],
    };
    options.network_info[network.name] = network;
  }
  const ports = config.portMappings ?? [];
  if (ports.length > 0) options.port_mappings = ports;
  return options;
}

/**
 * What netavark will answer, as far as the container's files need it, known before it runs: the
 * address denopod leased on each network with the network's prefix and gateway, and, on a
 * network with DNS, aardvark-dns at the gateway with the search domain `dns.podman` (netavark
 * 1.4 answers so). The MAC address is left out: only netavark knows it.
 */
export function expectedStatus(
  networks: Network[],
  leases: Record<string, string[]>,
  withDns: boolean,
  interfaces: Record<string, string>,
): Record<string, StatusBlock> {
  const out: Record<string, StatusBlock> = {};
  for (const network of networks) {
    const ips = leases[network.name] ?? [];
    const gateways = network.subnets.flatMap((s) => s.gateway ?? []);
    const dns = withDns && network.dns_enabled && gateways.length > 0;
    out[network.name] = {
      ...(dns ? { dns_search_domains: ["dns.podman"], dns_server_ips: gateways } : {}),
      interfaces: {
        [interfaces[network.name]]: {
          mac_address: "",
          // a lease per subnet, in the subnets' order
          subnets: network.subnets.flatMap((subnet, i) =>
            ips[i] === undefined ? [] : [{
              ipnet: `${ips[i]}/${subnet.subnet.split("/")[1]}`,
              ...(subnet.gateway ? { gateway: subnet.gateway } : {}),
            }]
          ),
        },
      },
    };
  }
  return out;
}

/** What of a status the rundir files are written from (DNS servers, domains, addresses). */
function rundirFacts(
  status: Record<string, StatusBlock>,
  names: readonly string[],
): string {
  return JSON.stringify(names.map((name) => [
    status[name]?.dns_server_ips ?? [],
    status[name]?.dns_search_domains ?? [],
    addressesOf(status, name).map((a) => [a.ip, a.gateway]),
  ]));
}

/** A setup under way: see {@linkcode beginNetworkSetup}. */
export interface NetworkSetup {
  /** Settles when netavark is done; true when its answer changed what the rundir files say. */
  ready: Promise<boolean>;
}

/**
 * Starts setting up the container's bridge networks (the caller holds its lock) and returns
 * while netavark works, so the caller can have the OCI runtime create the container meanwhile:
 * the addresses and host ports are taken and the namespace made before this returns, and the
 * container's state holds the status netavark is expected to answer ({@linkcode expectedStatus}),
 * enough for its `resolv.conf` and `hosts`. `ready` settles when netavark is done: the state then
 * holds netavark's real answer, and it resolves true when that changes what the rundir files say
 * (write them again before the container's process runs). When it rejects, the caller tears the
 * network down ({@linkcode teardownNetwork}); when this function throws, nothing is left.
 */
export async function beginNetworkSetup(ctr: Container): Promise<NetworkSetup> {
  const { config, ctx } = ctr;
  await teardownNetwork(ctr);
  const store = networkStore(ctx);
  const names = config.networks ?? [];
  const networks = names.map((name) => store.get(name));
  const driver = netavarkFor(ctx);
  const nsPath = ctx.paths.netnsPath(ctr.id);
  let leases: Record<string, string[]> = {};
  ctx.db.transaction(() => {
    leases = Object.fromEntries(
      networks.map((n) => [n.name, leaseAddresses(ctx.db, n, ctr.id, config.staticIps?.[n.name])]),
    );
    reservePorts(
      ctx.db,
      ctr.id,
      config.portMappings ?? [],
      (id) => ctx.containers.get(id)?.config.name ?? id,
    );
    ctr.state.netNs = nsPath;
    ctr.save();
  });
  try {
    await Deno.mkdir(ctx.paths.netnsDir, { recursive: true, mode: 0o755 });
    removeNetns(nsPath); // a stale file of this container's own, from a crash
    createNetns(nsPath);
  } catch (err) {
    forgetNetworkState(ctr);
    ctx.db.transaction(() => {
      releaseContainer(ctx.db, ctr.id);
      ctr.save();
    });
    throw err;
  }
  const expected = expectedStatus(
    networks,
    leases,
    driver.aardvark !== undefined,
    interfaceNames(config),
  );
  recordStatus(ctr, expected);
  const options = networkOptions(ctr, networks, leases);
  // every network disconnected: a namespace with only loopback, as podman leaves it
  const setup = networks.length > 0 ? driver.setup(nsPath, options) : Promise.resolve({});
  const ready = setup.then((status) => {
    recordStatus(ctr, status);
    log.debug("network of {id} set up: {status}", {
      id: ctr.id,
      status: JSON.stringify(status),
    });
    return rundirFacts(status, names) !== rundirFacts(expected, names);
  });
  ready.catch(() => {}); // the caller awaits it; no unhandled rejection meanwhile
  return { ready };
}

/** Keeps netavark's status in the state, and the first network's address in the old fields. */
export function recordStatus(ctr: Container, status: Record<string, StatusBlock>): void {
  ctr.state.networkStatus = status;
  const first = firstAddress(status, ctr.config.networks?.[0]);
  ctr.state.ipAddress = first?.ip ?? "";
  ctr.state.subnetMask = first ? formatIpv4(prefixMask(first.prefixLen)) : "";
}

function forgetNetworkState(ctr: Container): void {
  ctr.state.netNs = "";
  ctr.state.ipAddress = "";
  ctr.state.subnetMask = "";
  delete ctr.state.networkStatus;
}

/**
 * Undoes {@linkcode beginNetworkSetup} (the caller holds the lock): `netavark teardown` when the
 * namespace is still there, then the namespace, the addresses and the host ports, and saves. A
 * no-op when nothing is set up, so a second call changes nothing. netavark failing is logged,
 * not thrown: the container has ended either way, and its rows must not stay taken.
 */
export async function teardownNetwork(ctr: Container): Promise<void> {
  const { ctx, state } = ctr;
  if (state.netNs === "" && !state.networkStatus && !holdsAny(ctx.db, ctr.id)) return;
  const nsPath = state.netNs || ctx.paths.netnsPath(ctr.id);
  const store = networkStore(ctx);
  const networks = (ctr.config.networks ?? []).flatMap((name) => store.find(name) ?? []);
  if (ctr.config.network === "bridge" && networks.length > 0 && netnsExists(nsPath)) {
    try {
      const driver = netavarkFor(ctx);
      await driver.teardown(nsPath, networkOptions(ctr, networks, leasesOf(ctx.db, ctr.id)));
    } catch (err) {
      log.warn("network teardown of container {name}: {err}", {
        name: ctr.name,
        err: err instanceof Error ? err.message : String(err),
      });
    }
  }
  removeNetns(nsPath);
  forgetNetworkState(ctr);
  ctx.db.transaction(() => {
    releaseContainer(ctx.db, ctr.id);
    ctr.save();
  });
  log.debug("network of {id} torn down", { id: ctr.id });
}

/** True when a namespace is still bind-mounted at `path` (never after a real reboot). */
function netnsExists(path: string): boolean {
  return isMountPoint(path);
}
