/**
 * The actions of `network create/ls/inspect/exists/rm/prune/connect/disconnect` and `port` (their flags and help
 * are in the command table, `commands.ts`). Thin: parse values, call the library, print podman's
 * output — names on create/rm/prune, `NETWORK ID NAME DRIVER` for ls, the network files' JSON for
 * inspect, `80/tcp -> 0.0.0.0:8080` for port.
 * @module
 */
import { DenopodError, InvalidArgError } from "../errors.ts";
import { eprintln, exitStatus, println, withRuntime } from "./common.ts";
import type { Invocation } from "./table/spec.ts";
import { DEFAULT_NETWORK } from "../network/store.ts";

const NETWORK_HEADERS: Record<string, string> = {
  ID: "NETWORK ID",
  Name: "NAME",
  Driver: "DRIVER",
  Subnets: "SUBNETS",
  NetworkInterface: "INTERFACE",
  Created: "CREATED",
  DNSEnabled: "DNS",
  Internal: "INTERNAL",
};

/** `network prune`'s prompt, podman's words. */
const NETWORK_PRUNE_WARNING =
  "WARNING! This will remove all networks not used by at least one container.";

function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq === 0) throw new InvalidArgError(`invalid label "${value}": the key is empty`);
    out[eq < 0 ? value : value.slice(0, eq)] = eq < 0 ? "" : value.slice(eq + 1);
  }
  return out;
}

/** `bridge` names the default network. */
function networkName(name: string): string {
  return name === "bridge" ? DEFAULT_NETWORK : name;
}

/** The flags of `network create`. */
export interface NetworkCreateFlags {
  subnet: string[];
  gateway?: string;
  internal?: boolean;
  disableDns?: boolean;
  ipv6?: boolean;
  interfaceName?: string;
  label: string[];
  driver?: string;
}

/** `network create [NAME]`: prints the name. */
export async function networkCreate(
  this: Invocation,
  name: string | undefined,
  flags: NetworkCreateFlags,
) {
  if (flags.driver !== undefined && flags.driver !== "bridge") {
    throw new InvalidArgError(`unsupported driver ${flags.driver}: only bridge`);
  }
  const labels = parseLabels(flags.label);
  const { networkStore } = await import("../container/network.ts");
  await withRuntime(this, async (runtime) => {
    const created = await networkStore(runtime).create({
      name,
      subnets: flags.subnet,
      gateway: flags.gateway,
      internal: flags.internal === true,
      disableDns: flags.disableDns === true,
      ipv6: flags.ipv6 === true,
      interfaceName: flags.interfaceName,
      labels,
    });
    println(created.name);
  });
}

/** `network ls`: the default network (made on first use) and every other one. */
export async function networkLs(
  this: Invocation,
  flags: { quiet?: boolean; trunc?: boolean; format?: string; noheading?: boolean },
) {
  const { networkStore } = await import("../container/network.ts");
  const { printRows } = await import("./output.ts");
  await withRuntime(this, async (runtime) => {
    const store = networkStore(runtime);
    await store.ensureDefault();
    const networks = store.list();
    if (flags.quiet) {
      for (const n of networks) println(n.name);
      return;
    }
    if (flags.format === "json") {
      println(JSON.stringify(networks, null, 4));
      return;
    }
    const rows = networks.map((n) => ({
      ID: flags.trunc === false ? n.id : n.id.slice(0, 12),
      Name: n.name,
      Driver: n.driver,
      Subnets: n.subnets.map((s) => s.subnet).join(","),
      NetworkInterface: n.network_interface,
      Created: n.created,
      DNSEnabled: n.dns_enabled,
      Internal: n.internal,
      Labels: n.labels ?? {},
    }));
    await printRows(
      rows,
      flags.format,
      "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
      NETWORK_HEADERS,
      flags.noheading === true,
    );
  });
}

