/**
 * The container's `/etc/hosts`, built the way podman does today (the seed wrote `--add-host`
 * entries as `name ip`; they are `ip<TAB>names`). Pure: the caller reads the host's file.
 *
 * Order: `--add-host` entries, then the host's `/etc/hosts` (comments dropped, one entry per
 * line as `ip<TAB>names`), then `localhost` for `127.0.0.1` and `::1`, then
 * `host.containers.internal`, then the container's own `hostname name` entry. The last three
 * are written only with the names not already present (so a user's entry always wins).
 *
 * @example
 * ```ts
 * buildHosts({ hostHosts: "127.0.0.1 localhost\n", addHosts: ["db:10.0.0.5"], hostname: "abc",
 *   containerName: "web", network: "none", noHosts: false, hostIp: "192.0.2.2" });
 * // "10.0.0.5\tdb\n127.0.0.1\tlocalhost\n192.0.2.2\thost.containers.internal\n127.0.0.1\tabc web\n"
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import { assertNoControlChars, isIpAddress, type NetworkMode } from "./validate.ts";

/** What {@linkcode buildHosts} needs. */
export interface HostsInputs {
  /** Content of the host's `/etc/hosts`, or null when it is missing. */
  hostHosts: string | null;
  /** `--add-host` values: `name[;name2...]:ip`. */
  addHosts: string[];
  /** The container's hostname. */
  hostname: string;
  /** The container's name. */
  containerName: string;
  /** The container's network mode. */
  network: NetworkMode;
  /** `--no-hosts`: write no hosts file at all. */
  noHosts: boolean;
  /**
   * The host's address for `host.containers.internal` (`primaryHostIp()`); no such line when
   * undefined (a host with no global address).
   */
  hostIp: string | undefined;
  /**
   * The container's own addresses on its bridge networks, for its `hostname name` entry; without
   * them (a namespace with loopback only, `--network none`) the entry uses `127.0.0.1`.
   */
  containerIps?: string[];
}

/** One hosts line: an address and its names. */
export interface HostEntry {
  /** The IP address. */
  ip: string;
  /** The names for it, in order. */
  names: string[];
}

/** The name podman gives the host inside a container. */
export const HOST_CONTAINERS_INTERNAL = "host.containers.internal";

/**
 * Parses one `--add-host` value, `name[;name2...]:ip`, splitting at the first `:` so IPv6
 * addresses work. Throws {@linkcode InvalidArgError} with podman's wording on bad input.
 *
 * @example
 * ```ts
 * parseAddHost("a;b:1.2.3.4"); // { names: ["a", "b"], ip: "1.2.3.4" }
 * parseAddHost("h:::1");       // { names: ["h"], ip: "::1" }
 * ```
 */
export function parseAddHost(spec: string): { names: string[]; ip: string } {
  assertNoControlChars("--add-host", spec);
  const colon = spec.indexOf(":");
  if (colon <= 0) throw new InvalidArgError(`bad format for add-host: ${JSON.stringify(spec)}`);
  const names = spec.slice(0, colon).split(";");
  const ip = spec.slice(colon + 1);
  for (const name of names) {
    if (name === "" || /[\s#]/.test(name)) {
      throw new InvalidArgError(`bad format for add-host: ${JSON.stringify(spec)}`);
    }
  }
  if (!isIpAddress(ip)) {
    throw new InvalidArgError(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  return { names, ip };
}

/**
 * Parses hosts-file text into entries: comments after `#` dropped, lines with an address but
 * no name skipped.
 */
export function parseHostsFile(text: string): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const rawLine of text.split("\n")) {
    const hash = rawLine.indexOf("#");
    const line = hash === -1 ? rawLine : rawLine.slice(0, hash);
    const fields = line.trim().split(/\s+/).filter((f) => f !== "");
    if (fields.length < 2) continue;
    entries.push({ ip: fields[0], names: fields.slice(1) });
  }
  return entries;
}

/** Formats one hosts line, `ip<TAB>name1 name2\n`. */
export function formatHostsLine(entry: HostEntry): string {
  return `${entry.ip}\t${entry.names.join(" ")}\n`;
}

/**
 * Builds the container's hosts file text, or null with `--no-hosts` (see the module doc for
 * the order). Throws {@linkcode InvalidArgError} on a bad `--add-host`, or a hostname or name
 * with a control character or blank.
 */
export function buildHosts(inputs: HostsInputs): string | null {
  if (inputs.noHosts) return null;
  for (const [flag, value] of [["--hostname", inputs.hostname], ["--name", inputs.containerName]]) {
    assertNoControlChars(flag, value);
    if (/[\s#]/.test(value)) {
      throw new InvalidArgError(`invalid value for ${flag}: ${JSON.stringify(value)}`);
    }
  }
  const userEntries: HostEntry[] = inputs.addHosts.map(parseAddHost);
  if (inputs.hostHosts !== null) userEntries.push(...parseHostsFile(inputs.hostHosts));

  const defaults: HostEntry[] = [
    { ip: "127.0.0.1", names: ["localhost"] },
    { ip: "::1", names: ["localhost"] },
  ];
  if (inputs.hostIp !== undefined && inputs.hostIp !== "") {
    if (!isIpAddress(inputs.hostIp)) {
      throw new InvalidArgError(`invalid host address ${JSON.stringify(inputs.hostIp)}`);
    }
    defaults.push({ ip: inputs.hostIp, names: [HOST_CONTAINERS_INTERNAL] });
  }
  if (inputs.network !== "host") {
    // on a bridge the own entry names the container's addresses; in a namespace with loopback
    // only, 127.0.0.1
    const ownNames = [...new Set([inputs.hostname, inputs.containerName].filter((n) => n !== ""))];
    const ips = inputs.containerIps?.length ? inputs.containerIps : ["127.0.0.1"];
    for (const ip of ips) defaults.push({ ip, names: ownNames });
  }

  const present = new Set(userEntries.flatMap((e) => e.names));
  let text = userEntries.map(formatHostsLine).join("");
  for (const entry of defaults) {
    const free = entry.names.filter((n) => !present.has(n));
    if (free.length > 0) text += formatHostsLine({ ip: entry.ip, names: free });
  }
  return text;
}
