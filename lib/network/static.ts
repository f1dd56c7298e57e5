/**
 * Static addresses: `--ip`, `--mac-address` and `--network NAME:ip=A.B.C.D,mac=XX:...`, parsed and
 * checked the way podman 4.3 words it, before a container is made: the address must be an IPv4
 * address inside the network's subnet, neither its gateway nor its network or broadcast address
 * (podman 4.3 accepts those and leaves a container that cannot reach anything), and the MAC six
 * bytes. Whether the address is free is IPAM's question (`leaseAddress`).
 *
 * @example
 * ```ts
 * parseNetworkList("web:ip=10.231.0.9,mac=02:42:ac:11:00:09,db");
 * // [{ name: "web", ip: "10.231.0.9", mac: "02:42:ac:11:00:09" }, { name: "db" }]
 * checkStaticIp(network, "10.231.0.1"); // throws: the gateway
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import {
  containsIp,
  formatCidr,
  hostAddress,
  isUsableHost,
  parseCidr,
  parseIpv4Number,
} from "./ipv4.ts";
import { isIpv6 } from "./ipv6.ts";
import type { Network } from "./types.ts";

/** One entry of `--network`: a name, and the static address and MAC asked for on it. */
export interface NetworkRequest {
  name: string;
  ip?: string;
  mac?: string;
}

/**
 * Splits a `--network` value into networks: `NAME[,NAME...]`, where a name may carry options
 * (`NAME:ip=...,mac=...`); a part after such options that is `key=value` belongs to them. An
 * unknown option is refused as podman refuses it.
 */
export function parseNetworkList(value: string): NetworkRequest[] {
  const out: NetworkRequest[] = [];
  let current: NetworkRequest | undefined;
  let inOptions = false;
  for (const part of value.split(",")) {
    const colon = part.indexOf(":");
    const eq = part.indexOf("=");
    if (inOptions && current && eq > 0 && (colon < 0 || eq < colon)) {
      applyOption(current, part);
      continue;
    }
    const name = (colon < 0 ? part : part.slice(0, colon)).trim();
    current = { name };
    out.push(current);
    inOptions = colon >= 0;
    if (inOptions) applyOption(current, part.slice(colon + 1));
  }
  return out;
}

function applyOption(request: NetworkRequest, option: string): void {
  const eq = option.indexOf("=");
  const key = eq < 0 ? option : option.slice(0, eq);
  const value = eq < 0 ? "" : option.slice(eq + 1);
  if (key === "ip") {
    request.ip = parseStaticIp(value);
  } else if (key === "mac") {
    request.mac = parseMac(value);
  } else {
    throw new InvalidArgError(
      `invalid option for network ${request.name}: unknown bridge network option: ${key}`,
    );
  }
}

/** Checks an IPv4 address's form; podman's words when it is none. */
export function parseStaticIp(text: string): string {
  const value = parseIpv4Number(text);
  if (value === null) throw new InvalidArgError(`${JSON.stringify(text)} is not an ip address`);
  return text;
}

/** Parses a six-byte MAC (`:` or `-` between bytes) into lower-case `aa:bb:cc:dd:ee:ff`. */
export function parseMac(text: string): string {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new InvalidArgError(`address ${text}: invalid MAC address`);
  }
  const mac = text.toLowerCase().replaceAll("-", ":");
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw new InvalidArgError(`address ${text}: a multicast MAC address cannot be an interface's`);
  }
  return mac;
}

/**
 * Checks that `ip` can be a container's address on `network`: inside its subnet (podman's words
 * otherwise), and neither the gateway nor the subnet's network or broadcast address.
 */
export function checkStaticIp(network: Network, ip: string): void {
  const value = parseIpv4Number(parseStaticIp(ip))!;
  const subnet = network.subnets.filter((s) => !isIpv6(s.subnet))
    .map((s) => ({ ...s, cidr: parseCidr(s.subnet) }))
    .find((s) => containsIp(s.cidr, value));
  if (!subnet) {
    throw new InvalidArgError(
      `requested static ip ${ip} not in any subnet on network ${network.name}`,
    );
  }
  if (subnet.gateway === ip) {
    throw new InvalidArgError(
      `requested static ip ${ip} is the gateway of network ${network.name}`,
    );
  }
  if (!isUsableHost(subnet.cidr, value)) {
    const which = value === hostAddress(subnet.cidr, 0) ? "network" : "broadcast";
    throw new InvalidArgError(
      `requested static ip ${ip} is the ${which} address of subnet ${formatCidr(subnet.cidr)}`,
    );
  }
}
