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

/** The first address netavark gave the container on `network`. */
export function firstAddress(
  status: Record<string, StatusBlock> | undefined,
  network: string | undefined,
): NetworkAddress | undefined {
  if (!status || network === undefined) return undefined;
  for (const iface of Object.values(status[network]?.interfaces ?? {})) {
    for (const subnet of iface.subnets ?? []) {
      const [ip, prefix] = subnet.ipnet.split("/");
      return {
        ip,
        prefixLen: Number(prefix),
        gateway: subnet.gateway ?? "",
        mac: iface.mac_address,
      };
    }
  }
  return undefined;
}
