/**
 * `inspect`'s `NetworkSettings` and `ps`'s ports and networks, podman 4.3's shapes: the top-level
 * address fields filled when the container is on one network, `Networks.NAME` per network (with
 * the address, gateway, prefix and MAC netavark gave while it runs), and `Ports` from `-p`/`-P`.
 *
 * @example
 * ```ts
 * networkSettings(ctr).Networks.web.IPAddress; // "10.231.0.2" while running
 * ```
 * @module
 */
import { formatPsPorts, inspectPorts } from "../network/ports.ts";
import type { PortMapping } from "../network/types.ts";
import type { ContainerView } from "./view.ts";
import { addressesByFamily } from "../network/status.ts";

/** One network's entry in `NetworkSettings.Networks`. */
export interface InspectNetwork {
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  NetworkID: string;
  DriverOpts: null;
  IPAMConfig: null;
  Links: null;
  Aliases: string[];
}

/** `inspect`'s `NetworkSettings` for the container. */
export function networkSettings(ctr: ContainerView): Record<string, unknown> {
  const { config, state } = ctr;
  const names = config.network === "bridge" ? config.networks ?? [] : [];
  const networks: Record<string, InspectNetwork> = {};
  // by name, as podman's JSON (Go marshals a map with its keys sorted)
  for (const name of [...names].sort()) {
    const { v4, v6 } = addressesByFamily(state.networkStatus, name);
    networks[name] = {
      EndpointID: "",
      Gateway: v4?.gateway ?? "",
      IPAddress: v4?.ip ?? "",
      IPPrefixLen: v4?.prefixLen ?? 0,
      IPv6Gateway: v6?.gateway ?? "",
      GlobalIPv6Address: v6?.ip ?? "",
      GlobalIPv6PrefixLen: v6?.prefixLen ?? 0,
      MacAddress: (v4 ?? v6)?.mac ?? "",
      NetworkID: name,
      DriverOpts: null,
      IPAMConfig: null,
      Links: null,
      Aliases: [ctr.id.slice(0, 12)],
    };
  }
  const only = names.length === 1 ? networks[names[0]] : undefined;
  return {
    EndpointID: "",
    Gateway: only?.Gateway ?? "",
    IPAddress: only?.IPAddress ?? state.ipAddress,
    IPPrefixLen: only?.IPPrefixLen ?? 0,
    IPv6Gateway: only?.IPv6Gateway ?? "",
    GlobalIPv6Address: only?.GlobalIPv6Address ?? "",
    GlobalIPv6PrefixLen: only?.GlobalIPv6PrefixLen ?? 0,
    MacAddress: only?.MacAddress ?? "",
    Bridge: "",
    SandboxID: "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: inspectPorts(config.portMappings ?? []),
    SandboxKey: state.netNs,
    ...(names.length > 0 ? { Networks: networks } : {}),
  };
}

/** The `ps` PORTS column text. */
export function psPorts(ctr: ContainerView): string {
  return formatPsPorts(ctr.config.portMappings ?? []);
}

/** `ps --format json`'s `Ports`: netavark's mappings, or null when none. */
export function psPortsJson(ctr: ContainerView): PortMapping[] | null {
  const ports = ctr.config.portMappings ?? [];
  return ports.length > 0 ? ports : null;
}

/** `ps`'s `Networks`: the names of the networks the container joins. */
export function psNetworks(ctr: ContainerView): string[] {
  return ctr.config.network === "bridge" ? [...(ctr.config.networks ?? [])] : [];
}
