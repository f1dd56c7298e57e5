/**
 * Networks as files in podman's JSON format, one `<name>.json` per network under
 * `--root/networks/`, written whole (temporary file, then rename) under a lock of their own so two
 * `network create` at once cannot both take a name, a subnet or a bridge.
 *
 * The default network (`--network bridge`) is {@linkcode DEFAULT_NETWORK} on bridge
 * {@linkcode DEFAULT_BRIDGE}: its own name and interface, so it never meets podman's `podman` /
 * `podman0`, and a subnet from {@linkcode DENOPOD_SUBNET_POOL} (10.87.0.0/16 in /24s), a range
 * podman does not pick by default (its default is 10.88.0.0/16, its pool for new networks starts
 * at 10.89.0.0/16). The first /24 that no host route, host interface or other network overlaps is
 * taken the first time the default network is used, and recorded in its file.
 *
 * @example
 * ```ts
 * const store = new NetworkStore("/var/lib/denopod/networks", "/run/denopod/locks/networks.lock");
 * await store.create({ name: "web", subnet: "10.231.0.0/24" });
 * store.get("web").subnets[0].gateway; // "10.231.0.1"
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { acquireLock } from "../sys/lockfile.ts";
import { generateId } from "../util/names.ts";
import { assertNoControlChars } from "../container/rundir/validate.ts";
import {
  type Cidr,
  containsIp,
  formatCidr,
  formatIpv4,
  hostAddress,
  isUsableHost,
  overlaps,
  parseCidr,
  parseIpv4Number,
} from "./ipv4.ts";
import type { Network, NetworkSubnet } from "./types.ts";
import {
  type Cidr6,
  containsIp6,
  formatCidr6,
  formatIpv6,
  hostSubnets6,
  isIpv6,
  overlaps6,
  parseCidr6,
  parseIpv6Number,
  randomUlaSubnet,
} from "./ipv6.ts";

/** The default network's name (what `--network bridge` joins). */
export const DEFAULT_NETWORK = "denopod";
/** The default network's bridge interface on the host. */
export const DEFAULT_BRIDGE = "denopod0";
/** Where default subnets come from: /24s of this /16, first free one first. */
export const DENOPOD_SUBNET_POOL = "10.87.0.0/16";
/** Names `--network` gives other meanings to; no network may take them. */
export const RESERVED_NETWORK_NAMES = ["none", "host", "bridge", "private", "default"];

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME = 128;
/** Linux's limit on interface names (IFNAMSIZ - 1). */
const MAX_INTERFACE_NAME = 15;

/** No network has the given name. */
export class NoSuchNetworkError extends DenopodError {
  constructor(name: string) {
    super(`unable to find network with name or ID ${name}: network not found`);
  }
}

/** The network is used by containers (`network rm` without `-f`). */
export class NetworkInUseError extends DenopodError {
  override exitCode = 2;
}

/** What `network create` takes. */
export interface NetworkCreateOptions {
  name?: string;
  subnet?: string;
  /** `--subnet` given more than once: at most one IPv4 and one IPv6 subnet. */
  subnets?: string[];
  gateway?: string;
  internal?: boolean;
  disableDns?: boolean;
  ipv6?: boolean;
  interfaceName?: string;
  labels?: Record<string, string>;
}

/** The host's subnets in use: routes and interface addresses (IPv4). */
export function hostSubnets(): Cidr[] {
  const out: Cidr[] = [];
  try {
    const lines = Deno.readTextFileSync("/proc/net/route").split("\n").slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 8) continue;
      const dest = littleEndianHex(fields[1]);
      const mask = littleEndianHex(fields[7]);
      const prefix = mask === 0 ? 0 : Math.clz32(~mask >>> 0);
      if (prefix === 0) continue; // the default route
      out.push({ address: (dest & mask) >>> 0, prefix });
    }
  } catch {
    // no /proc/net/route: the interfaces below still count
  }
  for (const iface of Deno.networkInterfaces()) {
    if (iface.family !== "IPv4") continue;
    const address = parseIpv4Number(iface.address);
    const prefix = Number(iface.cidr.split("/")[1]);
    if (address === null || !Number.isInteger(prefix) || prefix === 0) continue;
    const mask = prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
    out.push({ address: (address & mask) >>> 0, prefix });
  }
  return out;
}

