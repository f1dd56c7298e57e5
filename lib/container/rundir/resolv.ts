/**
 * The container's `/etc/resolv.conf`, built from the host's file and the `--dns*` flags the way
 * podman does today (the seed's two faults fixed: no empty `search` line, and `.` mixed with
 * other domains is refused). Pure: the caller reads the host files and writes the result.
 *
 * Rules, in order:
 * - `--network none`: nothing to resolve through; the file is empty and any `--dns*` flag is an
 *   error (podman 4.3: `conflicting options: dns and the network mode: none`).
 * - The host file is `/etc/resolv.conf`; in a private network namespace, when its only server is
 *   systemd-resolved's stub `127.0.0.53`, `/run/systemd/resolve/resolv.conf` is used instead.
 * - In a private namespace loopback servers, IPv6 servers (unless the container has IPv6) and
 *   link-local `%zone` servers are dropped; when none is left, none is written and a warning is
 *   returned (an air-gapped host has no public resolver to fall back on).
 * - `--dns` replaces the servers (each must be an IP address), `--dns-search` the domains
 *   (`.` alone means no `search` line), `--dns-option` the options.
 *
 * @example
 * ```ts
 * buildResolvConf({ hostResolvConf: "nameserver 127.0.0.1\nnameserver 10.0.0.2\n",
 *   network: "private", ipv6: false, dns: [], dnsSearch: ["example.com"], dnsOptions: [] });
 * // { text: "search example.com\nnameserver 10.0.0.2\n", warnings: [] }
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import { parseAddHost } from "./hosts.ts";
import {
  assertNoControlChars,
  isIpAddress,
  isIpv6Address,
  isLoopbackAddress,
  type NetworkMode,
} from "./validate.ts";

export type { NetworkMode };

/** The three things a resolv.conf says that a container needs: servers, search domains, options. */
export interface ResolvConf {
  /** `nameserver` addresses, in file order. */
  nameservers: string[];
  /** `search` domains (the last `search` or `domain` line wins, as in glibc). */
  search: string[];
  /** `options` entries, from every `options` line in order. */
  options: string[];
}

/** What {@linkcode buildResolvConf} needs: the host's files and the container's flags. */
export interface ResolvInputs {
  /** Content of the host's `/etc/resolv.conf` (empty when missing). */
  hostResolvConf: string;
  /** Content of `/run/systemd/resolve/resolv.conf`; undefined or null when it does not exist. */
  systemdResolvConf?: string | null;
  /** The container's network mode. */
  network: NetworkMode;
  /** Whether the container's network has IPv6 (keeps IPv6 servers in a private namespace). */
  ipv6: boolean;
  /** `--dns` values: replace the servers. */
  dns: string[];
  /** `--dns-search` values: replace the search domains; `.` alone means none. */
  dnsSearch: string[];
  /** `--dns-option` values: replace the options. */
  dnsOptions: string[];
}

/** The file text to write, and warnings to show the user (one line each). */
export interface ResolvResult {
  /** The content of the container's resolv.conf. */
  text: string;
  /** Warnings, e.g. that no nameserver is left. */
  warnings: string[];
}

/** The address systemd-resolved's stub listens on. */
export const SYSTEMD_RESOLVED_STUB = "127.0.0.53";

/**
 * Parses resolv.conf text: comments (`#`, `;`) and unknown lines are dropped; a keyword must be a
 * whole word (`nameserverX` is not a server line).
 *
 * @example
 * ```ts
 * parseResolvConf("# c\nsearch a b\nnameserver 1.1.1.1\noptions ndots:2\n");
 * // { nameservers: ["1.1.1.1"], search: ["a", "b"], options: ["ndots:2"] }
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const result: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const rawLine of text.split("\n")) {
    const comment = rawLine.search(/[#;]/);
    const line = comment === -1 ? rawLine : rawLine.slice(0, comment);
    const fields = line.trim().split(/\s+/).filter((f) => f !== "");
    if (fields.length < 2) continue;
    const [keyword, ...values] = fields;
    switch (keyword) {
      case "nameserver":
        result.nameservers.push(values[0]);
        break;
      case "search":
        result.search = values;
        break;
      case "domain":
        result.search = [values[0]];
        break;
      case "options":
        result.options.push(...values);
        break;
    }
  }
  return result;
}

/**
 * Renders a resolv.conf: one `search` line (only when there are domains), one `nameserver` line
 * per server, one `options` line (only when there are options).
 *
 * @example
 * ```ts
 * renderResolvConf({ nameservers: ["10.0.0.2"], search: [], options: ["ndots:2", "edns0"] });
 * // "nameserver 10.0.0.2\noptions ndots:2 edns0\n"
 * ```
 */
export function renderResolvConf(r: ResolvConf): string {
  let out = "";
  if (r.search.length > 0) out += `search ${r.search.join(" ")}\n`;
  for (const server of r.nameservers) out += `nameserver ${server}\n`;
  if (r.options.length > 0) out += `options ${r.options.join(" ")}\n`;
  return out;
}

