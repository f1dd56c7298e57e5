/**
 * IPAM and host-port reservations in the state database: a container's address on each network
 * and each host port it publishes are rows that exist while its network is set up. Taking them is
 * one transaction (the caller's), so two containers starting at once can never get one address or
 * one host port; freeing them is one DELETE per table.
 *
 * @example
 * ```ts
 * db.transaction(() => {
 *   const ip = leaseAddress(db, network, id);   // "10.231.0.2"
 *   reservePorts(db, id, mappings, lookupName);  // throws PortInUseError naming the holder
 * });
 * releaseContainer(db, id);
 * ```
 * @module
 */
import { DenopodError } from "../errors.ts";
import type { StateDb } from "../state/db.ts";
import {
  containsIp,
  formatIpv4,
  hostAddress,
  isUsableHost,
  parseCidr,
  parseIpv4Number,
  subnetSize,
} from "./ipv4.ts";
import { containsIp6, formatIpv6, isIpv6, parseCidr6, parseIpv6Number } from "./ipv6.ts";
import { expandHostPorts } from "./ports.ts";
import type { Network, PortMapping } from "./types.ts";

/** Every address of the network is taken. */
export class AddressExhaustedError extends DenopodError {}

/** A static address asked for is held by another container. */
export class AddressInUseError extends DenopodError {}

/** A host port is already published by another container. */
export class PortInUseError extends DenopodError {}

/** The container holding `ip` on `network`, if any. */
export function addressHolder(db: StateDb, network: string, ip: string): string | undefined {
  return db.get<{ container_id: string }>(
    "SELECT container_id FROM network_leases WHERE network = ? AND ip = ?",
    network,
    ip,
  )?.container_id;
}

/**
 * Leases `containerId` an address in each subnet of the network (IPv4 and IPv6 on a dual-stack
 * one), in the subnets' order: `requested` (a static address, checked by the caller to lie in a
 * subnet) in its subnet, else the lowest free host address (skipping the network, gateway and
 * IPv4 broadcast addresses) — or the addresses it already holds. A requested address another
 * container holds throws AddressInUseError, in podman's words. Call inside a transaction.
 */
export function leaseAddresses(
  db: StateDb,
  network: Network,
  containerId: string,
  requested?: string,
): string[] {
  const held = db.all<{ ip: string }>(
    "SELECT ip FROM network_leases WHERE network = ? AND container_id = ?",
    network.name,
    containerId,
  ).map((r) => r.ip);
  if (held.length > 0 && (requested === undefined || held.includes(requested))) {
    return network.subnets.flatMap((s) => held.filter((ip) => inSubnet(s.subnet, ip)));
  }
  if (requested !== undefined) {
    const holder = addressHolder(db, network.name, requested);
    if (holder !== undefined) {
      throw new AddressInUseError(
        `IPAM error: requested ip address ${requested} is already allocated to container ID ${holder}`,
      );
    }
    db.run(
      "DELETE FROM network_leases WHERE network = ? AND container_id = ?",
      network.name,
      containerId,
    );
  }
  const taken = new Set(
    db.all<{ ip: string }>("SELECT ip FROM network_leases WHERE network = ?", network.name)
      .map((r) => r.ip),
  );
  const out: string[] = [];
  for (const subnet of network.subnets) {
    const ip = requested !== undefined && inSubnet(subnet.subnet, requested)
      ? requested
      : freeAddress(network, subnet.subnet, subnet.gateway, taken);
    db.run(
      "INSERT INTO network_leases (network, ip, container_id) VALUES (?, ?, ?)",
      network.name,
      ip,
      containerId,
    );
    taken.add(ip);
    out.push(ip);
  }
  return out;
}

/** Leases as {@linkcode leaseAddresses} does; returns the first subnet's address. */
export function leaseAddress(
  db: StateDb,
  network: Network,
  containerId: string,
  requested?: string,
): string {
  return leaseAddresses(db, network, containerId, requested)[0];
}

