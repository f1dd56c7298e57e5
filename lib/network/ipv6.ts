/**
 * IPv6 addresses and subnets as 128-bit numbers (`bigint`): parse `fd31:4159:2653::/64` and
 * `::ffff:1.2.3.4`-free text forms (hex groups with one `::`), format in RFC 5952's short form,
 * test overlap and membership, and pick a random unique local (ULA, `fd00::/8`) /64 as podman does
 * for `network create --ipv6` without a subnet. Pure; the network store and IPAM build on it.
 *
 * @example
 * ```ts
 * const net = parseCidr6("fd31:4159:2653::/64");
 * formatIpv6(net.address + 1n); // "fd31:4159:2653::1"
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** An IPv6 subnet: its network address (host bits zero) and prefix length. */
export interface Cidr6 {
  address: bigint;
  prefix: number;
}

const ALL = (1n << 128n) - 1n;

/** True when the text is an IPv6 address or subnet (it has a colon). */
export function isIpv6(text: string): boolean {
  return text.includes(":");
}

/** Parses an IPv6 address (hex groups, at most one `::`) into a number; null when malformed. */
export function parseIpv6Number(text: string): bigint | null {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.length > 39) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => part === "" ? [] : part.split(":");
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

/** Formats a number as an IPv6 address, lower case, the longest run of zero groups as `::`. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function mask(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

/** Parses `ADDR/N`; host bits must be zero. Throws InvalidArgError naming the flag and value. */
export function parseCidr6(text: string, flag = "--subnet"): Cidr6 {
  const slash = text.indexOf("/");
  const address = slash < 0 ? null : parseIpv6Number(text.slice(0, slash));
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (address === null || prefix < 0 || prefix > 128) {
    throw new InvalidArgError(`invalid ${flag} ${JSON.stringify(text)}: not an IPv6 CIDR`);
  }
  if ((address & ~mask(prefix) & ALL) !== 0n) {
    throw new InvalidArgError(
      `invalid ${flag} ${JSON.stringify(text)}: host bits are set (the network is ${
        formatCidr6({ address: address & mask(prefix), prefix })
      })`,
    );
  }
  return { address, prefix };
}

/** Formats a subnet as `ADDR/N`. */
export function formatCidr6(cidr: Cidr6): string {
  return `${formatIpv6(cidr.address)}/${cidr.prefix}`;
}

/** True when `ip` lies inside `cidr`. */
export function containsIp6(cidr: Cidr6, ip: bigint): boolean {
  return (ip & mask(cidr.prefix)) === cidr.address;
}

/** True when the two subnets share any address. */
export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const m = mask(Math.min(a.prefix, b.prefix));
  return (a.address & m) === (b.address & m);
}

/** A random unique local /64 (`fdXX:XXXX:XXXX:XXXX::/64`), as podman picks for `--ipv6`. */
export function randomUlaSubnet(): Cidr6 {
  const bytes = crypto.getRandomValues(new Uint8Array(7));
  let value = 0xfdn;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return { address: value << 64n, prefix: 64 };
}

/** The host's IPv6 routes (`/proc/net/ipv6_route`), default and host routes left out. */
export function hostSubnets6(): Cidr6[] {
  const out: Cidr6[] = [];
  try {
    for (const line of Deno.readTextFileSync("/proc/net/ipv6_route").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 2) continue;
      const prefix = parseInt(fields[1], 16);
      if (!(prefix > 0 && prefix < 128)) continue;
      out.push({ address: BigInt(`0x${fields[0]}`) & mask(prefix), prefix });
    }
  } catch {
    // no IPv6 on this host
  }
  return out;
}
