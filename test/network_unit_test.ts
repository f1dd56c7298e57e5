/**
 * Unit tests of the network library: IPv4 subnets (`lib/network/ipv4.ts`), `-p` parsing and the
 * ways ports are shown (`ports.ts`), the network files with a fake host (`store.ts`: name, subnet,
 * gateway and bridge checks, the default network's subnet choice), and IPAM and host-port
 * reservations in a real state database (`ipam.ts`), static addresses (`static.ts`). No host
 * network is touched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  containsIp,
  formatCidr,
  overlaps,
  parseCidr,
  parseIpv4Number,
} from "../lib/network/ipv4.ts";
import {
  exposedPortMappings,
  formatPsPorts,
  inspectPorts,
  parsePublish,
  portLines,
} from "../lib/network/ports.ts";
import {
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK,
  NetworkStore,
  NoSuchNetworkError,
} from "../lib/network/store.ts";
import {
  AddressExhaustedError,
  AddressInUseError,
  holdsAny,
  leaseAddress,
  leaseAddresses,
  leasesOf,
  PortInUseError,
  releaseContainer,
  reservePorts,
} from "../lib/network/ipam.ts";
import {
  formatIpv6,
  overlaps6,
  parseCidr6,
  parseIpv6Number,
  randomUlaSubnet,
} from "../lib/network/ipv6.ts";
import { checkStaticIp, parseMac, parseNetworkList } from "../lib/network/static.ts";
import { openStateDb } from "../lib/state/db.ts";
import { InvalidArgError } from "../lib/errors.ts";
import type { Cidr } from "../lib/network/ipv4.ts";
import { withTempDir } from "./helpers/temp_dir.ts";

Deno.test("parseCidr reads a subnet and refuses host bits, bad prefixes and non-addresses", () => {
  assert.equal(formatCidr(parseCidr("10.231.0.0/24")), "10.231.0.0/24");
  for (const bad of ["10.231.0.1/24", "10.231.0.0/33", "10.231.0.0", "10.256.0.0/16", "x/8"]) {
    assert.throws(() => parseCidr(bad), InvalidArgError, bad);
  }
  assert.throws(
    () => parseCidr("10.231.0.1/24"),
    /host bits are set \(the network is 10\.231\.0\.0\/24\)/,
  );
});

Deno.test("overlaps and containsIp compare subnets of any prefix", () => {
  assert.ok(overlaps(parseCidr("10.231.0.0/16"), parseCidr("10.231.5.0/24")));
  assert.ok(overlaps(parseCidr("10.231.5.0/24"), parseCidr("10.231.0.0/16")));
  assert.ok(!overlaps(parseCidr("10.231.0.0/24"), parseCidr("10.231.1.0/24")));
  assert.ok(containsIp(parseCidr("10.231.0.0/24"), parseIpv4Number("10.231.0.255")!));
  assert.ok(!containsIp(parseCidr("10.231.0.0/24"), parseIpv4Number("10.231.1.0")!));
});

Deno.test("parsePublish takes podman's -p forms, ranges and protocols", () => {
  assert.deepEqual(parsePublish("8080:80"), {
    host_ip: "",
    container_port: 80,
    host_port: 8080,
    protocol: "tcp",
    range: 1,
  });
  assert.deepEqual(parsePublish("127.0.0.1:8000-8001:80-81/udp"), {
    host_ip: "127.0.0.1",
    container_port: 80,
    host_port: 8000,
    protocol: "udp",
    range: 2,
  });
  assert.deepEqual(parsePublish("127.0.0.1::53/udp"), {
    host_ip: "127.0.0.1",
    container_port: 53,
    host_port: 0,
    protocol: "udp",
    range: 1,
  });
  assert.equal(parsePublish("80").host_port, 0);
  assert.equal(parsePublish("0.0.0.0:1:2").host_ip, "");
});

Deno.test("parsePublish refuses ports out of range, unequal ranges, bad protocols and IPs", () => {
  const cases: [string, RegExp][] = [
    ["70000:80", /invalid port 70000 .*between 1 and 65535/],
    ["8080:0", /invalid port 0 .*between 1 and 65535/],
    ["8000-8002:80-81", /same length/],
    ["8080:80/sctp", /invalid protocol "sctp"/],
    ["1.2.3:8080:80", /invalid host IP/],
    ["a:b:c:d", /must be \[IP:\]/],
    ["90-80", /end is before the start/],
    ["", /invalid -p/],
    ["80\n", /invalid -p/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(() => parsePublish(spec), (err: Error) => {
      assert.ok(err instanceof InvalidArgError, spec);
      assert.match(err.message, message, spec);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
  }
});

Deno.test("ports are shown as podman shows them: ps column, inspect map and port lines", () => {
  const mappings = [
    parsePublish("127.0.0.1:18090-18091:90-91/udp"),
    parsePublish("18080:80"),
  ];
  assert.equal(
    formatPsPorts(mappings),
    "127.0.0.1:18090-18091->90-91/udp, 0.0.0.0:18080->80/tcp",
  );
  assert.deepEqual(inspectPorts(mappings), {
    "90/udp": [{ HostIp: "127.0.0.1", HostPort: "18090" }],
    "91/udp": [{ HostIp: "127.0.0.1", HostPort: "18091" }],
    "80/tcp": [{ HostIp: "", HostPort: "18080" }],
  });
  assert.deepEqual(portLines(mappings), [
    "90/udp -> 127.0.0.1:18090",
    "91/udp -> 127.0.0.1:18091",
    "80/tcp -> 0.0.0.0:18080",
  ]);
  assert.deepEqual(portLines(mappings, "80"), ["0.0.0.0:18080"]);
  assert.deepEqual(portLines(mappings, "91/udp"), ["127.0.0.1:18091"]);
  assert.throws(() => portLines(mappings, "x"), InvalidArgError);
});

Deno.test("exposedPortMappings turns ExposedPorts into mappings on free host ports", () => {
  assert.deepEqual(exposedPortMappings({ "80/tcp": {}, "53/udp": {}, "9/sctp": {} }), [
    { host_ip: "", container_port: 80, host_port: 0, protocol: "tcp", range: 1 },
    { host_ip: "", container_port: 53, host_port: 0, protocol: "udp", range: 1 },
  ]);
  assert.deepEqual(exposedPortMappings(undefined), []);
});

/** A store in a temp dir whose host has the given subnets and interfaces. */
function fakeStore(dir: string, subnets: string[] = [], interfaces: string[] = []): NetworkStore {
  return new NetworkStore(join(dir, "networks"), join(dir, "networks.lock"), {
    subnets: (): Cidr[] => subnets.map((s) => parseCidr(s)),
    interfaces: () => new Set(interfaces),
  });
}