function littleEndianHex(text: string): number {
  const value = parseInt(text, 16);
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) |
    (value >>> 24)) >>> 0;
}

/** The host's interface names (`/sys/class/net`). */
export function hostInterfaceNames(): Set<string> {
  const names = new Set<string>();
  try {
    for (const entry of Deno.readDirSync("/sys/class/net")) names.add(entry.name);
  } catch {
    for (const iface of Deno.networkInterfaces()) names.add(iface.name);
  }
  return names;
}

/** Validates a network name; throws InvalidArgError naming it. */
export function validateNetworkName(name: string): void {
  assertNoControlChars("network name", name);
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME) {
    throw new InvalidArgError(
      `invalid network name ${JSON.stringify(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
    );
  }
  if (RESERVED_NETWORK_NAMES.includes(name)) {
    throw new InvalidArgError(`network name ${name} is reserved`);
  }
}

/**
 * Sets `--gateway` on the subnet of its family: it must be a host address of that subnet (not the
 * network or broadcast address). Throws InvalidArgError naming the value.
 */
function applyGateway(subnets: NetworkSubnet[], gateway: string): void {
  if (isIpv6(gateway)) {
    const value = parseIpv6Number(gateway);
    const target = subnets.find((s) => isIpv6(s.subnet));
    if (value === null) throw new InvalidArgError(`invalid --gateway ${JSON.stringify(gateway)}`);
    if (!target) throw new InvalidArgError(`gateway ${gateway} has no IPv6 subnet to belong to`);
    const cidr = parseCidr6(target.subnet);
    if (!containsIp6(cidr, value) || value === cidr.address) {
      throw new InvalidArgError(
        `gateway ${gateway} is not a host address of subnet ${target.subnet}`,
      );
    }
    target.gateway = formatIpv6(value);
    return;
  }
  const parsed = parseIpv4Number(gateway);
  if (parsed === null) throw new InvalidArgError(`invalid --gateway ${JSON.stringify(gateway)}`);
  const target = subnets.find((s) => !isIpv6(s.subnet));
  if (!target) throw new InvalidArgError(`gateway ${gateway} has no IPv4 subnet to belong to`);
  const cidr = parseCidr(target.subnet);
  if (!containsIp(cidr, parsed) || !isUsableHost(cidr, parsed)) {
    throw new InvalidArgError(
      `gateway ${gateway} is not a host address of subnet ${formatCidr(cidr)}`,
    );
  }
  target.gateway = gateway;
}

/** The network files; see the module doc. */
export class NetworkStore {
  constructor(
    /** `--root/networks`. */
    readonly dir: string,
    /** The lockfile that serialises creation and removal. */
    readonly lockPath: string,
    /** Host facts, replaceable in tests. */
    readonly host: {
      subnets: () => Cidr[];
      interfaces: () => Set<string>;
      subnets6?: () => Cidr6[];
    } = {
      subnets: hostSubnets,
      interfaces: hostInterfaceNames,
      subnets6: hostSubnets6,
    },
  ) {}

  #path(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /** The network named `name`, or undefined; the default one is made on first use. */
  find(name: string): Network | undefined {
    if (!NAME_PATTERN.test(name)) return undefined;
    try {
      return JSON.parse(Deno.readTextFileSync(this.#path(name))) as Network;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw new DenopodError(`cannot read network ${name}: ${(err as Error).message}`);
    }
  }

  /** The network named `name` or with that ID (prefix); throws NoSuchNetworkError. */
  get(nameOrId: string): Network {
    const byName = this.find(nameOrId);
    if (byName) return byName;
    if (/^[0-9a-f]{3,64}$/.test(nameOrId)) {
      const matches = this.list().filter((n) => n.id.startsWith(nameOrId));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) {
        throw new InvalidArgError(`network ID ${nameOrId} is ambiguous`);
      }
    }
    throw new NoSuchNetworkError(nameOrId);
  }

  /** Every network, by name. */
  list(): Network[] {
    const out: Network[] = [];
    try {
      for (const entry of Deno.readDirSync(this.dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        const network = this.find(entry.name.slice(0, -5));
        if (network) out.push(network);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The default network, made (with the first free subnet of the pool) when missing. */
  async ensureDefault(): Promise<Network> {
    return this.find(DEFAULT_NETWORK) ??
      await this.#createLocked({ name: DEFAULT_NETWORK, interfaceName: DEFAULT_BRIDGE }, true);
  }

  /** Creates a network (see NetworkCreateOptions); throws InvalidArgError on bad input. */
  async create(options: NetworkCreateOptions): Promise<Network> {
    if (options.name !== undefined) validateNetworkName(options.name);
    return await this.#createLocked(options, false);
  }

  async #createLocked(options: NetworkCreateOptions, isDefault: boolean): Promise<Network> {
    const given = [...(options.subnets ?? []), ...(options.subnet ? [options.subnet] : [])];
    const given4 = given.filter((t) => !isIpv6(t));
    const given6 = given.filter(isIpv6);
    if (given4.length > 1 || given6.length > 1) {
      throw new InvalidArgError("a network takes at most one IPv4 and one IPv6 --subnet");
    }
    // podman: --ipv6 adds a unique local /64 when no IPv6 subnet is given, and an IPv4 subnet
    // joins unless only an IPv6 one was given without --ipv6
    const want6 = options.ipv6 === true || given6.length > 0;
    const want4 = given4.length > 0 || !(given6.length > 0 && options.ipv6 !== true);
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(this.lockPath);
    try {
      const existing = this.list();
      const name = options.name ?? this.#freeName(existing);
      const already = existing.find((n) => n.name === name);
      if (already) {
        if (isDefault) return already;
        throw new InvalidArgError(`network name ${name} already used: network already exists`);
      }
      // the given subnets in their order, then the ones picked (IPv4 first), as podman
      const subnets: NetworkSubnet[] = given.map((text) =>
        isIpv6(text) ? this.#subnet6(existing, text) : this.#subnet4(existing, text)
      );
      if (want4 && given4.length === 0) subnets.push(this.#subnet4(existing, undefined));
      if (want6 && given6.length === 0) subnets.push(this.#subnet6(existing, undefined));
      if (options.gateway !== undefined) applyGateway(subnets, options.gateway);
      const interfaceName = options.interfaceName ?? this.#freeInterface(existing);
      if (
        interfaceName.length > MAX_INTERFACE_NAME || !/^[a-zA-Z0-9_.-]+$/.test(interfaceName)
      ) {
        throw new InvalidArgError(`invalid interface name ${JSON.stringify(interfaceName)}`);
      }
      if (existing.some((n) => n.network_interface === interfaceName)) {
        throw new InvalidArgError(`bridge name ${interfaceName} already in use`);
      }
      const network: Network = {
        name,
        id: generateId(),
        driver: "bridge",
        network_interface: interfaceName,
        created: new Date().toISOString(),
        subnets,
        ipv6_enabled: want6,
        internal: options.internal === true,
        dns_enabled: options.disableDns !== true,
        ...(options.labels && Object.keys(options.labels).length > 0
          ? { labels: options.labels }
          : {}),
        ipam_options: { driver: "host-local" },
      };
      const tmp = `${this.#path(name)}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(network, null, 5) + "\n", { mode: 0o644 });
      await Deno.rename(tmp, this.#path(name));
      return network;
    } finally {
      lock.release();
    }
  }

  /** The IPv4 subnet: the one given (checked against networks and host), else a free one. */
  #subnet4(existing: Network[], given: string | undefined): NetworkSubnet {
    const used = existing.flatMap((n) =>
      n.subnets.filter((s) => !isIpv6(s.subnet)).map((s) => parseCidr(s.subnet))
    );
    const hostUsed = this.host.subnets();
    if (given === undefined) {
      const subnet = this.#freeSubnet([...used, ...hostUsed]);
      return { subnet: formatCidr(subnet), gateway: formatIpv4(hostAddress(subnet, 1)) };
    }
    const subnet = parseCidr(given);
    if (subnet.prefix > 30) {
      throw new InvalidArgError(
        `invalid --subnet ${given}: a /${subnet.prefix} has no room for containers`,
      );
    }
    const clash = existing.find((n) =>
      n.subnets.some((s) => !isIpv6(s.subnet) && overlaps(parseCidr(s.subnet), subnet))
    );
    if (clash) {
      throw new InvalidArgError(
        `subnet ${formatCidr(subnet)} overlaps network ${clash.name} (${
          clash.subnets.map((s) => s.subnet).join(", ")
        })`,
      );
    }
    const hostClash = hostUsed.find((c) => overlaps(c, subnet));
    if (hostClash) {
      throw new InvalidArgError(
        `subnet ${formatCidr(subnet)} is already used on the host (${formatCidr(hostClash)})`,
      );
    }
    return { subnet: formatCidr(subnet), gateway: formatIpv4(hostAddress(subnet, 1)) };
  }

  /** The IPv6 subnet: the one given (checked), else a random unique local /64 nothing uses. */
  #subnet6(existing: Network[], given: string | undefined): NetworkSubnet {
    const used = existing.flatMap((n) =>
      n.subnets.filter((s) => isIpv6(s.subnet)).map((s) => parseCidr6(s.subnet))
    );
    const hostUsed = this.host.subnets6?.() ?? [];
    const withGateway = (c: Cidr6) => ({
      subnet: formatCidr6(c),
      gateway: formatIpv6(c.address + 1n),
    });
    if (given === undefined) {
      for (let attempt = 0; attempt < 32; attempt++) {
        const candidate = randomUlaSubnet();
        if (![...used, ...hostUsed].some((c) => overlaps6(c, candidate))) {
          return withGateway(candidate);
        }
      }
      throw new InvalidArgError("no free IPv6 subnet found: give one with --subnet");
    }
    const subnet = parseCidr6(given);
    if (subnet.prefix > 126) {
      throw new InvalidArgError(
        `invalid --subnet ${given}: a /${subnet.prefix} has no room for containers`,
      );
    }
    const clash = existing.find((n) =>
      n.subnets.some((s) => isIpv6(s.subnet) && overlaps6(parseCidr6(s.subnet), subnet))
    );
    if (clash) {
      throw new InvalidArgError(
        `subnet ${formatCidr6(subnet)} overlaps network ${clash.name} (${
          clash.subnets.map((s) => s.subnet).join(", ")
        })`,
      );
    }
    const hostClash = hostUsed.find((c) => overlaps6(c, subnet));
    if (hostClash) {
      throw new InvalidArgError(
        `subnet ${formatCidr6(subnet)} is already used on the host (${formatCidr6(hostClash)})`,
      );
    }
    return withGateway(subnet);
  }

  #freeName(existing: Network[]): string {
    const names = new Set(existing.map((n) => n.name));
    for (let i = 1;; i++) if (!names.has(`denopod${i}`)) return `denopod${i}`;
  }

  #freeInterface(existing: Network[]): string {
    const taken = new Set([
      ...existing.map((n) => n.network_interface),
      ...this.host.interfaces(),
    ]);
    for (let i = 1;; i++) if (!taken.has(`denopod${i}`)) return `denopod${i}`;
  }

  #freeSubnet(used: Cidr[]): Cidr {
    const pool = parseCidr(DENOPOD_SUBNET_POOL);
    for (let i = 0; i < 256; i++) {
      const candidate: Cidr = { address: (pool.address + i * 256) >>> 0, prefix: 24 };
      if (!used.some((c) => overlaps(c, candidate))) return candidate;
    }
    throw new InvalidArgError(
      `no free subnet left in ${DENOPOD_SUBNET_POOL}: give one with --subnet`,
    );
  }

  /** Removes a network's file (the caller checked that no container uses it). */
  async remove(name: string): Promise<void> {
    const lock = await acquireLock(this.lockPath);
    try {
      await Deno.remove(this.#path(name));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new NoSuchNetworkError(name);
      throw err;
    } finally {
      lock.release();
    }
  }
}