function inSubnet(subnet: string, ip: string): boolean {
  if (isIpv6(subnet) !== isIpv6(ip)) return false;
  if (isIpv6(subnet)) {
    const value = parseIpv6Number(ip);
    return value !== null && containsIp6(parseCidr6(subnet), value);
  }
  const value = parseIpv4Number(ip);
  return value !== null && containsIp(parseCidr(subnet), value);
}

function freeAddress(
  network: Network,
  subnetText: string,
  gatewayText: string | undefined,
  taken: Set<string>,
): string {
  if (isIpv6(subnetText)) {
    const cidr = parseCidr6(subnetText);
    const size = 1n << BigInt(128 - cidr.prefix);
    // one more than the addresses taken is enough to find a free one
    for (let n = 1n; n < size && n <= BigInt(taken.size) + 2n; n++) {
      const text = formatIpv6(cidr.address + n);
      if (text === gatewayText || taken.has(text)) continue;
      return text;
    }
  } else {
    const cidr = parseCidr(subnetText);
    const gateway = gatewayText ? parseIpv4Number(gatewayText) : null;
    const size = subnetSize(cidr);
    for (let n = 1; n < size; n++) {
      const ip = hostAddress(cidr, n);
      if (ip === gateway || !isUsableHost(cidr, ip)) continue;
      const text = formatIpv4(ip);
      if (!taken.has(text)) return text;
    }
  }
  throw new AddressExhaustedError(
    `network ${network.name} has no free address left in ${subnetText}`,
  );
}

/** The addresses `containerId` holds, by network name. */
export function leasesOf(db: StateDb, containerId: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (
    const row of db.all<{ network: string; ip: string }>(
      "SELECT network, ip FROM network_leases WHERE container_id = ? ORDER BY rowid",
      containerId,
    )
  ) {
    (out[row.network] ??= []).push(row.ip);
  }
  return out;
}

/** The container holding host port `port/protocol` (on `hostIp`, or on any address), if any. */
export function portHolder(
  db: StateDb,
  protocol: string,
  port: number,
  hostIp: string,
): string | undefined {
  return db.get<{ container_id: string }>(
    `SELECT container_id FROM published_ports
     WHERE protocol = ? AND host_port = ? AND (host_ip = ? OR host_ip = '' OR ? = '')`,
    protocol,
    port,
    hostIp,
    hostIp,
  )?.container_id;
}

/**
 * Reserves every host port of `mappings` for `containerId`. A port another container holds (on
 * the same address, or either on all addresses) throws PortInUseError naming that container
 * (`nameOf` turns its ID into a name). Call inside a transaction.
 */
export function reservePorts(
  db: StateDb,
  containerId: string,
  mappings: readonly PortMapping[],
  nameOf: (id: string) => string,
): void {
  for (const port of expandHostPorts(mappings)) {
    const holder = portHolder(db, port.protocol, port.hostPort, port.hostIp);
    if (holder !== undefined && holder !== containerId) {
      throw new PortInUseError(
        `host port ${port.hostPort}/${port.protocol} is already published by container ${
          nameOf(holder)
        }`,
      );
    }
    db.run(
      `INSERT OR IGNORE INTO published_ports (protocol, host_port, host_ip, container_id)
       VALUES (?, ?, ?, ?)`,
      port.protocol,
      port.hostPort,
      port.hostIp,
      containerId,
    );
  }
}

/** Frees every address and host port `containerId` holds. */
export function releaseContainer(db: StateDb, containerId: string): void {
  db.run("DELETE FROM network_leases WHERE container_id = ?", containerId);
  db.run("DELETE FROM published_ports WHERE container_id = ?", containerId);
}

/** Frees the address `containerId` holds on `network` (`network disconnect`). */
export function releaseLease(db: StateDb, containerId: string, network: string): void {
  db.run(
    "DELETE FROM network_leases WHERE container_id = ? AND network = ?",
    containerId,
    network,
  );
}

/** True when `containerId` holds any address or host port. */
export function holdsAny(db: StateDb, containerId: string): boolean {
  return db.get<{ n: number }>(
    `SELECT (SELECT COUNT(*) FROM network_leases WHERE container_id = ?) +
            (SELECT COUNT(*) FROM published_ports WHERE container_id = ?) AS n`,
    containerId,
    containerId,
  )!.n > 0;
}
