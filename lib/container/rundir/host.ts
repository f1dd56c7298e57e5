/**
 * Reads the host facts the rundir builders take as input: the host's resolver and hosts files
 * and its primary address (for `host.containers.internal`). The only module of the rundir
 * builders that touches the host; everything else is pure.
 *
 * @example
 * ```ts
 * const host = readHostNetworkFiles();
 * buildResolvConf({ ...host, network: "private", ipv6: false, dns: [], dnsSearch: [], dnsOptions: [] });
 * ```
 * @module
 */
import { isLoopbackAddress, parseIpv4, parseIpv6 } from "./validate.ts";

/** The largest host file read (a bigger one is cut there: a hosts file is never that big). */
const MAX_HOST_FILE = 1 << 20;

/** The host's resolver and hosts files, as the rundir builders take them. */
export interface HostNetworkFiles {
  /** `/etc/resolv.conf`, or "" when missing. */
  hostResolvConf: string;
  /** `/run/systemd/resolve/resolv.conf`, when it exists. */
  systemdResolvConf?: string;
  /** `/etc/hosts`, or null when missing. */
  hostHosts: string | null;
}

function readOptional(path: string): string | null {
  try {
    const bytes = Deno.readFileSync(path);
    return new TextDecoder().decode(bytes.subarray(0, MAX_HOST_FILE));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Reads the host's `/etc/resolv.conf`, `/run/systemd/resolve/resolv.conf` and `/etc/hosts`
 * (each may be missing; other read errors are thrown). `root` prefixes the paths, for tests.
 */
export function readHostNetworkFiles(root = ""): HostNetworkFiles {
  const systemd = readOptional(`${root}/run/systemd/resolve/resolv.conf`);
  return {
    hostResolvConf: readOptional(`${root}/etc/resolv.conf`) ?? "",
    ...(systemd === null ? {} : { systemdResolvConf: systemd }),
    hostHosts: readOptional(`${root}/etc/hosts`),
  };
}

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
