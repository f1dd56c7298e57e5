/**
 * The files a container's run needs: `resolv.conf`, `hosts` and `hostname` in the run directory
 * (written, then relabelled when SELinux is enabled), and the bundle's `config.json` (the OCI
 * runtime spec runc reads).
 *
 * @example
 * ```ts
 * await writeRundirFiles(ctr);
 * await writeBundleSpec(ctr, { uid: 0, gid: 0 });
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import {
  buildHostname,
  buildHosts,
  buildResolvConf,
  parseResolvConf,
  primaryHostIp,
  renderResolvConf,
} from "./rundir.ts";
import { addressesOf, firstAddress } from "../network/status.ts";
import { buildSpec, type OciSpec } from "./spec.ts";
import { confinementOptions } from "./spec/confine.ts";
import { defaultConfinement } from "./confinement.ts";
import { chownVolumes, volumeBinds } from "./volume_binds.ts";
import { relabelForContainer } from "./selinux_labels.ts";
import { relabel } from "../sys/selinux.ts";
import { libc, RLIMIT_NOFILE, RLIMIT_NPROC } from "../sys/libc.ts";
import { containerLayerPaths } from "../storage/overlay.ts";
import type { Container } from "./container.ts";
import { logger } from "../log.ts";

const log = logger("container");

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Writes `text` to `name` in the container's run directory and relabels it; returns the path. */
export async function writeStringToRundir(
  ctr: Container,
  name: string,
  text: string,
): Promise<string> {
  const path = join(ctr.runDir, name);
  await Deno.writeTextFile(path, text, { mode: 0o644 });
  relabel(path, ctr.config.selinux?.mountLabel ?? "", false);
  return path;
}

/**
 * Writes `resolv.conf`, `hosts` (unless `--no-hosts`) and `hostname` into the run directory. On a
 * bridge network whose setup named DNS servers (aardvark-dns), `resolv.conf` lists them and their
 * search domain (`dns.podman`) before the host's, as podman writes it, unless `--dns` replaces
 * the servers; `hosts` names the container's own addresses and, for `host.containers.internal`,
 * the first network's gateway.
 */
export async function writeRundirFiles(ctr: Container): Promise<void> {
  const { config, ctx } = ctr;
  await Deno.mkdir(ctr.runDir, { recursive: true, mode: 0o700 });
  const network = config.network === "bridge" ? "private" : config.network;
  const bridge = bridgeFacts(ctr);
  const resolv = buildResolvConf({
    hostResolvConf: (await readOptional(ctx.hostFiles.resolvConf)) ?? "",
    systemdResolvConf: await readOptional(ctx.hostFiles.systemdResolvConf),
    network,
    ipv6: bridge.addresses.some((a) => a.includes(":")),
    dns: config.dns,
    dnsSearch: config.dnsSearch,
    dnsOptions: config.dnsOptions,
  });
  let resolvText = resolv.text;
  let warnings = resolv.warnings;
  if (bridge.dnsServers.length > 0 && config.dns.length === 0) {
    const parsed = parseResolvConf(resolvText);
    resolvText = renderResolvConf({
      nameservers: [...new Set([...bridge.dnsServers, ...parsed.nameservers])],
      search: config.dnsSearch.length > 0
        ? parsed.search
        : [...new Set([...bridge.searchDomains, ...parsed.search])],
      options: parsed.options,
    });
    warnings = [];
  }
  for (const warning of warnings) log.warn(warning);
  await writeStringToRundir(ctr, "resolv.conf", resolvText);
  const hosts = buildHosts({
    hostHosts: (await readOptional(ctx.hostFiles.hosts)) ?? null,
    addHosts: config.addHosts,
    hostname: config.hostname,
    containerName: config.name,
    network,
    noHosts: config.noHosts,
    // on a bridge the host is reached at the gateway, as podman writes it
    hostIp: config.noHosts ? undefined : bridge.gateway || primaryHostIp(),
    ...(bridge.addresses.length > 0 ? { containerIps: bridge.addresses } : {}),
  });
  if (hosts !== null) await writeStringToRundir(ctr, "hosts", hosts);
  await writeStringToRundir(ctr, "hostname", buildHostname(config.hostname));
}

