/**
 * Integration: bridge networks through netavark and aardvark-dns, as root, in fresh roots. Each
 * test uses its own test-only subnet (10.231.N.0/24), network and bridge names starting `dptest`,
 * sends traffic only to 127.0.0.1 and to its containers' own addresses, and in a `finally`
 * removes its containers and networks and then whatever of its firewall rules, bridge, netns
 * files or aardvark-dns could still be there (`scrub`), so a failing test leaves nothing behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { busyboxRootfsTar, denopod, denopodOk, listDir } from "./helpers/denopod.ts";
import { pollFor, processAlive } from "./helpers/running.ts";
import {
  assertNothingLeft,
  fetchText,
  firewallLinesFor,
  linkExists,
  NET_TEST,
  testNet,
  withNetwork,
} from "./helpers/network.ts";

Deno.test(
  "the host reaches httpd in a container through a published port; rm and network rm leave no rule",
  NET_TEST,
  async () => {
    const net = testNet(11);
    await withNetwork(net, async (roots) => {
      const id = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www",
      ])).trim();
      assert.equal(await fetchText(`http://127.0.0.1:${net.port}/`), "hello-from-web\n");

      const ip = (await denopodOk(roots, [
        "inspect",
        "--format",
        `{{(index .NetworkSettings.Networks "${net.name}").IPAddress}}|{{(index .NetworkSettings.Networks "${net.name}").Gateway}}|{{(index .NetworkSettings.Networks "${net.name}").IPPrefixLen}}|{{(index .NetworkSettings.Networks "${net.name}").MacAddress}}`,
        "web",
      ])).trim().split("|");
      assert.equal(ip[0], `${net.prefix}2`);
      assert.equal(ip[1], `${net.prefix}1`);
      assert.equal(ip[2], "24");
      assert.match(ip[3], /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const inspected = JSON.parse(await denopodOk(roots, ["inspect", "web"]))[0];
      assert.deepEqual(inspected.NetworkSettings.Ports, {
        "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(net.port) }],
      });
      assert.equal(inspected.NetworkSettings.IPAddress, `${net.prefix}2`);
      const ps = await denopodOk(roots, ["ps", "--format", "{{.Names}} {{.Ports}}"]);
      assert.equal(ps, `web 127.0.0.1:${net.port}->80/tcp\n`);
      const psJson = JSON.parse(await denopodOk(roots, ["ps", "--format", "json"]));
      assert.deepEqual(psJson[0].Ports, [{
        host_ip: "127.0.0.1",
        container_port: 80,
        host_port: net.port,
        protocol: "tcp",
        range: 1,
      }]);
      assert.equal(await denopodOk(roots, ["port", "web"]), `80/tcp -> 127.0.0.1:${net.port}\n`);
      assert.equal(await denopodOk(roots, ["port", "web", "80"]), `127.0.0.1:${net.port}\n`);
      assert.ok((await firewallLinesFor(net, [id])).length > 0, "netavark added rules");

      await denopodOk(roots, ["rm", "-f", "-t", "0", "web"]);
      await assertNothingLeft(roots, net, [id]);
      assert.equal(await denopodOk(roots, ["network", "rm", net.name]), `${net.name}\n`);
      assert.deepEqual(await firewallLinesFor(net, [id]), []);
      assert.ok(!(await linkExists(net.bridge)), "the bridge is gone");
      assert.equal((await denopod(roots, ["network", "exists", net.name])).code, 1);
    });
  },
);

Deno.test(
  "a container reaches another by name through aardvark-dns; resolv.conf and hosts as podman's",
  NET_TEST,
  async () => {
    const net = testNet(12);
    await withNetwork(net, async (roots) => {
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "server",
        "--network",
        net.name,
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo by-name > /www/index.html && exec httpd -f -p 80 -h /www",
      ]);
      const result = await denopod(roots, [
        "run",
        "--rm",
        "--name",
        "client",
        "--hostname",
        "client",
        "--network",
        net.name,
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; " +
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://server/ && exit 0; sleep 0.3; done; exit 9",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const [resolv, hosts, body] = result.stdout.split("---\n");
      const resolvLines = resolv.trim().split("\n");
      assert.equal(resolvLines[0], "search dns.podman");
      assert.equal(resolvLines[1], `nameserver ${net.prefix}1`);
      const hostsLines = hosts.trim().split("\n");
      assert.ok(hostsLines.includes(`${net.prefix}1\thost.containers.internal`), hosts);
      assert.equal(hostsLines.at(-1), `${net.prefix}3\tclient`);
      assert.equal(body, "by-name\n");
      await denopodOk(roots, ["rm", "-f", "-t", "0", "server"]);
      await assertNothingLeft(roots, net, []);
    });
  },
);

Deno.test(
  "after kill -9 of the monitor and the container, one rm -f leaves no rule, netns or address",
  NET_TEST,
  async () => {
    const net = testNet(13);
    await withNetwork(net, async (roots) => {
      const id = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "victim",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
      ])).trim();
      const [pid, monitorPid] = (await denopodOk(roots, [
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.ConmonPid}}",
        "victim",
      ])).trim().split(" ").map(Number);
      assert.ok((await firewallLinesFor(net, [id])).length > 0);
      Deno.kill(monitorPid, "SIGKILL");
      await pollFor("the monitor to die", () => processAlive(monitorPid) ? undefined : true);
      Deno.kill(pid, "SIGKILL");
      await pollFor("the container to die", () => processAlive(pid) ? undefined : true);

      const rm = await denopod(roots, ["rm", "-f", "victim"]);
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal(rm.stderr, "");
      await assertNothingLeft(roots, net, [id]);
      // the address and the port are free again: a new container gets both
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "again",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "sleep",
        "100",
      ]);
      assert.equal(
        (await denopodOk(roots, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "again"]))
          .trim(),
        `${net.prefix}2`,
      );
    });
  },
);

Deno.test(
  "a host port already published is refused naming the container; stop frees it",
  NET_TEST,
  async () => {
    const net = testNet(14);
    await withNetwork(net, async (roots) => {
      const publish = ["--network", net.name, "-p", `${net.port}:80`];
      const first = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "first",
        ...publish,
        "busybox",
        "sleep",
        "100",
      ])).trim();
      for (const verb of ["create", "run"]) {
        const second = await denopod(roots, [
          verb,
          "--name",
          "second",
          ...publish,
          "busybox",
          "true",
        ]);
        assert.equal(second.code, 125);
        assert.equal(
          second.stderr,
          `Error: host port ${net.port}/tcp is already published by container first\n`,
        );
      }
      assert.equal(await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]), "first\n");
      // a container made while the port was free cannot start while another holds it
      await denopodOk(roots, ["stop", "-t", "0", "first"]);
      await assertNothingLeft(roots, net, [first]);
      assert.equal(
        (await denopodOk(roots, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "first"]))
          .trim(),
        "",
        "stop forgot the address",
      );
      await denopodOk(roots, ["create", "--name", "second", ...publish, "busybox", "sleep", "100"]);
      await denopodOk(roots, ["start", "first"]);
      const start = await denopod(roots, ["start", "second"]);
      assert.equal(start.code, 125);
      assert.match(start.stderr, /^Error: .*already published by container first\n$/);
      assert.equal(
        (await denopodOk(roots, ["inspect", "--format", "{{.State.Status}}", "second"])).trim(),
        "created",
      );
      assert.deepEqual(listDir(join(roots.runRoot, "netns")).length, 1, "only first's netns");
    });
  },
);

Deno.test(
  "after a reboot (runroot's alive marker gone) the next command leaves no rule, netns or address",
  NET_TEST,
  async () => {
    const net = testNet(15);
    await withNetwork(net, async (roots) => {
      const id = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "before",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "sleep",
        "100",
      ])).trim();
      const [pid, monitorPid] = (await denopodOk(roots, [
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.ConmonPid}}",
        "before",
      ])).trim().split(" ").map(Number);
      // a reboot ends every process and empties the runroot's tmpfs; here the alive marker and
      // runc's state go, while the namespace, veth and firewall rules are left for refresh
      Deno.kill(monitorPid, "SIGKILL");
      Deno.kill(pid, "SIGKILL");
      await pollFor(
        "the processes to die",
        () => processAlive(pid) || processAlive(monitorPid) ? undefined : true,
      );
      await Deno.remove(join(roots.runRoot, "alive"));
      await Deno.remove(join(roots.runRoot, "runc", id), { recursive: true });

      assert.equal(await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]), "before\n");
      assert.equal(
        (await denopodOk(roots, ["inspect", "--format", "{{.State.Status}}", "before"])).trim(),
        "exited",
      );
      await assertNothingLeft(roots, net, [id]);
      assert.equal(
        (await denopodOk(roots, [
          "inspect",
          "--format",
          "{{.NetworkSettings.IPAddress}}",
          "before",
        ]))
          .trim(),
        "",
      );
      // and it starts again with its old address
      await denopodOk(roots, ["start", "before"]);
      assert.equal(
        (await denopodOk(roots, [
          "inspect",
          "--format",
          "{{.NetworkSettings.IPAddress}}",
          "before",
        ]))
          .trim(),
        `${net.prefix}2`,
      );
    });
  },
);

Deno.test(
  "bad network input: one-line errors, nothing half-made",
  NET_TEST,
  async () => {
    const net = testNet(16);
    await withNetwork(net, async (roots) => {
      const cases: [string[], RegExp, number?][] = [
        [
          ["network", "create", "--subnet", "10.231.16.128/25", "dptest16b"],
          /overlaps network dptest16/,
        ],
        [["network", "create", "--subnet", "10.231.300.0/24", "dptest16b"], /not an IPv4 CIDR/],
        [[
          "network",
          "create",
          "--subnet",
          "10.231.17.0/24",
          "--gateway",
          "10.231.18.1",
          "dptest16b",
        ], /not a host address of subnet/],
        [["network", "create", "--subnet", "10.231.17.0/24", net.name], /already exists/],
        [
          ["create", "--network", "dptest16nope", "busybox", "true"],
          /unable to find network with name or ID dptest16nope/,
        ],
        [
          ["create", "--network", net.name, "-p", "70000:80", "busybox", "true"],
          /invalid port 70000/,
        ],
        [
          ["create", "--network", "none", "-p", "8080:80", "busybox", "true"],
          /published ports need a bridge network/,
        ],
        [["network", "rm", "dptest16nope"], /network not found/],
      ];
      for (const [args, message, code = 125] of cases) {
        const result = await denopod(roots, args);
        assert.equal(result.code, code, args.join(" "));
        assert.match(result.stderr, message, args.join(" "));
        assert.equal(result.stderr.split("\n").length, 2, `one line: ${result.stderr}`);
      }
      assert.deepEqual(
        (await denopodOk(roots, ["network", "ls", "-q"])).trim().split("\n"),
        ["denopod", net.name],
      );
      assert.equal(await denopodOk(roots, ["ps", "-aq"]), "");

      // in use: refused without -f (exit 2), then -f removes the container and the network
      await denopodOk(roots, [
        "create",
        "--name",
        "user",
        "--network",
        net.name,
        "busybox",
        "true",
      ]);
      const inUse = await denopod(roots, ["network", "rm", net.name]);
      assert.equal(inUse.code, 2);
      assert.match(inUse.stderr, /^Error: "dptest16" has associated containers with it \(user\)/);

      // netavark missing: run fails at once, leaving no container, netns or lease
      const missing = await denopod(
        roots,
        ["run", "--rm", "--network", net.name, "busybox", "true"],
        { env: { DENOPOD_NETAVARK: "/nonexistent/netavark" } },
      );
      assert.equal(missing.code, 125);
      assert.equal(
        missing.stderr,
        "Error: netavark not found (looked in /nonexistent/netavark): install the netavark package for bridge networks\n",
      );
      const startMissing = await denopod(roots, ["start", "user"], {
        env: { DENOPOD_NETAVARK: "/nonexistent/netavark" },
      });
      assert.equal(startMissing.code, 125);
      assert.match(startMissing.stderr, /^Error: netavark not found/);
      assert.deepEqual(listDir(join(roots.runRoot, "netns")), []);
      assert.equal(await denopodOk(roots, ["ps", "-a", "--format", "{{.Names}}"]), "user\n");

      assert.equal(await denopodOk(roots, ["network", "rm", "-f", net.name]), `${net.name}\n`);
      assert.equal(await denopodOk(roots, ["ps", "-aq"]), "");
      assert.deepEqual(await firewallLinesFor(net), []);
    });
  },
);

Deno.test(
  "network inspect, ls, exists and prune; --network bridge joins a default network the user made",
  NET_TEST,
  async () => {
    const net = testNet(17);
    await withNetwork(net, async (roots) => {
      const [inspected] = JSON.parse(await denopodOk(roots, ["network", "inspect", net.name]));
      assert.equal(inspected.name, net.name);
      assert.equal(inspected.driver, "bridge");
      assert.equal(inspected.network_interface, net.bridge);
      assert.deepEqual(inspected.subnets, [{ subnet: net.subnet, gateway: `${net.prefix}1` }]);
      assert.equal(
        await denopodOk(roots, [
          "network",
          "inspect",
          "--format",
          "{{.name}} {{.dns_enabled}}",
          net.name,
        ]),
        `${net.name} true\n`,
      );
      assert.equal((await denopod(roots, ["network", "exists", net.name])).code, 0);
      await denopodOk(roots, [
        "network",
        "create",
        "--subnet",
        "10.231.18.0/24",
        "--interface-name",
        "dptestbr18",
        "--disable-dns",
        "dptest18",
      ]);
      // the default network's subnet and bridge may be chosen by making it first
      await denopodOk(roots, [
        "network",
        "create",
        "--subnet",
        "10.231.19.0/24",
        "--interface-name",
        "dptestbr19",
        "denopod",
      ]);
      await denopodOk(roots, [
        "create",
        "--name",
        "c",
        "--network",
        `bridge,${net.name}`,
        "busybox",
        "true",
      ]);
      const networks = await denopodOk(roots, ["ps", "-a", "--format", "{{.Networks}}"]);
      assert.match(networks, /denopod/);
      assert.equal(
        await denopodOk(roots, ["network", "prune", "-f"]),
        "dptest18\n",
        "only the unused, non-default network",
      );
      assert.deepEqual(
        (await denopodOk(roots, ["network", "ls", "--format", "{{.Name}}"])).trim().split("\n"),
        ["denopod", net.name],
      );
      await denopodOk(roots, ["rm", "c"]);
      await denopodOk(roots, ["network", "rm", "denopod"]);
    });
  },
);

Deno.test(
  "-P publishes the image's exposed ports on free host ports, and a range reaches each port",
  NET_TEST,
  async () => {
    const net = testNet(20);
    await withNetwork(net, async (roots) => {
      await denopodOk(roots, [
        "import",
        "--change",
        "EXPOSE 80",
        "--change",
        "EXPOSE 81",
        await busyboxRootfsTar(),
        "webimg",
      ]);
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "exposed",
        "--network",
        net.name,
        "-P",
        "webimg",
        "sh",
        "-c",
        "mkdir /a /b && echo a > /a/index.html && echo b > /b/index.html && " +
        "httpd -p 80 -h /a && exec httpd -f -p 81 -h /b",
      ]);
      const lines = (await denopodOk(roots, ["port", "exposed"])).trim().split("\n").sort();
      assert.equal(lines.length, 2, lines.join("\n"));
      const ports: Record<string, number> = {};
      for (const line of lines) {
        const match = /^(\d+)\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(line);
        assert.ok(match, line);
        ports[match[1]] = Number(match[2]);
        assert.ok(ports[match[1]] >= 32768 && ports[match[1]] <= 60999, line);
      }
      assert.equal(await fetchText(`http://127.0.0.1:${ports["80"]}/`), "a\n");
      assert.equal(await fetchText(`http://127.0.0.1:${ports["81"]}/`), "b\n");
      await denopodOk(roots, ["rm", "-f", "-t", "0", "exposed"]);

      // a range: two host ports to two container ports
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "ranged",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}-${net.port + 1}:80-81`,
        "webimg",
        "sh",
        "-c",
        "mkdir /a /b && echo a > /a/index.html && echo b > /b/index.html && " +
        "httpd -p 80 -h /a && exec httpd -f -p 81 -h /b",
      ]);
      assert.equal(
        await denopodOk(roots, ["ps", "--format", "{{.Ports}}"]),
        `127.0.0.1:${net.port}-${net.port + 1}->80-81/tcp\n`,
      );
      assert.equal(await fetchText(`http://127.0.0.1:${net.port}/`), "a\n");
      assert.equal(await fetchText(`http://127.0.0.1:${net.port + 1}/`), "b\n");
      await denopodOk(roots, ["rm", "-f", "-t", "0", "ranged"]);
      await assertNothingLeft(roots, net, []);
    });
  },
);

Deno.test(
  "system check --repair after kill -9 of monitor and container tears the network down once",
  NET_TEST,
  async () => {
    const net = testNet(21);
    await withNetwork(net, async (roots) => {
      const id = (await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "crashed",
        "--network",
        net.name,
        "-p",
        `127.0.0.1:${net.port}:80`,
        "busybox",
        "sleep",
        "100",
      ])).trim();
      const [pid, monitorPid] = (await denopodOk(roots, [
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.ConmonPid}}",
        "crashed",
      ])).trim().split(" ").map(Number);
      Deno.kill(monitorPid, "SIGKILL");
      await pollFor("the monitor to die", () => processAlive(monitorPid) ? undefined : true);
      Deno.kill(pid, "SIGKILL");
      await pollFor("the container to die", () => processAlive(pid) ? undefined : true);
      assert.ok((await firewallLinesFor(net, [id])).length > 0, "rules left until repaired");

      const repaired = await denopod(roots, ["system", "check", "--repair", "--quick"]);
      assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
      assert.match(repaired.stdout, /crashed .* its process has ended \(repaired\)/);
      await assertNothingLeft(roots, net, [id]);
      const again = await denopod(roots, ["system", "check", "--quick"]);
      assert.equal(again.code, 0, again.stdout);
      assert.equal(again.stdout, "", "nothing left to find");
    });
  },
);
