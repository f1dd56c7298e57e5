/**
 * Integration: what containers ask of a bridge network beyond joining it — a netavark setup that
 * fails is undone, `--dns*` flags on a network with aardvark-dns give podman's resolv.conf,
 * static addresses and MACs (`--ip`, `--mac-address`, `--network NAME:ip=,mac=`), `network
 * connect`/`disconnect`, and dual-stack networks (`--ipv6`). As root, in fresh roots, with
 * test-only subnets (10.231.2N.0/24, fd31:4159:2629::/64) and `dptest` names; traffic only to the
 * containers' own addresses; `withNetwork` scrubs after.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { busyboxRootfsTar, denopod, denopodOk, listDir } from "./helpers/denopod.ts";
import {
  assertNothingLeft,
  bridgePorts,
  firewallLinesFor,
  linkExists,
  NET_TEST,
  scrub,
  testNet,
  withNetwork,
} from "./helpers/network.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";

const NETAVARK = "/usr/lib/podman/netavark";

/** The container's eth0 address and MAC, as `ip` inside it shows them: `10.1.2.3/24 aa:bb:...`. */
const SHOW_ETH0 = "ip -o -4 addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address";

Deno.test(
  "a netavark setup that fails after its work is torn down: no rule, veth, netns or address left",
  NET_TEST,
  async () => {
    const net = testNet(21);
    await withNetwork(net, async (roots) => {
      // netavark does the whole setup, then the run is reported as failed
      const wrapper = join(roots.dir, "netavark-fails");
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh\ncase " $* " in\n  *" setup "*) ${NETAVARK} "$@" >/dev/null; ` +
          `echo '{"error":"injected failure"}'; exit 1;;\nesac\nexec ${NETAVARK} "$@"\n`,
        { mode: 0o755 },
      );
      const failed = await denopod(roots, [
        "run",
        "--name",
        "broken",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "true",
      ], { env: { DENOPOD_NETAVARK: wrapper } });
      assert.equal(failed.code, 125, failed.stderr);
      assert.equal(failed.stderr, "Error: netavark setup: injected failure\n");
      const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "broken"])).trim();
      await assertNothingLeft(roots, net, [id]);
      assert.equal(
        (await denopodOk(roots, [
          "inspect",
          "--format",
          "{{.NetworkSettings.IPAddress}}",
          "broken",
        ]))
          .trim(),
        "",
      );
      // the address and the port were given back: the same container starts with both
      await denopodOk(roots, ["start", "broken"]);
      await denopodOk(roots, ["wait", "broken"]);
      await denopodOk(roots, ["rm", "broken"]);
      await assertNothingLeft(roots, net, [id]);
      const again = await denopodOk(roots, [
        "run",
        "--rm",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "sh",
        "-c",
        SHOW_ETH0,
      ]);
      assert.equal(again.split("\n")[0], `${net.prefix}2/24`);
      await assertNothingLeft(roots, net, []);
    });
  },
);

/** `run --rm --network NET FLAGS busybox cat /etc/resolv.conf` for each case. */
const DNS_CASES: { flags: string[]; second?: boolean }[] = [
  { flags: [] },
  { flags: ["--dns", "192.0.2.53", "--dns-search", "example.test", "--dns-option", "ndots:3"] },
  { flags: ["--dns", "192.0.2.53", "--dns", "192.0.2.54"] },
  { flags: ["--dns-search", "."] },
  { flags: ["--dns-search", "example.test"] },
  { flags: ["--dns-option", "ndots:2"] },
  { flags: ["--dns", "192.0.2.53"], second: true },
  { flags: [], second: true },
];

Deno.test(
  "--dns, --dns-search and --dns-option on networks with and without DNS give podman's resolv.conf",
  { ...NET_TEST, ignore: NET_TEST.ignore || PODMAN === undefined },
  async () => {
    const net = testNet(22);
    const noDns = testNet(23);
    const theirs = testNet(24);
    const theirsNoDns = testNet(25);
    const podman = await PodmanSandbox.create("overlay");
    try {
      const conf = join(podman.dir, "containers.conf");
      await Deno.writeTextFile(
        conf,
        (await Deno.readTextFile(conf)).replace(
          "[engine]",
          `[network]\nnetwork_config_dir = "${join(podman.dir, "networks")}"\n\n[engine]`,
        ),
      );
      await Deno.mkdir(join(podman.dir, "networks"));
      await podman.output("import", await busyboxRootfsTar(), "busybox");
      await podman.output("network", "create", "--subnet", theirs.subnet, theirs.name);
      await podman.output(
        "network",
        "create",
        "--subnet",
        theirsNoDns.subnet,
        "--disable-dns",
        theirsNoDns.name,
      );
      await withNetwork(net, async (roots) => {
        await denopodOk(roots, [
          "network",
          "create",
          "--subnet",
          noDns.subnet,
          "--interface-name",
          noDns.bridge,
          "--disable-dns",
          noDns.name,
        ]);
        for (const { flags, second } of DNS_CASES) {
          const ours = await denopodOk(roots, [
            "run",
            "--rm",
            "--network",
            second ? noDns.name : net.name,
            ...flags,
            "busybox",
            "cat",
            "/etc/resolv.conf",
          ]);
          const reference = await podman.output(
            "run",
            "--rm",
            "--network",
            second ? theirsNoDns.name : theirs.name,
            ...flags,
            "busybox",
            "cat",
            "/etc/resolv.conf",
          );
          assert.equal(
            ours,
            reference.replaceAll(theirs.prefix, net.prefix),
            `resolv.conf with ${second ? "--disable-dns" : "dns"} ${flags.join(" ")}`,
          );
        }
        await denopodOk(roots, ["network", "rm", noDns.name]);
        await assertNothingLeft(roots, net, []);
      });
    } finally {
      await podman.run("network", "rm", "-f", theirs.name, theirsNoDns.name);
      await podman.remove();
    }
  },
);

Deno.test(
  "--ip and --mac-address: refused at create with podman's words, else the container's own",
  NET_TEST,
  async () => {
    const net = testNet(26);
    await withNetwork(net, async (roots) => {
      const holder = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "holder",
        "--network",
        net.name,
        "--ip",
        `${net.prefix}5`,
        "--mac-address",
        "02:42:AC:11:00:99",
        "busybox",
        "sleep",
        "100",
      ])).trim();
      const shown = await denopodOk(roots, ["exec", "holder", "sh", "-c", SHOW_ETH0]);
      assert.equal(shown, `${net.prefix}5/24\n02:42:ac:11:00:99\n`);
      const inspected = JSON.parse(await denopodOk(roots, ["inspect", "holder"]))[0];
      assert.equal(inspected.NetworkSettings.Networks[net.name].IPAddress, `${net.prefix}5`);
      assert.equal(inspected.NetworkSettings.Networks[net.name].MacAddress, "02:42:ac:11:00:99");

      const bad: [string[], string][] = [
        [["--ip", `${net.prefix}300`], `"${net.prefix}300" is not an ip address`],
        [
          ["--ip", "10.9.9.9"],
          `requested static ip 10.9.9.9 not in any subnet on network ${net.name}`,
        ],
        [
          ["--ip", `${net.prefix}5`],
          `IPAM error: requested ip address ${net.prefix}5 is already allocated to container ID ${holder}`,
        ],
        [
          ["--ip", `${net.prefix}1`],
          `requested static ip ${net.prefix}1 is the gateway of network ${net.name}`,
        ],
        [
          ["--ip", `${net.prefix}255`],
          `requested static ip ${net.prefix}255 is the broadcast address of subnet ${net.subnet}`,
        ],
        [["--mac-address", "zz:00"], "address zz:00: invalid MAC address"],
        [
          ["--network", `${net.name},bridge`, "--ip", `${net.prefix}7`],
          "--ip can only be set for a single network: invalid argument",
        ],
        [
          ["--network", "none", "--ip", `${net.prefix}7`],
          "--ip can only be set when the network mode is bridge: invalid argument",
        ],
        [
          ["--network", `${net.name}:foo=bar`],
          `invalid option for network ${net.name}: unknown bridge network option: foo`,
        ],
      ];
      for (const [flags, message] of bad) {
        const args = flags.includes("--network") ? flags : ["--network", net.name, ...flags];
        const result = await denopod(roots, ["create", ...args, "busybox", "true"]);
        assert.equal(result.code, 125, `${flags.join(" ")}: ${result.stderr}`);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, `Error: ${message}\n`, flags.join(" "));
      }
      assert.equal(
        await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]),
        "holder\n",
        "no container made by a refused create",
      );

      // NAME:ip=,mac= form, next to a second network
      const both = await denopodOk(roots, [
        "run",
        "--rm",
        "--network",
        `${net.name}:ip=${net.prefix}10,mac=02:42:ac:11:00:98`,
        "busybox",
        "sh",
        "-c",
        SHOW_ETH0,
      ]);
      assert.equal(both, `${net.prefix}10/24\n02:42:ac:11:00:98\n`);

      // a created container whose address a running one took since: refused at start, nothing
      // left of its attempt, and it starts once the address is free
      await denopodOk(roots, [
        "create",
        "--name",
        "later",
        "--network",
        net.name,
        "--ip",
        `${net.prefix}6`,
        "busybox",
        "sleep",
        "100",
      ]);
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "taker",
        "--network",
        net.name,
        "--ip",
        `${net.prefix}6`,
        "busybox",
        "sleep",
        "100",
      ]);
      const taker = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "taker"])).trim();
      const refused = await denopod(roots, ["start", "later"]);
      assert.equal(refused.code, 125);
      assert.equal(
        refused.stderr,
        `Error: IPAM error: requested ip address ${net.prefix}6 is already allocated to container ID ${taker}\n`,
      );
      assert.equal(listDir(join(roots.runRoot, "netns")).length, 2, "holder's and taker's only");
      await denopodOk(roots, ["rm", "-f", "-t", "0", "taker"]);
      await denopodOk(roots, ["start", "later"]);
      assert.equal(
        (await denopodOk(roots, ["exec", "later", "sh", "-c", SHOW_ETH0])).split("\n")[0],
        `${net.prefix}6/24`,
      );
      await denopodOk(roots, ["rm", "-f", "-t", "0", "later", "holder"]);
      await assertNothingLeft(roots, net, [holder, taker]);
      if (await linkExists(net.bridge)) assert.deepEqual(bridgePorts(net.bridge), []);
      assert.deepEqual(await firewallLinesFor(net, [holder, taker]), []);
    });
  },
);

Deno.test(
  "network connect and disconnect: a stopped container's config, a running one's interfaces",
  NET_TEST,
  async () => {
    const net = testNet(27);
    const other = testNet(28);
    const addrs = "ip -o -4 addr show | awk '$2 != \"lo\" {print $2, $4}' | sort";
    await withNetwork(net, async (roots) => {
      await denopodOk(roots, [
        "network",
        "create",
        "--subnet",
        other.subnet,
        "--interface-name",
        other.bridge,
        other.name,
      ]);
      try {
        const networksOf = async (name: string) =>
          Object.keys(
            JSON.parse(
              await denopodOk(roots, [
                "inspect",
                "--format",
                "{{json .NetworkSettings.Networks}}",
                name,
              ]),
            ),
          );
        // stopped: only the config changes
        await denopodOk(roots, [
          "create",
          "--name",
          "idle",
          "--network",
          net.name,
          "busybox",
          "true",
        ]);
        assert.equal(await denopodOk(roots, ["network", "connect", other.name, "idle"]), "");
        assert.deepEqual(await networksOf("idle"), [net.name, other.name]);
        assert.equal(await denopodOk(roots, ["network", "disconnect", other.name, "idle"]), "");
        assert.deepEqual(await networksOf("idle"), [net.name]);
        const notOn = await denopod(roots, ["network", "disconnect", other.name, "idle"]);
        assert.equal(notOn.code, 125);
        assert.equal(
          notOn.stderr,
          `Error: container idle is not connected to network ${other.name}\n`,
        );
        const noSuch = await denopod(roots, ["network", "connect", "dptestnosuch", "idle"]);
        assert.equal(
          noSuch.stderr,
          "Error: unable to find network with name or ID dptestnosuch: network not found\n",
        );
        await denopodOk(roots, [
          "create",
          "--name",
          "nonet",
          "--network",
          "none",
          "busybox",
          "true",
        ]);
        const none = await denopod(roots, ["network", "connect", net.name, "nonet"]);
        assert.equal(none.code, 125);
        assert.equal(none.stderr, `Error: "none" is not supported: invalid network mode\n`);

        // running: netavark adds and removes just that interface, with the published port kept
        const id = (await denopodOk(roots, [
          "run",
          "-d",
          "--name",
          "live",
          "--network",
          net.name,
          "-p",
          `127.0.0.1:${net.port}:80`,
          "busybox",
          "sleep",
          "100",
        ])).trim();
        await denopodOk(roots, [
          "network",
          "connect",
          "--ip",
          `${other.prefix}9`,
          other.name,
          "live",
        ]);
        assert.equal(
          await denopodOk(roots, ["exec", "live", "sh", "-c", addrs]),
          `eth0 ${net.prefix}2/24\neth1 ${other.prefix}9/24\n`,
        );
        const settings = JSON.parse(
          await denopodOk(roots, ["inspect", "--format", "{{json .NetworkSettings}}", "live"]),
        );
        assert.equal(settings.Networks[other.name].IPAddress, `${other.prefix}9`);
        assert.equal(settings.Networks[other.name].Gateway, `${other.prefix}1`);
        assert.match(settings.Networks[other.name].MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        assert.equal(bridgePorts(other.bridge).length, 1, "one veth on the second bridge");
        assert.equal(
          await denopodOk(roots, [
            "ps",
            "-a",
            "--filter",
            `network=${other.name}`,
            "--format",
            "{{.Names}}",
          ]),
          "live\n",
          "ps --filter network= names the containers joined to it",
        );

        await denopodOk(roots, ["network", "disconnect", net.name, "live"]);
        assert.equal(
          await denopodOk(roots, ["exec", "live", "sh", "-c", addrs]),
          `eth1 ${other.prefix}9/24\n`,
        );
        assert.deepEqual(
          await firewallLinesFor(net, [id]).then((l) => l.filter((x) => x.includes(net.prefix))),
          [],
        );
        assert.deepEqual(bridgePorts(net.bridge), [], "its veth left the first bridge");
        // back again: the lowest free interface name, the first free address
        await denopodOk(roots, ["network", "connect", net.name, "live"]);
        assert.equal(
          await denopodOk(roots, ["exec", "live", "sh", "-c", addrs]),
          `eth0 ${net.prefix}2/24\neth1 ${other.prefix}9/24\n`,
        );
        assert.deepEqual(await networksOf("live"), [other.name, net.name].sort());

        // stopping tears both down; a restart sets both up with the same names
        await denopodOk(roots, ["stop", "-t", "0", "live"]);
        await assertNothingLeft(roots, net, [id]);
        assert.deepEqual(bridgePorts(other.bridge), []);
        await denopodOk(roots, ["start", "live"]);
        assert.equal(
          await denopodOk(roots, ["exec", "live", "sh", "-c", addrs]),
          `eth0 ${net.prefix}2/24\neth1 ${other.prefix}9/24\n`,
        );
        await denopodOk(roots, ["rm", "-f", "-t", "0", "live", "idle", "nonet"]);
        await assertNothingLeft(roots, net, [id]);
        assert.deepEqual(await firewallLinesFor(other, [id]), []);
      } finally {
        await scrub(roots, other);
      }
    });
  },
);

/** `ip6tables-save` lines that mention `prefix` or the container ID. */
async function firewall6LinesFor(prefix: string, ids: string[] = []): Promise<string[]> {
  const dump = await new Deno.Command("ip6tables-save", { stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(dump.stdout).split("\n").filter((line) =>
    line.includes(prefix) || ids.some((id) => line.includes(id))
  );
}

Deno.test(
  "network create --ipv6: dual-stack addresses in inspect, resolv.conf and hosts as podman's; a container reached over IPv6; no ip6tables rule left",
  NET_TEST,
  async () => {
    const net = testNet(29);
    const v6 = "fd31:4159:2629::";
    await withNetwork(net, async (roots) => {
      let id = "";
      try {
        // the network of withNetwork is IPv4 only; this one is dual-stack, IPv6 subnet first
        await denopodOk(roots, ["network", "rm", net.name]);
        await denopodOk(roots, [
          "network",
          "create",
          "--ipv6",
          "--subnet",
          `${v6}/64`,
          "--subnet",
          net.subnet,
          "--interface-name",
          net.bridge,
          net.name,
        ]);
        const file = JSON.parse(await denopodOk(roots, ["network", "inspect", net.name]))[0];
        assert.equal(file.ipv6_enabled, true);
        assert.deepEqual(file.subnets, [
          { subnet: `${v6}/64`, gateway: `${v6}1` },
          { subnet: net.subnet, gateway: `${net.prefix}1` },
        ]);
        id = (await denopodOk(roots, [
          "run",
          "-d",
          "--name",
          "web6",
          "--network",
          net.name,
          "-p",
          `${net.port}:80`,
          "busybox",
          "sh",
          "-c",
          "mkdir /www && echo over-v6 > /www/index.html && exec httpd -f -p 80 -h /www",
        ])).trim();
        const settings = JSON.parse(
          await denopodOk(roots, ["inspect", "--format", "{{json .NetworkSettings}}", "web6"]),
        );
        const entry = settings.Networks[net.name];
        assert.deepEqual(
          [entry.IPAddress, entry.IPPrefixLen, entry.Gateway],
          [`${net.prefix}2`, 24, `${net.prefix}1`],
        );
        assert.deepEqual(
          [entry.GlobalIPv6Address, entry.GlobalIPv6PrefixLen, entry.IPv6Gateway],
          [`${v6}2`, 64, `${v6}1`],
        );
        assert.equal(settings.GlobalIPv6Address, `${v6}2`);
        const short = id.slice(0, 12);
        // podman 4.3 writes these for a network whose IPv6 subnet comes first
        const files = await denopodOk(roots, [
          "exec",
          "web6",
          "sh",
          "-c",
          "head -3 /etc/resolv.conf; tail -2 /etc/hosts",
        ]);
        assert.equal(
          files,
          `search dns.podman\nnameserver ${v6}1\nnameserver ${net.prefix}1\n` +
            `${v6}2\t${short} web6\n${net.prefix}2\t${short} web6\n`,
        );
        // over IPv6, by address from the host and by name from another container
        const direct = await new Deno.Command("wget", {
          args: ["-q", "-O", "-", `http://[${v6}2]/`],
          stdout: "piped",
        }).output();
        assert.equal(new TextDecoder().decode(direct.stdout), "over-v6\n");
        const byName = await denopodOk(roots, [
          "run",
          "--rm",
          "--network",
          net.name,
          "busybox",
          "sh",
          "-c",
          "for i in 1 2 3 4 5 6 7 8 9 10; do nslookup -type=AAAA web6 >/dev/null 2>&1 && break; sleep 0.3; done; " +
          `wget -q -O - "http://[$(nslookup -type=AAAA web6 | awk '/^Address: ${v6}/ {print $2}')]/"`,
        ]);
        assert.equal(byName, "over-v6\n");
        // netavark publishes the port on IPv6 too
        assert.ok(
          (await firewall6LinesFor(v6, [id])).some((l) =>
            l.includes(`--to-destination [${v6}2]:80`)
          ),
          "an ip6tables DNAT rule for the published port",
        );
        await denopodOk(roots, ["rm", "-f", "-t", "0", "web6"]);
        await assertNothingLeft(roots, net, [id]);
        assert.deepEqual(await firewall6LinesFor(v6, [id]), []);
        await denopodOk(roots, ["network", "rm", net.name]);
        assert.deepEqual(await firewall6LinesFor(v6, [id]), []);
      } finally {
        for (const line of await firewall6LinesFor(v6, id ? [id] : [])) {
          if (!line.startsWith("-A ")) continue;
          for (const table of ["nat", "filter"]) {
            await new Deno.Command("sh", {
              args: ["-c", `ip6tables -t ${table} ${line.replace(/^-A /, "-D ")}`],
              stderr: "null",
            }).output();
          }
        }
      }
    });
  },
);