Deno.test("network files are podman's JSON, and bad input leaves no file", async () => {
  await withTempDir("denopod-net-", async (dir) => {
    const store = fakeStore(dir, ["192.0.2.0/24"], ["eth0", "denopod1"]);
    const made = await store.create({ name: "dptest1", subnet: "10.231.0.0/24" });
    const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "networks", "dptest1.json")));
    assert.deepEqual(Object.keys(onDisk), [
      "name",
      "id",
      "driver",
      "network_interface",
      "created",
      "subnets",
      "ipv6_enabled",
      "internal",
      "dns_enabled",
      "ipam_options",
    ]);
    assert.equal(onDisk.id.length, 64);
    assert.deepEqual(onDisk.subnets, [{ subnet: "10.231.0.0/24", gateway: "10.231.0.1" }]);
    assert.equal(onDisk.network_interface, "denopod2", "skips the host's denopod1");
    assert.equal(onDisk.dns_enabled, true);
    assert.deepEqual(onDisk.ipam_options, { driver: "host-local" });
    assert.deepEqual(store.get(made.id.slice(0, 12)), made);

    const bad: [Parameters<NetworkStore["create"]>[0], RegExp][] = [
      [{ name: "dptest2", subnet: "10.231.0.128/25" }, /overlaps network dptest1/],
      [{ name: "dptest2", subnet: "192.0.2.0/25" }, /already used on the host/],
      [{ name: "dptest2", subnet: "10.231.1.0/24x" }, /not an IPv4 CIDR/],
      [{ name: "dptest2", subnet: "10.231.1.0/24", gateway: "10.231.2.1" }, /not a host address/],
      [{ name: "dptest2", subnet: "10.231.1.0/24", gateway: "10.231.1.255" }, /not a host/],
      [{ name: "dptest1", subnet: "10.231.1.0/24" }, /already exists/],
      [{ name: "bad name", subnet: "10.231.1.0/24" }, /invalid network name/],
      [{ name: "host" }, /reserved/],
      [
        { name: "dptest2", subnets: ["fd31:1::/64", "fd31:2::/64"] },
        /at most one IPv4 and one IPv6/,
      ],
      [
        { name: "dptest2", subnet: "fd31:1::1/64" },
        /host bits are set \(the network is fd31:1::\/64\)/,
      ],
      [{ name: "dptest2", subnet: "fd31:1::/64", gateway: "fd31:2::1" }, /not a host address/],
      [{ name: "dptest2", subnet: "10.231.1.0/24", interfaceName: "x".repeat(16) }, /interface/],
    ];
    for (const [options, message] of bad) {
      await assert.rejects(() => store.create(options), message, JSON.stringify(options));
    }
    assert.deepEqual(store.list().map((n) => n.name), ["dptest1"]);
    assert.deepEqual([...Deno.readDirSync(join(dir, "networks"))].map((e) => e.name), [
      "dptest1.json",
    ]);
    await store.remove("dptest1");
    assert.throws(() => store.get("dptest1"), NoSuchNetworkError);
    await assert.rejects(() => store.remove("dptest1"), NoSuchNetworkError);
  });
});

