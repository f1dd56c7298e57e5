/**
 * The container's hosts and hostname files: podman's order and `ip<TAB>names` form (the seed
 * wrote add-host entries as `name ip`), the per-network own entry, and no injection. The inputs
 * are what `create` supplies (the host's hosts file, the flags, `primaryHostIp()`); the last
 * tests create containers for real and read the files `create` wrote, beside podman 4.3.1's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InvalidArgError } from "../lib/errors.ts";
import {
  buildHostname,
  buildHosts,
  defaultHostname,
  type HostsInputs,
  parseAddHost,
  primaryHostIp,
} from "../lib/container/rundir.ts";
import { createContainer, type CreateOptions } from "../lib/container/create.ts";
import { Runtime } from "../lib/runtime.ts";
import {
  busyboxRootfsTar,
  denopodOk,
  importBusybox,
  IS_ROOT,
  withRoots,
} from "./helpers/denopod.ts";
import { PODMAN, PodmanSandbox } from "./helpers/podman.ts";

/** This machine's /etc/hosts when podman 4.3 was compared with. */
const HOST_HOSTS = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";
/** This machine's address when podman 4.3 was compared with (`primaryHostIp()` gives it). */
const HOST_IP = "192.0.2.2";

function inputs(overrides: Partial<HostsInputs>): HostsInputs {
  return {
    hostHosts: HOST_HOSTS,
    addHosts: [],
    hostname: "44b63e55a1a5",
    containerName: "jovial_chaplygin",
    network: "private",
    noHosts: false,
    hostIp: HOST_IP,
    ...overrides,
  };
}

