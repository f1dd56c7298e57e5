/**
 * Published ports: `-p [IP:][HOSTPORT:]CTRPORT[/tcp|udp]` (with ranges, `8000-8010:80-90`) and
 * `-P` (the image's `ExposedPorts`) parsed into netavark's port mappings, and the three ways
 * podman shows them: the `ps` column (`0.0.0.0:8080->80/tcp`), `inspect`'s
 * `NetworkSettings.Ports` and `port`'s lines (`80/tcp -> 0.0.0.0:8080`).
 *
 * @example
 * ```ts
 * parsePublish("127.0.0.1:8000-8001:80-81/udp");
 * // { host_ip: "127.0.0.1", host_port: 8000, container_port: 80, range: 2, protocol: "udp" }
 * formatPsPorts([{ host_ip: "", host_port: 8080, container_port: 80, range: 1, protocol: "tcp" }]);
 * // "0.0.0.0:8080->80/tcp"
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import { parseIpv4Number } from "./ipv4.ts";
import type { PortMapping } from "./types.ts";

const PROTOCOLS = ["tcp", "udp"];

interface PortRange {
  start: number;
  count: number;
}

function parsePortRange(text: string, spec: string): PortRange {
  const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  if (!match) {
    throw new InvalidArgError(`invalid port ${JSON.stringify(text)} in -p ${JSON.stringify(spec)}`);
  }
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  for (const port of [start, end]) {
    if (port < 1 || port > 65535) {
      throw new InvalidArgError(
        `invalid port ${port} in -p ${JSON.stringify(spec)}: must be between 1 and 65535`,
      );
    }
  }
  if (end < start) {
    throw new InvalidArgError(
      `invalid port range ${JSON.stringify(text)} in -p ${
        JSON.stringify(spec)
      }: the end is before the start`,
    );
  }
  return { start, count: end - start + 1 };
}

/**
 * Parses one `-p` value. A host port left out is 0: a free one is picked at create. Throws
 * InvalidArgError naming the value (bad port, port out of range, unequal ranges, bad protocol,
 * bad IP).
 */
export function parsePublish(spec: string): PortMapping {
  if (/[\s\p{Cc}]/u.test(spec) || spec === "") {
    throw new InvalidArgError(`invalid -p ${JSON.stringify(spec)}`);
  }
  let rest = spec;
  let protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (!PROTOCOLS.includes(protocol)) {
      throw new InvalidArgError(
        `invalid protocol ${JSON.stringify(protocol)} in -p ${
          JSON.stringify(spec)
        }: must be tcp or udp`,
      );
    }
  }
  const parts = rest.split(":");
  if (parts.length > 3) {
    throw new InvalidArgError(
      `invalid -p ${JSON.stringify(spec)}: must be [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]`,
    );
  }
  const containerText = parts[parts.length - 1];
  const hostText = parts.length >= 2 ? parts[parts.length - 2] : "";
  const hostIp = parts.length === 3 ? parts[0] : "";
  if (hostIp !== "" && hostIp !== "0.0.0.0" && parseIpv4Number(hostIp) === null) {
    throw new InvalidArgError(
      `invalid host IP ${JSON.stringify(hostIp)} in -p ${
        JSON.stringify(spec)
      }: must be an IPv4 address`,
    );
  }
  const container = parsePortRange(containerText, spec);
  const host = hostText === "" ? { start: 0, count: container.count } : parsePortRange(
    hostText,
    spec,
  );
  if (host.count !== container.count) {
    throw new InvalidArgError(
      `invalid -p ${
        JSON.stringify(spec)
      }: the host port range and the container port range must be the same length`,
    );
  }
  return {
    host_ip: hostIp === "0.0.0.0" ? "" : hostIp,
    container_port: container.start,
    host_port: host.start,
    protocol,
    range: container.count,
  };
}