Deno.test("the default network takes its own bridge and the first /24 of 10.87.0.0/16 nothing uses", async () => {
  await withTempDir("denopod-net-", async (dir) => {
    const store = fakeStore(dir, ["10.87.0.0/24", "10.87.1.128/25"]);
    await store.create({ name: "dptest3", subnet: "10.87.2.0/24" });
    const def = await store.ensureDefault();
    assert.equal(def.name, DEFAULT_NETWORK);
    assert.equal(def.network_interface, DEFAULT_BRIDGE);
    assert.deepEqual(def.subnets, [{ subnet: "10.87.3.0/24", gateway: "10.87.3.1" }]);
    assert.deepEqual(await store.ensureDefault(), def, "made once, then read back");
    const next = await store.create({});
    assert.equal(next.subnets[0].subnet, "10.87.4.0/24");
    assert.equal(next.name, "denopod1");
  });
});

Deno.test("IPAM leases the lowest free address once, and host ports name their holder", async () => {
  await withTempDir("denopod-ipam-", async (dir) => {
    const db = openStateDb(join(dir, "state.db"));
    try {
      const store = fakeStore(dir);
      const net = await store.create({ name: "dptest4", subnet: "10.231.4.0/30" });
      const a = db.transaction(() => leaseAddress(db, net, "a"));
      assert.equal(a, "10.231.4.2", "skips the network address and the gateway");
      assert.equal(db.transaction(() => leaseAddress(db, net, "a")), a, "same lease again");
      assert.throws(() => db.transaction(() => leaseAddress(db, net, "b")), AddressExhaustedError);
      assert.deepEqual(leasesOf(db, "a"), { dptest4: ["10.231.4.2"] });

      db.transaction(() => reservePorts(db, "a", [parsePublish("18080-18081:80-81")], (id) => id));
      assert.throws(
        () =>
          db.transaction(() =>
            reservePorts(db, "b", [parsePublish("127.0.0.1:18081:80")], (id) => `ctr-${id}`)
          ),
        (err: Error) =>
          err instanceof PortInUseError &&
          err.message === "host port 18081/tcp is already published by container ctr-a",
      );
      assert.ok(!holdsAny(db, "b"), "the refused reservation left nothing");
      db.transaction(() => reservePorts(db, "b", [parsePublish("18081:80/udp")], (id) => id));
      releaseContainer(db, "a");
      assert.ok(!holdsAny(db, "a"));
      assert.equal(db.transaction(() => leaseAddress(db, net, "b")), "10.231.4.2");
    } finally {
      db.close();
    }
  });
});

