/**
 * The flags `create` and `run` share (podman's names), and their translation into
 * {@linkcode CreateOptions}.
 * @module
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import type { CreateOptions } from "../container/create.ts";
import { parseSize } from "../util/humanize.ts";
import { collect, parseWholeNumber } from "./common.ts";

/** Adds the create flags to `cmd` (typed), for `create` and `run`. */
export function withCreateFlags<Args extends unknown[], Opts extends OptionValues>(
  cmd: Command<Args, Opts>,
) {
  const typed = cmd
    .option("--name <name>", "assign a name to the container")
    .option("--hostname <name>", "set the container's host name")
    .option("--dns <ip>", "set a custom DNS server", collect, [] as string[])
    .option("--dns-search <domain>", "set a custom DNS search domain", collect, [] as string[])
    .option("--dns-option <option>", "set a custom DNS option", collect, [] as string[])
    .option("--add-host <host:ip>", "add a custom host-to-IP mapping", collect, [] as string[])
    .option("--no-hosts", "do not create /etc/hosts for the container")
    .option("--shm-size <size>", "size of /dev/shm (e.g. 64m)", parseSize)
    .option("-e, --env <KEY=VALUE>", "set an environment variable", collect, [] as string[])
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("--entrypoint <cmd>", "override the image's ENTRYPOINT (string or JSON array)")
    .option("-u, --user <user>", "user[:group] to run as")
    .option("-l, --label <key=value>", "set a label", collect, [] as string[])
    .option("-v, --volume <src:dst[:ro]>", "bind-mount a host path", collect, [] as string[])
    .addOption(new Option("--network <mode>", "network mode: none, host, or private (default)"))
    .option("--stop-signal <signal>", "signal to stop the container with")
    .option(
      "--stop-timeout <seconds>",
      "seconds to wait before SIGKILL",
      parseWholeNumber("--stop-timeout"),
    )
    .option("--rm", "remove the container when it exits");
  addConfinementFlags(typed as unknown as Command);
  return typed;
}

/**
 * The confinement flags (issue 11), added untyped: commander's typings of a 40-option chain take
 * the type checker minutes. Their values are checked in lib/container/confinement.ts.
 */
const CONFINEMENT_FLAGS: readonly [flags: string, description: string, repeatable: boolean][] = [
  ["--mount <spec>", "attach a mount: type=bind|tmpfs|volume,...", true],
  ["--env-file <file>", "read environment variables from a file", true],
  ["-m, --memory <size>", "memory limit", false],
  ["--memory-swap <size>", "memory plus swap limit (-1: unlimited)", false],
  ["--memory-reservation <size>", "memory soft limit", false],
  ["--cpus <n>", "number of CPUs", false],
  ["-c, --cpu-shares <n>", "CPU shares (relative weight)", false],
  ["--cpuset-cpus <list>", "CPUs in which to allow execution (0-3, 0,1)", false],
  ["--pids-limit <n>", "tune the container's pids limit (-1: unlimited)", false],
  ["--ulimit <name=soft[:hard]>", "ulimit option", true],
  ["--cap-add <cap>", "add a capability", true],
  ["--cap-drop <cap>", "drop a capability (ALL: every one)", true],
  ["--privileged", "give extended privileges to the container", false],
  ["--security-opt <opt>", "security options", true],
  ["--read-only", "mount the container's root filesystem read-only", false],
  ["--read-only-tmpfs [bool]", "with --read-only: tmpfs on /run, /tmp, /var/tmp", false],
  ["--tmpfs <path[:opts]>", "mount a tmpfs", true],
  ["--device <host[:ctr[:perms]]>", "add a host device", true],
  ["--init", "run an init (catatonit) inside the container", false],
  ["--annotation <key=value>", "add an annotation", true],
  ["--umask <mask>", "the process's umask", false],
];

function addConfinementFlags(cmd: Command): void {
  for (const [flags, description, repeatable] of CONFINEMENT_FLAGS) {
    if (repeatable) cmd.option(flags, description, collect, [] as string[]);
    else cmd.option(flags, description);
  }
}

/** The parsed create flags, as commander gives them. */
export interface CreateFlagValues {
  name?: string;
  hostname?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
  hosts: boolean;
  shmSize?: number;
  env: string[];
  workdir?: string;
  entrypoint?: string;
  user?: string;
  label: string[];
  volume: string[];
  network?: string;
  stopSignal?: string;
  stopTimeout?: number;
  rm?: boolean;
  mount?: string[];
  envFile?: string[];
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  ulimit?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  readOnly?: boolean;
  readOnlyTmpfs?: string | boolean;
  tmpfs?: string[];
  device?: string[];
  init?: boolean;
  annotation?: string[];
  umask?: string;
}

/** Turns parsed flags plus `IMAGE [CMD...]` into create options. */
export function createOptionsFrom(
  flags: CreateFlagValues,
  image: string,
  command: string[],
): CreateOptions {
  return {
    image,
    command,
    name: flags.name,
    hostname: flags.hostname,
    dns: flags.dns,
    dnsSearch: flags.dnsSearch,
    dnsOptions: flags.dnsOption,
    addHosts: flags.addHost,
    noHosts: flags.hosts === false,
    shmSize: flags.shmSize,
    env: flags.env,
    workdir: flags.workdir,
    entrypoint: flags.entrypoint,
    user: flags.user,
    labels: flags.label,
    volumes: flags.volume,
    network: flags.network,
    stopSignal: flags.stopSignal,
    stopTimeout: flags.stopTimeout,
    autoRemove: flags.rm === true,
    mounts: flags.mount,
    envFiles: flags.envFile,
    confinement: {
      memory: flags.memory,
      memorySwap: flags.memorySwap,
      memoryReservation: flags.memoryReservation,
      cpus: flags.cpus,
      cpuShares: flags.cpuShares,
      cpusetCpus: flags.cpusetCpus,
      pidsLimit: flags.pidsLimit,
      ulimits: flags.ulimit,
      capAdd: flags.capAdd,
      capDrop: flags.capDrop,
      privileged: flags.privileged,
      securityOpts: flags.securityOpt,
      readOnly: flags.readOnly,
      readOnlyTmpfs: flags.readOnlyTmpfs,
      tmpfs: flags.tmpfs,
      devices: flags.device,
      init: flags.init,
      annotations: flags.annotation,
      umask: flags.umask,
    },
  };
}
