/**
 * Reading what `netavark setup` answered (kept in the container's state): the address, prefix,
 * gateway and MAC of the container's interface on one network. Pure.
 *
 * @example
 * ```ts
 * firstAddress(state.networkStatus, "web"); // { ip: "10.231.0.2", prefixLen: 24, ... }
 * ```
 * @module
 */
import type { StatusBlock } from "./types.ts";

/** An interface's address on one network, from netavark's status. */
export interface NetworkAddress {
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
}

/** The container's address on `network`: the IPv4 one, else the first (an IPv6-only network). */
export function firstAddress(
  status: Record<string, StatusBlock> | undefined,
  network: string | undefined,
): NetworkAddress | undefined {
  return addressesByFamily(status, network).v4 ?? addressesOf(status, network)[0];
}

/** Every address netavark gave the container on `network`, in its order (IPv4 and IPv6). */
export function addressesOf(
  status: Record<string, StatusBlock> | undefined,
  network: string | undefined,
): NetworkAddress[] {
  if (!status || network === undefined) return [];
  return Object.values(status[network]?.interfaces ?? {}).flatMap((iface) =>
    (iface.subnets ?? []).map((subnet) => {
      const [ip, prefix] = subnet.ipnet.split("/");
      return {
        ip,
        prefixLen: Number(prefix),
        gateway: subnet.gateway ?? "",
        mac: iface.mac_address,
      };
    })
  );
}

/** The IPv4 and IPv6 addresses of the container on `network` (the first of each family). */
export function addressesByFamily(
  status: Record<string, StatusBlock> | undefined,
  network: string | undefined,
): { v4?: NetworkAddress; v6?: NetworkAddress } {
  const all = addressesOf(status, network);
  return { v4: all.find((a) => !a.ip.includes(":")), v6: all.find((a) => a.ip.includes(":")) };
}