Deno.test("parseNetworkList splits names and NAME:ip=,mac= options, as podman reads --network", () => {
  assert.deepEqual(parseNetworkList("a,b"), [{ name: "a" }, { name: "b" }]);
  assert.deepEqual(parseNetworkList("a:ip=10.231.4.9,mac=02:42:AC:11:00:09,b"), [
    { name: "a", ip: "10.231.4.9", mac: "02:42:ac:11:00:09" },
    { name: "b" },
  ]);
  assert.deepEqual(parseNetworkList("a,b:mac=02-42-ac-11-00-0a"), [
    { name: "a" },
    { name: "b", mac: "02:42:ac:11:00:0a" },
  ]);
  assert.throws(
    () => parseNetworkList("a:alias=x"),
    /^InvalidArgError: invalid option for network a: unknown bridge network option: alias$/,
  );
  assert.throws(() => parseNetworkList("a:ip=10.1"), /"10.1" is not an ip address/);
  assert.throws(() => parseMac("02:42:ac:11:00"), /address 02:42:ac:11:00: invalid MAC address/);
  assert.throws(() => parseMac("01:00:5e:00:00:01"), /multicast/);
});

Deno.test("checkStaticIp wants a host address of the subnet that is not the gateway", async () => {
  await withTempDir("denopod-static-", async (dir) => {
    const net = await fakeStore(dir).create({ name: "dptest5", subnet: "10.231.5.0/24" });
    checkStaticIp(net, "10.231.5.9");
    checkStaticIp(net, "10.231.5.254");
    for (
      const [ip, message] of [
        ["10.231.6.9", "requested static ip 10.231.6.9 not in any subnet on network dptest5"],
        ["10.231.5.1", "requested static ip 10.231.5.1 is the gateway of network dptest5"],
        ["10.231.5.0", "is the network address of subnet 10.231.5.0/24"],
        ["10.231.5.255", "is the broadcast address of subnet 10.231.5.0/24"],
        ["fd00::1", '"fd00::1" is not an ip address'],
      ]
    ) {
      assert.throws(
        () => checkStaticIp(net, ip),
        (err: Error) => err instanceof InvalidArgError && err.message.includes(message),
        ip,
      );
    }
  });
});

Deno.test("IPAM leases a requested address, and refuses one another container holds", async () => {
  await withTempDir("denopod-ipam-static-", async (dir) => {
    const db = openStateDb(join(dir, "state.db"));
    try {
      const net = await fakeStore(dir).create({ name: "dptest6", subnet: "10.231.6.0/24" });
      assert.equal(db.transaction(() => leaseAddress(db, net, "a", "10.231.6.9")), "10.231.6.9");
      assert.throws(
        () => db.transaction(() => leaseAddress(db, net, "b", "10.231.6.9")),
        (err: Error) =>
          err instanceof AddressInUseError &&
          err.message ===
            "IPAM error: requested ip address 10.231.6.9 is already allocated to container ID a",
      );
      assert.ok(!holdsAny(db, "b"));
      assert.equal(db.transaction(() => leaseAddress(db, net, "b")), "10.231.6.2");
      assert.equal(db.transaction(() => leaseAddress(db, net, "a", "10.231.6.9")), "10.231.6.9");
      assert.deepEqual(leasesOf(db, "a"), { dptest6: ["10.231.6.9"] });
    } finally {
      db.close();
    }
  });
});

