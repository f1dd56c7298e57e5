/**
 * The data netavark and podman exchange, with their JSON field names: a network (podman's
 * network file, `network inspect`), the options `netavark setup`/`teardown` read on stdin, the
 * status block `setup` prints, and a port mapping. Checked against netavark 1.4's
 * `src/network/types.rs`.
 * @module
 */

/** One subnet of a network, as in podman's network file. */
export interface NetworkSubnet {
  /** `A.B.C.D/N`. */
  subnet: string;
  /** The gateway (the bridge's address), inside the subnet. */
  gateway?: string;
}

/** A network, as podman writes it to `<name>.json` and `network inspect` prints it. */
export interface Network {
  name: string;
  /** 64 hex characters. */
  id: string;
  driver: "bridge";
  /** The bridge interface on the host. */
  network_interface: string;
  /** RFC 3339 creation time. */
  created: string;
  subnets: NetworkSubnet[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  ipam_options: Record<string, string>;
}

/** One port mapping, as netavark takes it (`range` counts ports, 1 for one). */
export interface PortMapping {
  host_ip: string;
  container_port: number;
  host_port: number;
  /** `tcp` or `udp`. */
  protocol: string;
  range: number;
}

/** What netavark needs of one network the container joins. */
export interface PerNetworkOptions {
  aliases?: string[];
  interface_name: string;
  static_ips?: string[];
  static_mac?: string;
}

/** The JSON `netavark setup`/`teardown` read. */
export interface NetworkOptions {
  container_id: string;
  container_name: string;
  networks: Record<string, PerNetworkOptions>;
  network_info: Record<string, Network>;
  port_mappings?: PortMapping[];
  dns_servers?: string[];
}

/** An address netavark gave an interface: `ipnet` holds the address with the prefix. */
export interface NetAddress {
  ipnet: string;
  gateway?: string;
}

/** One interface netavark made in the container. */
export interface NetInterface {
  mac_address: string;
  subnets?: NetAddress[];
}

/** What `netavark setup` prints for one network. */
export interface StatusBlock {
  dns_search_domains?: string[];
  dns_server_ips?: string[];
  interfaces?: Record<string, NetInterface>;
}