/** `network inspect NAME...`: the networks' JSON; a missing one is an error after the rest. */
export async function networkInspect(
  this: Invocation,
  names: string[],
  flags: { format?: string },
) {
  const { networkStore } = await import("../container/network.ts");
  const { printInspect } = await import("./output.ts");
  await withRuntime(this, async (runtime) => {
    const store = networkStore(runtime);
    const found = [];
    let failure: DenopodError | undefined;
    for (const name of names.map(networkName)) {
      try {
        found.push(name === DEFAULT_NETWORK ? await store.ensureDefault() : store.get(name));
      } catch (err) {
        if (!(err instanceof DenopodError)) throw err;
        failure = err;
      }
    }
    await printInspect(found, flags.format);
    if (failure) throw failure;
  });
}

/** `network exists NAME`: exit 0 when it exists, 1 when not (the default network always does). */
export async function networkExists(this: Invocation, name: string) {
  const { networkStore } = await import("../container/network.ts");
  await withRuntime(this, (runtime) => {
    const known = networkName(name) === DEFAULT_NETWORK ||
      networkStore(runtime).find(name) !== undefined;
    exitStatus.code = known ? 0 : 1;
  });
}

/** `network rm [-f] NAME...`: prints each name removed; in use without -f exits 2. */
export async function networkRm(this: Invocation, names: string[], flags: { force?: boolean }) {
  const { removeNetwork } = await import("../container/network_admin.ts");
  await withRuntime(this, async (runtime) => {
    for (const name of names) {
      try {
        await removeNetwork(runtime, networkName(name), { force: flags.force === true });
        println(name);
      } catch (err) {
        if (!(err instanceof DenopodError)) throw err;
        eprintln(`Error: ${err.message}`);
        exitStatus.code = err.exitCode;
      }
    }
  });
}

/** `network connect [--ip IP] NETWORK CONTAINER`: prints nothing, as podman. */
export async function networkConnect(
  this: Invocation,
  network: string,
  container: string,
  flags: { ip?: string },
) {
  const { connectNetwork } = await import("../container/network_connect.ts");
  await withRuntime(this, async (runtime) => {
    await connectNetwork(runtime.lookupContainer(container), network, { ip: flags.ip });
  });
}

/** `network disconnect [-f] NETWORK CONTAINER`: prints nothing, as podman. */
export async function networkDisconnect(
  this: Invocation,
  network: string,
  container: string,
  flags: { force?: boolean },
) {
  const { disconnectNetwork } = await import("../container/network_connect.ts");
  await withRuntime(this, async (runtime) => {
    await disconnectNetwork(runtime.lookupContainer(container), network, {
      force: flags.force === true,
    });
  });
}

/** `network prune [-f]`: removes networks no container uses (never the default); prints them. */
export async function networkPrune(this: Invocation, flags: { force?: boolean }) {
  const { confirm } = await import("./housekeeping.ts");
  const { pruneNetworks } = await import("../container/network_admin.ts");
  if (!flags.force && !(await confirm(NETWORK_PRUNE_WARNING))) return;
  await withRuntime(this, async (runtime) => {
    for (const name of await pruneNetworks(runtime)) println(name);
  });
}

/**
 * `port CONTAINER [PORT]` / `port -a`: a running container's published ports, podman's lines;
 * nothing for a container that is not running.
 */
export async function port(
  this: Invocation,
  name: string | undefined,
  wanted: string | undefined,
  flags: { all?: boolean },
) {
  const { syncForDisplay } = await import("../container/lifecycle/sync.ts");
  const { portLines } = await import("../network/ports.ts");
  await withRuntime(this, async (runtime) => {
    if (!flags.all && name === undefined) {
      throw new InvalidArgError("you must provide a container name or ID, or --all");
    }
    // with --all, the one argument is the port
    const filter = flags.all ? wanted ?? name : wanted;
    const ctrs = flags.all ? runtime.allContainers() : [runtime.lookupContainer(name!)];
    for (const ctr of ctrs) {
      if (!(await syncForDisplay(ctr))) continue;
      if (ctr.state.status !== "running" && ctr.state.status !== "paused") continue;
      const lines = portLines(ctr.config.portMappings ?? [], filter);
      if (flags.all && lines.length > 0) println(ctr.id.slice(0, 12));
      for (const line of lines) println(line);
    }
  });
}