Deno.test("IPv6 addresses parse and print in their short form; subnets overlap by prefix", () => {
  assert.equal(parseIpv6Number("fd31:4159:2653::1"), 0xfd31_4159_2653_0000_0000_0000_0000_0001n);
  assert.equal(parseIpv6Number("::"), 0n);
  for (const bad of ["fd31::1::2", "1:2:3:4:5:6:7:8:9", "fd31:12345::", "10.0.0.1", "g::1"]) {
    assert.equal(parseIpv6Number(bad), null, bad);
  }
  assert.equal(formatIpv6(parseIpv6Number("fd31:0:0:1:0:0:0:1")!), "fd31:0:0:1::1");
  assert.equal(formatIpv6(parseIpv6Number("fd31:4159:2653:0::")!), "fd31:4159:2653::");
  assert.equal(formatIpv6(1n), "::1");
  assert.ok(overlaps6(parseCidr6("fd31:4159::/32"), parseCidr6("fd31:4159:2653::/64")));
  assert.ok(!overlaps6(parseCidr6("fd31:4159:2653::/64"), parseCidr6("fd31:4159:2654::/64")));
  const ula = randomUlaSubnet();
  assert.equal(ula.prefix, 64);
  assert.equal(ula.address >> 120n, 0xfdn);
  assert.equal(ula.address & ((1n << 64n) - 1n), 0n);
});

Deno.test("--ipv6 makes a dual-stack network as podman; IPAM leases one address of each", async () => {
  await withTempDir("denopod-ipv6-", async (dir) => {
    const store = new NetworkStore(join(dir, "networks"), join(dir, "networks.lock"), {
      subnets: () => [],
      interfaces: () => new Set(),
      subnets6: () => [parseCidr6("fd31:4159:2660::/64")],
    });
    const auto = await store.create({ name: "dptest7", ipv6: true, subnet: "10.231.7.0/24" });
    assert.equal(auto.ipv6_enabled, true);
    assert.equal(auto.subnets.length, 2);
    assert.deepEqual(auto.subnets[0], { subnet: "10.231.7.0/24", gateway: "10.231.7.1" });
    assert.match(auto.subnets[1].subnet, /^fd[0-9a-f]{2}:[0-9a-f:]+::\/64$/);
    assert.equal(auto.subnets[1].gateway, auto.subnets[1].subnet.replace("::/64", "::1"));
    // a given IPv6 subnet comes first and an IPv4 one is picked after it, as podman orders them
    const given = await store.create({
      name: "dptest8",
      ipv6: true,
      subnets: ["fd31:4159:2653::/64"],
    });
    assert.deepEqual(given.subnets[0], {
      subnet: "fd31:4159:2653::/64",
      gateway: "fd31:4159:2653::1",
    });
    assert.match(given.subnets[1].subnet, /^10\.87\.[0-9]+\.0\/24$/);
    // only an IPv6 subnet, without --ipv6: IPv6 only
    const only6 = await store.create({ name: "dptest9", subnet: "fd31:4159:2654::/64" });
    assert.deepEqual(only6.subnets.map((s) => s.subnet), ["fd31:4159:2654::/64"]);
    assert.equal(only6.ipv6_enabled, true);
    await assert.rejects(
      () => store.create({ name: "dptest10", subnet: "fd31:4159:2653::/48" }),
      /overlaps network dptest8/,
    );
    await assert.rejects(
      () => store.create({ name: "dptest10", subnet: "fd31:4159:2660:0:8000::/65" }),
      /already used on the host/,
    );

    const db = openStateDb(join(dir, "state.db"));
    try {
      assert.deepEqual(db.transaction(() => leaseAddresses(db, given, "a")), [
        "fd31:4159:2653::2",
        given.subnets[1].gateway!.replace(/\.1$/, ".2"),
      ]);
      assert.deepEqual(
        db.transaction(() => leaseAddresses(db, given, "b")).map((ip) => ip.split(/[.:]/).at(-1)),
        ["3", "3"],
      );
      assert.deepEqual(db.transaction(() => leaseAddresses(db, only6, "a")), [
        "fd31:4159:2654::2",
      ]);
      assert.equal(leasesOf(db, "a")[given.name].length, 2);
    } finally {
      db.close();
    }
  });
});
