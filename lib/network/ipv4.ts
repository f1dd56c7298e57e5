/**
 * IPv4 addresses and subnets as numbers: parse `10.231.0.0/24`, test overlap and membership,
 * walk a subnet's host addresses. Pure; the network store and IPAM build on it.
 *
 * @example
 * ```ts
 * const net = parseCidr("10.231.0.0/24");
 * formatIpv4(hostAddress(net, 1)); // "10.231.0.1"
 * overlaps(net, parseCidr("10.231.0.128/25")); // true
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** An IPv4 subnet: its network address (host bits zero) and prefix length. */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  address: number;
  /** The prefix length, 0 to 32. */
  prefix: number;
}

/** Parses a dotted-quad IPv4 address into an unsigned 32-bit number; null when malformed. */
export function parseIpv4Number(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const byte = Number(part);
    if (byte > 255) return null;
    value = value * 256 + byte;
  }
  return value;
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** The netmask of a prefix length as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `A.B.C.D/N` into a subnet; host bits must be zero (podman refuses them too, so a typo
 * never silently widens a network). Throws InvalidArgError naming the flag and value.
 */
export function parseCidr(text: string, flag = "--subnet"): Cidr {
  const slash = text.indexOf("/");
  const address = slash < 0 ? null : parseIpv4Number(text.slice(0, slash));
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  const prefix = /^[0-9]{1,2}$/.test(prefixText) ? Number(prefixText) : -1;
  if (address === null || prefix < 0 || prefix > 32) {
    throw new InvalidArgError(`invalid ${flag} ${JSON.stringify(text)}: not an IPv4 CIDR`);
  }
  if ((address & ~prefixMask(prefix)) >>> 0 !== 0) {
    throw new InvalidArgError(
      `invalid ${flag} ${JSON.stringify(text)}: host bits are set (the network is ${
        formatCidr({ address: (address & prefixMask(prefix)) >>> 0, prefix })
      })`,
    );
  }
  return { address, prefix };
}

/** Formats a subnet as `A.B.C.D/N`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.address)}/${cidr.prefix}`;
}

/** The number of addresses in the subnet. */
export function subnetSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/** True when `ip` lies inside `cidr`. */
export function containsIp(cidr: Cidr, ip: number): boolean {
  return ((ip & prefixMask(cidr.prefix)) >>> 0) === cidr.address;
}

/** True when the two subnets share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = prefixMask(prefix);
  return ((a.address & mask) >>> 0) === ((b.address & mask) >>> 0);
}

/** The subnet's `n`th address (0 is the network address itself). */
export function hostAddress(cidr: Cidr, n: number): number {
  return (cidr.address + n) >>> 0;
}

/**
 * True when `ip` may be given to a host: inside the subnet and neither its network nor its
 * broadcast address (for prefixes up to /30).
 */
export function isUsableHost(cidr: Cidr, ip: number): boolean {
  if (!containsIp(cidr, ip)) return false;
  if (cidr.prefix >= 31) return true;
  const offset = ip - cidr.address;
  return offset !== 0 && offset !== subnetSize(cidr) - 1;
}