/** What a bridge network's setup gave the container, for its resolv.conf and hosts. */
interface BridgeFacts {
  dnsServers: string[];
  searchDomains: string[];
  gateway: string;
  addresses: string[];
}

function bridgeFacts(ctr: Container): BridgeFacts {
  const facts: BridgeFacts = { dnsServers: [], searchDomains: [], gateway: "", addresses: [] };
  const status = ctr.state.networkStatus;
  if (ctr.config.network !== "bridge" || !status) return facts;
  for (const name of ctr.config.networks ?? []) {
    const block = status[name];
    if (!block) continue;
    facts.dnsServers.push(...(block.dns_server_ips ?? []));
    facts.searchDomains.push(...(block.dns_search_domains ?? []));
    // every address, IPv6 ones too, in netavark's order (as podman writes /etc/hosts)
    facts.addresses.push(...addressesOf(status, name).map((a) => a.ip));
    const address = firstAddress(status, name);
    if (address && facts.gateway === "") facts.gateway = address.gateway;
  }
  return facts;
}

/** The user a container's process runs as, resolved to numbers. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** Parses a numeric `uid[:gid]` user; returns undefined for names (resolved at start). */
export function numericUser(user: string): ProcessUser | undefined {
  if (user === "") return { uid: 0, gid: 0 };
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) return undefined;
  return { uid: Number(match[1]), gid: Number(match[2] ?? 0) };
}

/** Writes the bundle's `config.json` for the container's current config. */
export async function writeBundleSpec(
  ctr: Container,
  user?: ProcessUser,
  consoleSize?: { rows: number; cols: number },
): Promise<string> {
  const spec = await bundleSpec(ctr, user, consoleSize);
  const path = join(ctr.bundlePath, "config.json");
  await Deno.writeTextFile(path, JSON.stringify(spec, null, 2), { mode: 0o600 });
  return path;
}

/**
 * The OCI spec for the container's current config, built and checked (a missing seccomp profile,
 * a bad device or capability throw here) but not written. With `user` (at start, the name
 * resolved in the rootfs), its `U` volumes are chowned and its `:z`/`:Z` ones relabelled.
 */
export async function bundleSpec(
  ctr: Container,
  user?: ProcessUser,
  consoleSize?: { rows: number; cols: number },
): Promise<OciSpec> {
  const { config } = ctr;
  const resolved = user ?? numericUser(config.user) ?? { uid: 0, gid: 0 };
  const [, hardNofile] = libc().getrlimit(RLIMIT_NOFILE);
  const [, hardNproc] = libc().getrlimit(RLIMIT_NPROC);
  const volumes = volumeBinds(ctr.ctx.paths, config.volumes, ctr.id);
  // `U` volumes belong to the container's user once its name is resolved (at start)
  if (user) {
    await chownVolumes(config.volumes, volumes, resolved.uid, resolved.gid);
    // `:z`/`:Z` sources get the container's mount label (nothing without SELinux)
    relabelForContainer(
      config.selinux ?? { processLabel: "", mountLabel: "" },
      [],
      config.volumes,
      volumes.map((v) => v.source),
    );
  }
  const extra = await confinementOptions({
    id: ctr.id,
    confinement: config.confinement ?? defaultConfinement(),
    cacheDir: ctr.ctx.paths.seccompCacheDir,
    labels: config.selinux,
    hardNofile,
    hardNproc,
  });
  return buildSpec({
    args: config.command,
    env: config.env,
    cwd: config.workdir,
    uid: resolved.uid,
    gid: resolved.gid,
    additionalGids: resolved.additionalGids,
    hostname: config.hostname,
    rootfs: containerLayerPaths(ctr.ctx.paths, ctr.id).merged,
    shmPath: ctr.shmDir,
    runDir: ctr.runDir,
    hasResolv: true,
    hasHosts: !config.noHosts,
    volumes,
    network: config.network === "bridge" ? "private" : config.network,
    ...(config.network === "bridge" && ctr.state.netNs ? { netnsPath: ctr.state.netNs } : {}),
    terminal: config.terminal === true,
    consoleSize,
    annotations: { "io.container.manager": "denopod" },
    hardNofile,
    hardNproc,
    extra,
  });
}
