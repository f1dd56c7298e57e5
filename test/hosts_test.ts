/**
 * The container's hosts and hostname files: podman's order and `ip<TAB>names` form (the seed
 * wrote add-host entries as `name ip`), the per-network own entry, and no injection.
 */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import {
  buildHostname,
  buildHosts,
  defaultHostname,
  type HostsInputs,
  parseAddHost,
} from "../lib/container/rundir.ts";

/** This machine's /etc/hosts when podman 4.3 was compared with. */
const HOST_HOSTS = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";

function inputs(overrides: Partial<HostsInputs>): HostsInputs {
  return {
    hostHosts: HOST_HOSTS,
    addHosts: [],
    hostname: "44b63e55a1a5",
    containerName: "jovial_chaplygin",
    network: "private",
    noHosts: false,
    ...overrides,
  };
}

Deno.test("hosts matches what podman 4.3 wrote here for a bridged container", () => {
  const text = buildHosts(inputs({ hostIp: "10.88.0.1", containerIps: ["10.88.0.2"] }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n" +
      "10.88.0.1\thost.containers.internal\n10.88.0.2\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("--add-host entries come first as ip<TAB>names, split at the first colon", () => {
  const text = buildHosts(inputs({ addHosts: ["a;b:1.2.3.4", "six:::1"], network: "none" }));
  assert.equal(
    text,
    "1.2.3.4\ta b\n::1\tsix\n127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n" +
      "127.0.0.1\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("--network none: own entry on 127.0.0.1 and no host.containers.internal", () => {
  const text = buildHosts(inputs({ network: "none", hostIp: "192.0.2.2", hostHosts: null }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t44b63e55a1a5 jovial_chaplygin\n",
  );
});

Deno.test("--network host: no own entry, host.containers.internal kept", () => {
  const text = buildHosts(inputs({ network: "host", hostname: "vm", hostIp: "192.0.2.2" }));
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n192.0.2.2\thost.containers.internal\n",
  );
});

Deno.test("a private netns without an address puts the own entry on 127.0.0.1", () => {
  const text = buildHosts(inputs({ hostHosts: "", hostname: "abc", containerName: "web" }));
  assert.equal(text, "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tabc web\n");
});

Deno.test("names already present are not written again: a user's entry wins", () => {
  const text = buildHosts(inputs({
    hostHosts: "# comment only\n10.9.9.9 host.containers.internal\n",
    addHosts: ["abc:10.0.0.7", "localhost:10.0.0.8"],
    hostname: "abc",
    containerName: "web",
    hostIp: "192.0.2.2",
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
