/**
 * What the bridge-network integration tests share: a test-only network per test (name and bridge
 * starting `dptest`, subnet 10.231.N.0/24, a host port), the firewall lines, veths and netns files
 * that must be gone after, and `withNetwork`, which scrubs whatever a failing test left behind.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denopod, denopodOk, importBusybox, listDir, type Roots, withRoots } from "./denopod.ts";
import { pollFor, ROOT_TEST } from "./running.ts";

export const HAVE_NETAVARK = ["/usr/lib/podman/netavark", "/usr/libexec/podman/netavark"].some(
  (p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  },
);

export const NET_TEST = { ...ROOT_TEST, ignore: ROOT_TEST.ignore || !HAVE_NETAVARK };

/** One test's network: its name, bridge, subnet prefix (`10.231.N.`) and a free host port. */
export interface TestNet {
  name: string;
  bridge: string;
  subnet: string;
  prefix: string;
  port: number;
}

export function testNet(n: number): TestNet {
  return {
    name: `dptest${n}`,
    bridge: `dptestbr${n}`,
    subnet: `10.231.${n}.0/24`,
    prefix: `10.231.${n}.`,
    port: 18200 + n,
  };
}

export async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** `iptables-save` lines (nat and filter) that mention the test's subnet or a container ID. */
export async function firewallLinesFor(net: TestNet, ids: string[] = []): Promise<string[]> {
  const dump = await output("iptables-save", []);
  return dump.split("\n").filter((line) =>
    line.includes(net.prefix) || ids.some((id) => line.includes(id.slice(0, 12)))
  );
}

export async function linkExists(name: string): Promise<boolean> {
  try {
    await Deno.stat(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** The veth interfaces attached to the bridge (none once every container is torn down). */
export function bridgePorts(bridge: string): string[] {
  return listDir(`/sys/class/net/${bridge}/brif`);
}

/**
 * Removes everything of the test's network that may be left: containers and the network through
 * denopod, then (only if still there) its firewall rules, bridge and aardvark-dns.
 */
export async function scrub(roots: Roots, net: TestNet): Promise<void> {
  await denopod(roots, ["rm", "-a", "-f", "-t", "0"]);
  await denopod(roots, ["network", "rm", "-f", net.name]);
  for (const line of await firewallLinesFor(net)) {
    if (!line.startsWith("-A ")) continue;
    const table = line.includes("DNAT") || line.includes("MASQUERADE") ||
        line.includes("NETAVARK-HOSTPORT") || line.includes("-DN-")
      ? "nat"
      : "filter";
    await new Deno.Command("sh", {
      args: ["-c", `iptables -t ${table} ${line.replace(/^-A /, "-D ")}`],
      stderr: "null",
    }).output();
  }
  if (await linkExists(net.bridge)) {
    await new Deno.Command("ip", { args: ["link", "del", net.bridge] }).output();
  }
  try {
    const pid = Number(
      Deno.readTextFileSync(join(roots.runRoot, "networks", "aardvark-dns", "aardvark.pid")),
    );
    if (pid > 0) Deno.kill(pid, "SIGKILL");
  } catch {
    // no aardvark-dns left
  }
}

/** Runs `fn` with fresh roots holding busybox and the network `net`, and scrubs after. */
export async function withNetwork(
  net: TestNet,
  fn: (roots: Roots) => Promise<void>,
  createArgs: string[] = [],
): Promise<void> {
  await withRoots(async (roots) => {
    try {
      await importBusybox(roots);
      await denopodOk(roots, [
        "network",
        "create",
        "--subnet",
        net.subnet,
        "--interface-name",
        net.bridge,
        ...createArgs,
        net.name,
      ]);
      await fn(roots);
    } finally {
      await scrub(roots, net);
    }
  });
}

/** Fetches `url` from the host (only 127.0.0.1 in these tests), retrying until it answers. */
export async function fetchText(url: string): Promise<string> {
  return await pollFor(`${url} to answer`, async () => {
    const response = await fetch(url);
    const text = await response.text();
    return response.ok ? text : undefined;
  });
}

/** Asserts nothing of the network is left on the host or in the roots. */
export async function assertNothingLeft(roots: Roots, net: TestNet, ids: string[]): Promise<void> {
  assert.deepEqual(await firewallLinesFor(net, ids), [], "iptables-save has no rule of the test");
  assert.deepEqual(listDir(join(roots.runRoot, "netns")), [], "netns files");
  assert.ok(
    !Deno.readTextFileSync("/proc/self/mountinfo").includes(join(roots.runRoot, "netns")),
    "no netns mount",
  );
  if (await linkExists(net.bridge)) assert.deepEqual(bridgePorts(net.bridge), [], "veths");
}
