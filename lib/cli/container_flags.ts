/**
 * The flags `create` and `run` share (podman's names), and their translation into
 * {@linkcode CreateOptions}.
 * @module
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import type { CreateOptions } from "../container/create.ts";
import { parseSize } from "../util/humanize.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../util/detach_keys.ts";
import { InvalidArgError } from "../errors.ts";
import { collect, parseWholeNumber } from "./common.ts";

/** Parses a podman boolean flag value (`--sig-proxy=false`); a bare flag is true. */
export function parseBoolFlag(flag: string): (value: string) => boolean {
  return (value) => {
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    throw new InvalidArgError(
      `invalid argument "${value}" for "${flag}" flag: must be true or false`,
    );
  };
}

/** Adds the attach flags (`-i`, `--detach-keys`, `--sig-proxy`) that `run`, `start`, `attach` share. */
export function withAttachFlags<Args extends unknown[], Opts extends OptionValues>(
  cmd: Command<Args, Opts>,
) {
  return cmd
    .option("--detach-keys <keys>", "the keys that detach from the container", DEFAULT_DETACH_KEYS)
    .option(
      "--sig-proxy [bool]",
      "pass the signals this process receives on to the container",
      parseBoolFlag("--sig-proxy"),
      true,
    );
}

/** Adds the create flags to `cmd` (typed), for `create` and `run`. */
export function withCreateFlags<Args extends unknown[], Opts extends OptionValues>(
  cmd: Command<Args, Opts>,
) {
  return cmd
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
    .option("--rm", "remove the container when it exits")
    .option("-i, --interactive", "keep stdin open and attach to it")
    .option("-t, --tty", "give the container a terminal");
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
  interactive?: boolean;
  tty?: boolean;
  detachKeys?: string;
}

/** Turns parsed flags plus `IMAGE [CMD...]` into create options. */
export function createOptionsFrom(
  flags: CreateFlagValues,
  image: string,
  command: string[],
): CreateOptions {
  // an unknown key is refused here, before anything is created
  if (flags.detachKeys !== undefined) parseDetachKeys(flags.detachKeys);
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
    terminal: flags.tty === true,
    stdin: flags.interactive === true,
  };
}
