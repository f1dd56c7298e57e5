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
    .addOption(
      new Option(
        "--network <mode>",
        "network: none, host, private (default), bridge, or NAME[,NAME...]",
      ),
    )
    .option(
      "-p, --publish <[ip:][hostport:]port[/proto]>",
      "publish a container's port on the host (implies --network bridge when none is given)",
      collect,
      [] as string[],
    )
    .option("-P, --publish-all", "publish the image's exposed ports on free host ports")
    .option("--stop-signal <signal>", "signal to stop the container with")
    .option(
      "--stop-timeout <seconds>",
      "seconds to wait before SIGKILL",
      parseWholeNumber("--stop-timeout"),
    )
    .option("--rm", "remove the container when it exits");
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
  publish: string[];
  publishAll?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  rm?: boolean;
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
    publish: flags.publish,
    publishAll: flags.publishAll === true,
    stopSignal: flags.stopSignal,
    stopTimeout: flags.stopTimeout,
    autoRemove: flags.rm === true,
  };
}