Deno.test("hosts matches what podman 4.3.1 wrote here with --network none", () => {
  const text = buildHosts(inputs({ network: "none" }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n" +
      "192.0.2.2\thost.containers.internal\n127.0.0.1\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("--add-host entries come first as ip<TAB>names, split at the first colon", () => {
  const text = buildHosts(inputs({ addHosts: ["a;b:1.2.3.4", "six:::1"], network: "none" }));
  assert.equal(
    text,
    "1.2.3.4\ta b\n::1\tsix\n127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n" +
      "192.0.2.2\thost.containers.internal\n127.0.0.1\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("a host with no global address gets no host.containers.internal line", () => {
  const text = buildHosts(inputs({ network: "none", hostIp: undefined, hostHosts: null }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("--network host: no own entry, host.containers.internal kept", () => {
  const text = buildHosts(inputs({ network: "host", hostname: "vm" }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n192.0.2.2\thost.containers.internal\n",
  );
});

Deno.test("a private netns (loopback only) puts the own entry on 127.0.0.1", () => {
  const text = buildHosts(inputs({ hostHosts: "", hostname: "abc", containerName: "web" }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n::1\tlocalhost\n192.0.2.2\thost.containers.internal\n" +
      "127.0.0.1\tabc web\n",
  );
});

Deno.test("names already present are not written again: a user's entry wins", () => {
  const text = buildHosts(inputs({
    hostHosts: "# comment only\n10.9.9.9 host.containers.internal\n",
    addHosts: ["abc:10.0.0.7", "localhost:10.0.0.8"],
    hostname: "abc",
    containerName: "web",
  }));
  assert.equal(
    text,
    "10.0.0.7\tabc\n10.0.0.8\tlocalhost\n10.9.9.9\thost.containers.internal\n127.0.0.1\tweb\n",
  );
});

Deno.test("a hostname equal to the container name is written once", () => {
  const text = buildHosts(inputs({ hostHosts: null, hostname: "web", containerName: "web" }));
  assert.match(text ?? "", /\n127\.0\.0\.1\tweb\n$/);
});

Deno.test("--no-hosts writes no hosts file", () => {
  assert.equal(buildHosts(inputs({ noHosts: true, addHosts: ["a:1.2.3.4"] })), null);
});

Deno.test("parseAddHost splits at the first colon and refuses bad input with podman's words", () => {
  assert.deepEqual(parseAddHost("a;b:1.2.3.4"), { names: ["a", "b"], ip: "1.2.3.4" });
  assert.deepEqual(parseAddHost("h:::1"), { names: ["h"], ip: "::1" });
  assert.deepEqual(parseAddHost("h:2001:db8::1"), { names: ["h"], ip: "2001:db8::1" });
  const bad: [string, string][] = [
    ["x", 'bad format for add-host: "x"'],
    [":1.2.3.4", 'bad format for add-host: ":1.2.3.4"'],
    ["a;;b:1.2.3.4", 'bad format for add-host: "a;;b:1.2.3.4"'],
    ["a b:1.2.3.4", 'bad format for add-host: "a b:1.2.3.4"'],
    ["x:1.2", 'invalid IP address in add-host: "1.2"'],
    ["x:", 'invalid IP address in add-host: ""'],
  ];
  for (const [spec, message] of bad) {
    assert.throws(
      () => parseAddHost(spec),
      (err: unknown) => err instanceof InvalidArgError && err.message === message,
    );
  }
});

Deno.test("a newline in --add-host, --hostname or the name is refused: no injection", () => {
  const cases: [Partial<HostsInputs>, string][] = [
    [{ addHosts: ["evil:1.2.3.4\n6.6.6.6 bank.example"] }, "--add-host"],
    [{ hostname: "abc\n6.6.6.6 bank.example" }, "--hostname"],
    [{ containerName: "web\r6.6.6.6" }, "--name"],
  ];
  for (const [flags, flag] of cases) {
    assert.throws(
      () => buildHosts(inputs(flags)),
      (err: unknown) =>
        err instanceof InvalidArgError && err.message.includes(flag) &&
        !err.message.includes("\n"),
    );
  }
});

Deno.test("hostname file holds the name and a newline", () => {
  assert.equal(buildHostname("web"), "web\n");
  assert.equal(buildHostname("a".repeat(64)), `${"a".repeat(64)}\n`);
});

Deno.test("hostname refuses empty, too long, blank or control characters", () => {
  for (const bad of ["", "a".repeat(65), "two words", "abc\n1.2.3.4 x", "tab\there"]) {
    assert.throws(() => buildHostname(bad), InvalidArgError);
  }
});

Deno.test("default hostname: first 12 of the ID, or the host's name with --network host", () => {
  const id = "0123456789abcdef".repeat(4);
  assert.equal(defaultHostname(id, "private", "vm"), "0123456789ab");
  assert.equal(defaultHostname(id, "none", "vm"), "0123456789ab");
  assert.equal(defaultHostname(id, "host", "vm"), "vm");
});

const rootOpts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

/** `create` options as the CLI gives them for `create --name NAME --network NETWORK busybox true`. */
function createOptions(name: string, network: string): CreateOptions {
  return {
    image: "busybox",
    command: ["true"],
    name,
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    addHosts: [],
    noHosts: false,
    env: [],
    labels: [],
    volumes: [],
    network,
    autoRemove: false,
  };
}

Deno.test(
  "create writes hosts and resolv.conf from the host files and the host's address",
  rootOpts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const etc = join(roots.dir, "etc");
      await Deno.mkdir(etc);
      const hostFiles = {
        hosts: join(etc, "hosts"),
        resolvConf: join(etc, "resolv.conf"),
        systemdResolvConf: join(etc, "systemd-resolv.conf"),
      };
      await Deno.writeTextFile(hostFiles.hosts, "127.0.0.1 localhost\n10.1.1.1 nas # the NAS\n");
      await Deno.writeTextFile(hostFiles.resolvConf, "nameserver 127.0.0.53\nsearch lan\n");
      await Deno.writeTextFile(hostFiles.systemdResolvConf, "nameserver 192.0.2.9\n");
      const hostIp = primaryHostIp();
      const internal = hostIp === undefined ? "" : `${hostIp}\thost.containers.internal\n`;
      const runtime = await Runtime.open({ root: roots.root, runRoot: roots.runRoot, hostFiles });
      try {
        for (const network of ["private", "none", "host"]) {
          const ctr = await createContainer(runtime, createOptions(`n-${network}`, network));
          const file = (name: string) =>
            Deno.readTextFileSync(join(runtime.paths.runDir(ctr.id), name));
          const own = network === "host" ? "" : `127.0.0.1\t${ctr.id.slice(0, 12)} n-${network}\n`;
          assert.equal(
            file("hosts"),
            `127.0.0.1\tlocalhost\n10.1.1.1\tnas\n${internal}${own}`,
            network,
          );
          if (network === "private") {
            // the lone stub points at systemd-resolved: its own file is read instead
            assert.equal(file("resolv.conf"), "nameserver 192.0.2.9\n");
          }
          if (network === "none") assert.equal(file("resolv.conf"), "");
        }
      } finally {
        runtime.close();
      }
    });
  },
);

Deno.test(
  "hosts as podman 4.3.1 writes it, with --network none and host",
  { ...rootOpts, ignore: !IS_ROOT || PODMAN === undefined },
  async () => {
    const podman = await PodmanSandbox.create();
    try {
      await podman.output("import", await busyboxRootfsTar(), "busybox");
      await withRoots(async (roots) => {
        await importBusybox(roots);
        for (const network of ["none", "host"]) {
          const flags = ["--network", network, "--hostname", "h", "--name", `n-${network}`];
          const theirs = await podman.output(
            "run",
            "--rm",
            ...flags,
            "busybox",
            "cat",
            "/etc/hosts",
          );
          const id = (await denopodOk(roots, ["create", ...flags, "busybox", "true"])).trim();
          const ours = Deno.readTextFileSync(join(roots.runRoot, "containers", id, "hosts"));
          assert.equal(ours, theirs, network);
        }
      });
    } finally {
      await podman.remove();
    }
  },
);
