/**
 * The values of the flags `create` and `run` share (declared in `commands.ts`), and their
 * translation into
 * {@linkcode CreateOptions}.
 * @module
 */
import type { CreateOptions } from "../container/create.ts";
import { parseDetachKeys } from "../util/detach_keys.ts";

/** The parsed create flags, as the command table gives them. */
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
  ip?: string;
  macAddress?: string;
  publish: string[];
  publishAll?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  rm?: boolean;
  // confinement (issue 11); repeatable ones are lists, empty when not given
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
  readOnlyTmpfs?: boolean;
  tmpfs?: string[];
  device?: string[];
  init?: boolean;
  annotation?: string[];
  umask?: string;
  restart?: string;
  interactive?: boolean;
  tty?: boolean;
  detachKeys?: string;
  /** `--cidfile`: write the new container's ID here (`lib/cli/cidfile.ts`). */
  cidfile?: string;
  /** `--replace`: remove the container of the same name first. */
  replace?: boolean;
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
    ip: flags.ip,
    macAddress: flags.macAddress,
    publish: flags.publish,
    publishAll: flags.publishAll === true,
    stopSignal: flags.stopSignal,
    stopTimeout: flags.stopTimeout,
    autoRemove: flags.rm === true,
    mounts: flags.mount,
    envFiles: flags.envFile,
    restart: flags.restart,
    createCommand: ["denopod", ...Deno.args],
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
    terminal: flags.tty === true,
    stdin: flags.interactive === true,
  };
}