/** The flags {@linkcode validateDnsFlags} checks together. */
export interface DnsFlags {
  /** The container's network mode. */
  network: NetworkMode;
  /** `--dns` values. */
  dns: string[];
  /** `--dns-search` values. */
  dnsSearch: string[];
  /** `--dns-option` values. */
  dnsOptions: string[];
  /** `--add-host` values, when they are to be checked too. */
  addHosts?: string[];
}

/**
 * Checks the `--dns`, `--dns-search`, `--dns-option` (and `--add-host`) values before anything
 * is made: no control characters or blanks, `--dns` values are IP addresses, `.` is not mixed
 * with other domains, no `--dns*` flag with `--network none`, each `--add-host` parses.
 * Throws {@linkcode InvalidArgError} with podman's wording where podman has one.
 *
 * @example
 * ```ts
 * validateDnsFlags({ network: "none", dns: ["1.1.1.1"], dnsSearch: [], dnsOptions: [] });
 * // InvalidArgError: conflicting options: dns and the network mode: none
 * ```
 */
export function validateDnsFlags(flags: DnsFlags): void {
  const { network, dns, dnsSearch, dnsOptions } = flags;
  const checkWord = (flag: string, value: string) => {
    assertNoControlChars(flag, value);
    if (/\s/.test(value)) {
      throw new InvalidArgError(
        `invalid value for ${flag}: ${JSON.stringify(value)} contains whitespace`,
      );
    }
  };
  for (const server of dns) {
    checkWord("--dns", server);
    if (!isIpAddress(server)) throw new InvalidArgError(`${server} is not an ip address`);
  }
  for (const domain of dnsSearch) checkWord("--dns-search", domain);
  for (const option of dnsOptions) checkWord("--dns-option", option);
  for (const spec of flags.addHosts ?? []) parseAddHost(spec);
  const domains = dnsSearch.filter((d) => d !== "");
  if (domains.includes(".") && domains.length > 1) {
    throw new InvalidArgError("cannot pass additional search domains when also specifying '.'");
  }
  const anyDns = dns.length > 0 || domains.length > 0 || dnsOptions.some((o) => o !== "");
  if (network === "none" && anyDns) {
    throw new InvalidArgError("conflicting options: dns and the network mode: none");
  }
}

/** True when a nameserver can be reached from a private network namespace. */
function usableInPrivateNamespace(server: string, ipv6: boolean): boolean {
  if (server.includes("%")) return false; // link-local with a zone: names a host interface
  if (!isIpAddress(server)) return false;
  if (isLoopbackAddress(server)) return false;
  if (!ipv6 && isIpv6Address(server)) return false;
  return true;
}

/**
 * Builds the container's resolv.conf text from the host's file(s) and the `--dns*` flags (see
 * the module doc for the rules). Throws {@linkcode InvalidArgError} on bad flags.
 *
 * @example
 * ```ts
 * buildResolvConf({ hostResolvConf: "nameserver 127.0.0.53\n", systemdResolvConf:
 *   "nameserver 192.0.2.1\n", network: "private", ipv6: false, dns: [], dnsSearch: [],
 *   dnsOptions: [] }).text; // "nameserver 192.0.2.1\n"
 * ```
 */
export function buildResolvConf(inputs: ResolvInputs): ResolvResult {
  validateDnsFlags(inputs);
  if (inputs.network === "none") return { text: "", warnings: [] };

  const warnings: string[] = [];
  const privateNs = inputs.network === "private";
  let source = "/etc/resolv.conf";
  let conf = parseResolvConf(inputs.hostResolvConf);
  const onlyStub = conf.nameservers.length === 1 && conf.nameservers[0] === SYSTEMD_RESOLVED_STUB;
  if (privateNs && onlyStub && typeof inputs.systemdResolvConf === "string") {
    source = "/run/systemd/resolve/resolv.conf";
    conf = parseResolvConf(inputs.systemdResolvConf);
  }

  const domains = inputs.dnsSearch.filter((d) => d !== "");
  const options = inputs.dnsOptions.filter((o) => o !== "");
  if (inputs.dns.length > 0) {
    conf.nameservers = [...inputs.dns];
  } else if (privateNs) {
    conf.nameservers = conf.nameservers.filter((s) => usableInPrivateNamespace(s, inputs.ipv6));
    if (conf.nameservers.length === 0) {
      warnings.push(
        `no usable nameserver in ${source} for a private network namespace (loopback, ` +
          `link-local${inputs.ipv6 ? "" : " and IPv6"} servers are dropped): the container's ` +
          `resolv.conf has none; use --dns to set one`,
      );
    }
  }
  if (domains.length > 0) conf.search = domains[0] === "." ? [] : domains;
  if (options.length > 0) conf.options = options;
  return { text: renderResolvConf(conf), warnings };
}
