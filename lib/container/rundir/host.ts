/**
 * The host's primary address, which the container's `hosts` file names
 * `host.containers.internal` (as podman 4.3 writes it, with `--network none` and `host` too).
 * The host's resolver and hosts files are read by `files.ts` from the paths the runtime context
 * gives (`RuntimeContext.hostFiles`), so tests can point them elsewhere.
 *
 * @example
 * ```ts
 * buildHosts({ ...inputs, hostIp: primaryHostIp() });
 * ```
 * @module
 */
import { isLoopbackAddress, parseIpv4, parseIpv6 } from "./validate.ts";

function isLinkLocal(address: string): boolean {
  const v4 = parseIpv4(address);
  if (v4 !== null) return v4[0] === 169 && v4[1] === 254;
  const v6 = parseIpv6(address);
  return v6 !== null && v6[0] === 0xfe && (v6[1] & 0xc0) === 0x80;
}

/**
 * The host's first global IPv4 address (else its first global IPv6 one), as podman picks for
 * `host.containers.internal`; undefined when the host has none.
 */
export function primaryHostIp(): string | undefined {
  const usable = Deno.networkInterfaces().filter((i) =>
    !isLoopbackAddress(i.address) && !isLinkLocal(i.address)
  );
  return (usable.find((i) => i.family === "IPv4") ?? usable.find((i) => i.family === "IPv6"))
    ?.address;
}
