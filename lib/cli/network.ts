/**
 * `network create/ls/inspect/rm/prune/exists` and `port`. Thin: parse flags, call the library,
 * print (podman's output: names on create/rm/prune, `NETWORK ID NAME DRIVER` for ls, the network
 * files' JSON for inspect).
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { DenopodError, InvalidArgError } from "../errors.ts";
import { collect, eprintln, exitStatus, println, withRuntime } from "./common.ts";

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

function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq === 0) throw new InvalidArgError(`invalid label "${value}": the key is empty`);
    out[eq < 0 ? value : value.slice(0, eq)] = eq < 0 ? "" : value.slice(eq + 1);
  }
  return out;
}

async function confirm(question: string): Promise<boolean> {
  Deno.stdout.writeSync(new TextEncoder().encode(question));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  if (n === null) return false;
  return /^\s*y(es)?\s*$/i.test(new TextDecoder().decode(buf.subarray(0, n)));
}

/** Registers `network ...` and `port` on `program`. */
export function registerNetworkCommands(program: Command): void {
  const network = program.command("network").description("manage bridge networks");

  network.command("create").description("create a bridge network")
    .argument("[name]")
    .option("--subnet <cidr>", "the network's IPv4 subnet (default: a free /24 of 10.87.0.0/16)")
    .option("--gateway <ip>", "the bridge's address (default: the subnet's first)")
    .option("--internal", "no route out of the network")
    .option("--disable-dns", "no aardvark-dns names on this network")
    .option("--ipv6", "IPv6 (not supported)")
    .option("--interface-name <name>", "the bridge interface's name (default: denopodN)")
    .option("--label <key=value>", "set a label", collect, [] as string[])
    .addOption(new Option("-d, --driver <driver>", "only bridge").default("bridge"))
    .action(async function (name, flags) {
      if (flags.driver !== "bridge") {
        throw new InvalidArgError(`unsupported driver ${flags.driver}: only bridge`);
      }
      const { networkStore } = await import("../container/network.ts");
      await withRuntime(this, async (runtime) => {
        const created = await networkStore(runtime).create({
          name,
          subnet: flags.subnet,
          gateway: flags.gateway,
          internal: flags.internal === true,
          disableDns: flags.disableDns === true,
          ipv6: flags.ipv6 === true,
          interfaceName: flags.interfaceName,
          labels: parseLabels(flags.label),
        });
        println(created.name);
      });
    });

  network.command("ls").alias("list").description("list networks")
    .option("-q, --quiet", "print only the names")
    .option("--no-trunc", "do not truncate the IDs")
    .option("--format <format>", "json, or a Go template")
    .action(async function (flags) {
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
        printRows(rows, flags.format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}", NETWORK_HEADERS);
      });
    });

  network.command("inspect").description("show networks as a JSON array")
    .argument("<names...>")
    .option("-f, --format <format>", "json, or a Go template")
    .action(async function (names, flags) {
      const { networkStore } = await import("../container/network.ts");
      const { printInspect } = await import("./output.ts");
      await withRuntime(this, async (runtime) => {
        const store = networkStore(runtime);
        if (names.some((n) => n === "bridge" || n === "denopod")) await store.ensureDefault();
        const found = [];
        let failure: DenopodError | undefined;
        for (const name of names) {
          try {
            found.push(store.get(name === "bridge" ? "denopod" : name));
          } catch (err) {
            if (!(err instanceof DenopodError)) throw err;
            failure = err;
          }
        }
        printInspect(found, flags.format);
        if (failure) throw failure;
      });
    });

  network.command("exists").description("exit 0 when the network exists, 1 when not")
    .argument("<name>")
    .action(async function (name) {
      const { networkStore } = await import("../container/network.ts");
      await withRuntime(this, (runtime) => {
        const store = networkStore(runtime);
        if (!store.find(name) && !(name === "denopod" || name === "bridge")) exitStatus.code = 1;
      });
    });

  network.command("rm").alias("remove").description("remove networks")
    .argument("<names...>")
    .option("-f, --force", "remove the containers using them too")
    .action(async function (names, flags) {
      const { removeNetwork } = await import("../container/network_admin.ts");
      await withRuntime(this, async (runtime) => {
        for (const name of names) {
          try {
            await removeNetwork(runtime, name, { force: flags.force === true });
            println(name);
          } catch (err) {
            if (!(err instanceof DenopodError)) throw err;
            eprintln(`Error: ${err.message}`);
            exitStatus.code = err.exitCode;
          }
        }
      });
    });

  network.command("prune").description("remove networks no container uses")
    .option("-f, --force", "do not ask for confirmation")
    .action(async function (flags) {
      const { pruneNetworks } = await import("../container/network_admin.ts");
      if (
        !flags.force &&
        !(await confirm(
          "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] ",
        ))
      ) {
        return;
      }
      await withRuntime(this, async (runtime) => {
        for (const name of await pruneNetworks(runtime)) println(name);
      });
    });

  program.command("port").description("list a container's published ports")
    .argument("[name]")
    .argument("[port]")
    .option("-a, --all", "every container's")
    .action(async function (name, port, flags) {
      const { syncForDisplay } = await import("../container/lifecycle/sync.ts");
      const { portLines } = await import("../network/ports.ts");
      await withRuntime(this, async (runtime) => {
        if (!flags.all && name === undefined) {
          throw new InvalidArgError("you must provide a container name or ID, or --all");
        }
        if (flags.all && port === undefined && name !== undefined) port = name;
        const ctrs = flags.all ? runtime.allContainers() : [runtime.lookupContainer(name!)];
        for (const ctr of ctrs) {
          if (!(await syncForDisplay(ctr))) continue;
          if (ctr.state.status !== "running" && ctr.state.status !== "paused") continue;
          const lines = portLines(ctr.config.portMappings ?? [], flags.all ? undefined : port);
          if (flags.all && lines.length > 0) println(ctr.id.slice(0, 12));
          for (const line of lines) println(line);
        }
      });
    });
}