/**
 * The mappings `-P` asks for: one per entry of the image's `ExposedPorts` (`"80/tcp": {}`), host
 * port 0 (picked at create). Entries for other protocols are skipped.
 */
export function exposedPortMappings(exposed: Record<string, unknown> | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const [portText, protocol = "tcp"] = key.split("/");
    const port = Number(portText);
    if (!PROTOCOLS.includes(protocol) || !Number.isInteger(port) || port < 1 || port > 65535) {
      continue;
    }
    out.push({ host_ip: "", container_port: port, host_port: 0, protocol, range: 1 });
  }
  return out;
}

/** Every (host IP, host port, protocol) a list of mappings holds, one per port of each range. */
export function expandHostPorts(
  mappings: readonly PortMapping[],
): { hostIp: string; hostPort: number; protocol: string; containerPort: number }[] {
  const out = [];
  for (const m of mappings) {
    for (let i = 0; i < m.range; i++) {
      out.push({
        hostIp: m.host_ip,
        hostPort: m.host_port + i,
        protocol: m.protocol,
        containerPort: m.container_port + i,
      });
    }
  }
  return out;
}

/**
 * Checks that no host port is given twice within one container's mappings (a range counts each
 * of its ports). Throws InvalidArgError naming the port.
 */
export function assertDistinctHostPorts(mappings: readonly PortMapping[]): void {
  const seen = new Set<string>();
  for (const port of expandHostPorts(mappings)) {
    const key = `${port.hostPort}/${port.protocol}`;
    if (seen.has(key)) {
      throw new InvalidArgError(`host port ${key} is published twice`);
    }
    seen.add(key);
  }
}

function range(start: number, count: number): string {
  return count > 1 ? `${start}-${start + count - 1}` : `${start}`;
}

/** The `ps` PORTS column: `0.0.0.0:8080->80/tcp, 127.0.0.1:9000-9001->90-91/udp`. */
export function formatPsPorts(mappings: readonly PortMapping[]): string {
  return mappings.map((m) =>
    `${m.host_ip || "0.0.0.0"}:${range(m.host_port, m.range)}->${
      range(m.container_port, m.range)
    }/${m.protocol}`
  ).join(", ");
}

/** One host binding in `inspect`'s `NetworkSettings.Ports`. */
export interface InspectPortBinding {
  HostIp: string;
  HostPort: string;
}

/** `inspect`'s `NetworkSettings.Ports`: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`. */
export function inspectPorts(
  mappings: readonly PortMapping[],
): Record<string, InspectPortBinding[]> {
  const out: Record<string, InspectPortBinding[]> = {};
  for (const port of expandHostPorts(mappings)) {
    const key = `${port.containerPort}/${port.protocol}`;
    (out[key] ??= []).push({ HostIp: port.hostIp, HostPort: String(port.hostPort) });
  }
  return out;
}

/**
 * `port`'s lines, `80/tcp -> 0.0.0.0:8080`, optionally only for `filter` (`80` or `80/udp`; a
 * bare number means tcp, as podman).
 */
export function portLines(mappings: readonly PortMapping[], filter?: string): string[] {
  let want: { port: number; protocol: string } | undefined;
  if (filter !== undefined) {
    const [portText, protocol = "tcp"] = filter.split("/");
    const port = Number(portText);
    if (!/^[0-9]+$/.test(portText) || port < 1 || port > 65535 || !PROTOCOLS.includes(protocol)) {
      throw new InvalidArgError(`invalid port ${JSON.stringify(filter)}: must be PORT[/tcp|udp]`);
    }
    want = { port, protocol };
  }
  return expandHostPorts(mappings)
    .filter((p) => !want || (p.containerPort === want.port && p.protocol === want.protocol))
    .map((p) =>
      want
        ? `${p.hostIp || "0.0.0.0"}:${p.hostPort}`
        : `${p.containerPort}/${p.protocol} -> ${p.hostIp || "0.0.0.0"}:${p.hostPort}`
    );
}
