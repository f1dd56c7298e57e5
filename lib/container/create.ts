/**
 * `create`: turns the user's flags and the image's config into a container — the seed's
 * newContainer and setupStorage, then the rundir files and the bundle's `config.json`. The row is
 * inserted first (so the name is taken in one transaction: of two `create --name x` at once one
 * wins and the other gets a clear error); if any later step fails, the row and every directory
 * made are removed again, so no half-made container is left.
 *
 * @example
 * ```ts
 * const ctr = await createContainer(ctx, { image: "busybox", command: ["sh"], ...defaults });
 * ```
 * @module
 */
import { journaled } from "../events/journal.ts";
import { InvalidArgError, LockError, NameInUseError } from "../errors.ts";
import { IntentLog } from "../state/intents.ts";
import { tryLock } from "../sys/lockfile.ts";
import { crashPoint } from "../util/crash.ts";
import { generateId, randomName, validateName } from "../util/names.ts";
import { parseSignal } from "../util/signals.ts";
import { assertNoControlChars, validateDnsFlags } from "./rundir.ts";
import { validateWorkdir } from "./spec.ts";
import type { ImageRecord } from "../storage/images.ts";
import { type ContainerConfig, initialState, type NetworkMode } from "./config.ts";
import { buildConfinement, type ConfinementFlags } from "./confinement.ts";
import { parseMount, parseVolume } from "./mount_flags.ts";
import { findCatatonit } from "./spec/mounts.ts";
import { ensureVolumes, volumeStore } from "./volume_binds.ts";
import { allocateLabels, labelLevel } from "./selinux_labels.ts";
import { selinuxEnabled } from "../sys/selinux.ts";
import { parseRestartPolicy } from "./restart_policy.ts";
import type { RuntimeContext } from "./context.ts";
import { Container } from "./container.ts";
import { bundleSpec, writeBundleSpec, writeRundirFiles } from "./files.ts";
import { mergeEnv, readEnvFile, validateEnvFlags, validateImageEnv } from "./env.ts";
import { normalizeUserSpec } from "./user_spec.ts";
import { removeTree } from "../storage/layers.ts";
import { logger } from "../log.ts";
import type { NetworkSelection } from "./network.ts";

const log = logger("container");

/** podman's default shm size: containers.conf's `65536k` read as decimal kB (`size=64000k`). */
export const DEFAULT_SHM_SIZE = 65536 * 1000;
/** podman's default stop timeout, seconds. */
export const DEFAULT_STOP_TIMEOUT = 10;
/** The PATH podman gives a container whose image sets none. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The flags of `create` (and `run`), already split into lists. */
export interface CreateOptions {
  image: string;
  command: string[];
  name?: string;
  hostname?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  noHosts: boolean;
  shmSize?: number;
  env: string[];
  workdir?: string;
  /** `--entrypoint`: a plain string is one argument, a JSON array is taken as is. */
  entrypoint?: string;
  user?: string;
  labels: string[];
  volumes: string[];
  network?: string;
  /** `--ip`: a static address on the container's only network. */
  ip?: string;
  /** `--mac-address`: a static MAC on the container's only network. */
  macAddress?: string;
  /** `-p` values. */
  publish?: string[];
  /** `-P`: publish the image's `ExposedPorts` on free host ports. */
  publishAll?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  autoRemove: boolean;
  /** `--mount` values. */
  mounts?: string[];
  /** `--env-file` paths, read before `-e` (which overrides them). */
  envFiles?: string[];
  /** `--restart`. */
  restart?: string;
  /** The command line that made the container (program name first), kept for `generate systemd --new`. */
  createCommand?: string[];
  /** Resource and security flags (`--memory`, `--cap-add`, `--security-opt`, …). */
  confinement?: ConfinementFlags;
  /** `-t`: give the process a terminal. */
  terminal?: boolean;
  /** `-i`: keep the process's stdin open. */
  stdin?: boolean;
}

/**
 * Checks that a bind mount's source exists on the host, with podman's words
 * (`statfs /nonexistent: no such file or directory`).
 */
export function assertVolumeSource(source: string): void {
  try {
    Deno.statSync(source);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Deno.errors.NotADirectory
      ? "not a directory"
      : (err as Error).message;
    throw new InvalidArgError(`statfs ${source}: ${reason}`, { cause: err });
  }
}

/**
 * Parses `--network` into a mode: `none`, `host`, the default private namespace, or `bridge` for
 * `bridge` and network names (`NAME[,NAME...]`, checked against the network files at create).
 */
export function parseNetwork(value: string | undefined): NetworkMode {
  if (value === undefined || value === "" || value === "private") return "private";
  if (value === "none" || value === "host") return value;
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*(,[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$/.test(value)) return "bridge";
  // NAME:ip=...,mac=... (the options are checked with the names)
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*:[^\s]*$/.test(value)) return "bridge";
  throw new InvalidArgError(
    `invalid --network ${
      JSON.stringify(value)
    }: must be none, host, private, bridge or NAME[,NAME...]`,
  );
}

function parseLabels(labels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    assertNoControlChars("--label", label);
    const eq = label.indexOf("=");
    if (eq === 0) throw new InvalidArgError(`invalid label "${label}": the key is empty`);
    out[eq < 0 ? label : label.slice(0, eq)] = eq < 0 ? "" : label.slice(eq + 1);
  }
  return out;
}

function parseEntrypoint(value: string): string[] {
  if (value.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed;
    } catch {
      // not JSON: one argument, as podman
    }
  }
  return value === "" ? [] : [value];
}

/** Builds the container config from the flags and the image; validates every value. */
export function buildContainerConfig(
  options: CreateOptions,
  image: ImageRecord,
  imageName: string,
  selection?: NetworkSelection,
): ContainerConfig {
  const id = generateId();
  const name = options.name ?? randomName();
  validateName(name);
  const network = selection?.mode ?? parseNetwork(options.network);
  for (
    const [flag, values] of [
      ["--env", options.env],
      ["--dns", options.dns],
      ["--dns-search", options.dnsSearch],
      ["--dns-option", options.dnsOptions],
      ["--add-host", options.addHosts],
      ["--label", options.labels],
      ["--hostname", options.hostname ? [options.hostname] : []],
      ["--user", options.user ? [options.user] : []],
      ["--workdir", options.workdir ? [options.workdir] : []],
      ["--entrypoint", options.entrypoint !== undefined ? [options.entrypoint] : []],
      ["command", options.command],
    ] as const
  ) {
    for (const value of values) assertNoControlChars(flag, value);
  }
  validateEnvFlags(options.env);
  const envFromFiles = (options.envFiles ?? []).flatMap(readEnvFile);
  const confinement = buildConfinement(options.confinement ?? {});
  if (confinement.init) findCatatonit();
  validateDnsFlags({
    dns: options.dns,
    dnsSearch: options.dnsSearch,
    dnsOptions: options.dnsOptions,
    addHosts: options.addHosts,
    network: network === "bridge" ? "private" : network,
  });
  const imageConfig = image.config.config ?? {};
  validateImageEnv(imageConfig.Env ?? []);
  const user = options.user !== undefined
    ? normalizeUserSpec(options.user)
    : normalizeUserSpec(imageConfig.User ?? "", "image User");
  const volumes = options.volumes.map(parseVolume);
  for (const flag of (options.mounts ?? []).map(parseMount)) {
    if (flag.kind === "bind") volumes.push(flag.volume);
    else confinement.tmpfs.push(flag.tmpfs);
  }
  for (const volume of volumes) {
    if (volume.anonymous) volume.volumeName = generateId();
    else if (volume.volumeName === undefined) assertVolumeSource(volume.source);
    if (volume.overlay && !Deno.statSync(volume.source).isDirectory) {
      throw new InvalidArgError(`invalid volume ${volume.source}: an O source must be a directory`);
    }
  }
  const entrypoint = options.entrypoint !== undefined
    ? parseEntrypoint(options.entrypoint)
    : imageConfig.Entrypoint ?? [];
  const cmd = options.command.length > 0
    ? options.command
    : options.entrypoint !== undefined
    ? []
    : imageConfig.Cmd ?? [];
  // what comes from the image is checked as the flags are: no control character anywhere
  if (options.entrypoint === undefined) {
    for (const value of entrypoint) assertNoControlChars("image Entrypoint", value);
  }
  if (options.command.length === 0) {
    for (const value of cmd) assertNoControlChars("image Cmd", value);
  }
  const command = [...entrypoint, ...cmd];
  if (command.length === 0) {
    throw new InvalidArgError(
      "no command or entrypoint provided, and no CMD or ENTRYPOINT from image",
    );
  }
  if (options.workdir === undefined && imageConfig.WorkingDir) {
    assertNoControlChars("image WorkingDir", imageConfig.WorkingDir);
  }
  const workdir = options.workdir ?? (imageConfig.WorkingDir || "/");
  validateWorkdir(workdir);
  const stopSignal = parseSignal(options.stopSignal ?? imageConfig.StopSignal ?? "SIGTERM");
  const stopTimeout = options.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
  if (!Number.isInteger(stopTimeout) || stopTimeout < 0) {
    throw new InvalidArgError(
      `invalid --stop-timeout ${stopTimeout}: must be a whole number of seconds`,
    );
  }
  const shmSize = options.shmSize ?? DEFAULT_SHM_SIZE;
  if (!Number.isSafeInteger(shmSize) || shmSize <= 0) {
    throw new InvalidArgError(`invalid --shm-size ${shmSize}: must be greater than 0`);
  }
  const hostname = options.hostname ??
    (network === "host" ? Deno.hostname() : id.slice(0, 12));
  const imageEnv = imageConfig.Env ?? [];
  const hasPath = [...imageEnv, ...options.env].some((e) => e.startsWith("PATH="));
  const env = mergeEnv(
    hasPath ? [] : [DEFAULT_PATH],
    ["container=denopod"],
    imageEnv,
    [`HOSTNAME=${hostname}`],
    envFromFiles,
    options.env,
  );
  if (!env.some((e) => e.startsWith("HOME="))) env.push("HOME=/root");
  return {
    id,
    name,
    imageId: image.id,
    imageName,
    command,
    entrypoint,
    cmd,
    env,
    workdir,
    user,
    hostname,
    labels: { ...(imageConfig.Labels ?? {}), ...parseLabels(options.labels) },
    dns: options.dns,
    dnsSearch: options.dnsSearch,
    dnsOptions: options.dnsOptions,
    addHosts: options.addHosts,
    noHosts: options.noHosts,
    network,
    ...(network === "bridge" ? { networks: selection?.networks ?? [] } : {}),
    ...(selection?.staticIps ? { staticIps: selection.staticIps } : {}),
    ...(selection?.staticMacs ? { staticMacs: selection.staticMacs } : {}),
    shmSize,
    volumes,
    stopSignal,
    stopTimeout,
    autoRemove: options.autoRemove,
    terminal: options.terminal === true,
    stdin: options.stdin === true,
    created: new Date().toISOString(),
    confinement,
    restartPolicy: parseRestartPolicy(options.restart),
    ...(options.createCommand ? { createCommand: options.createCommand } : {}),
  };
}

/** Names tried before giving up when every random name is taken. */
const RANDOM_NAME_ATTEMPTS = 20;

/**
 * Inserts the container's row; a random name that is taken is replaced by another (as podman
 * does), a name the user chose is not.
 */
function insertWithFreeName(
  ctx: RuntimeContext,
  config: ContainerConfig,
  randomised: boolean,
): number {
  for (let attempt = 1;; attempt++) {
    try {
      // the row, its create event and the intent "creating container X" in one transaction: a
      // kill -9 before the create finishes leaves the intent, and the next command removes the
      // half-made container
      return journaled(ctx.db, { config }, ["create"], () => {
        ctx.containers.insert({ config, state: initialState() });
        return new IntentLog(ctx.db).record("create", config.id);
      });
    } catch (err) {
      if (!randomised || !(err instanceof NameInUseError) || attempt >= RANDOM_NAME_ATTEMPTS) {
        throw err;
      }
      config.name = randomName();
    }
  }
}

/** How {@linkcode createContainer} prepares the container's files. */
export interface CreateFilesOptions {
  /**
   * A start follows at once (`run`): the rundir files and `config.json` are left to it, so each
   * is written once (a rewrite of a file is also the slower write on ext4); the spec is still
   * built, so a bad value (a missing seccomp profile) is refused here, with nothing left behind.
   */
  startFollows?: boolean;
}

/**
 * Creates a container: config, row, storage, rundir files and bundle spec. On failure nothing of
 * it is left behind.
 */
export async function createContainer(
  ctx: RuntimeContext,
  options: CreateOptions,
  files: CreateFilesOptions = {},
): Promise<Container> {
  const image = ctx.images.resolve(options.image);
  const imageName = image.names.find((n) => n.endsWith(`/${options.image}`)) ??
    image.names[0] ?? image.id;
  const publish = options.publish ?? [];
  const publishAll = options.publishAll === true;
  parseNetwork(options.network); // the syntax first, then the names
  // the network code loads only for a container that names a network, ports or addresses
  const network = (options.network ?? "") !== "" || publish.length > 0 || publishAll ||
      options.ip !== undefined || options.macAddress !== undefined
    ? await import("./network.ts")
    : undefined;
  const selection: NetworkSelection = network
    ? await network.resolveNetworkSelection(
      ctx,
      options.network,
      publish.length > 0 || publishAll,
      { ip: options.ip, mac: options.macAddress },
    )
    : { mode: "private", networks: [] };
  const config = buildContainerConfig(options, image, imageName, selection);
  const ports = network?.resolvePortMappings(
    ctx,
    publish,
    publishAll,
    image.config.config?.ExposedPorts,
  ) ?? [];
  if (ports.length > 0) config.portMappings = ports;
  const label = config.confinement?.label ?? { disable: false };
  // the other containers' MCS levels, read (every row) only when a label is to be given
  const usedLevels = selinuxEnabled() && !label.disable
    ? new Set(ctx.containers.list().map((r) => labelLevel(r.config.selinux?.processLabel ?? "")))
    : new Set<string>();
  config.selinux = allocateLabels(label, usedLevels);
  // held while the container is made, so no housekeeping takes it for an abandoned one
  await Deno.mkdir(ctx.paths.locksDir, { recursive: true });
  const lock = tryLock(ctx.paths.lockPath(config.id));
  if (lock === null) throw new LockError(`container ${config.id} is locked by another process`);
  const intents = new IntentLog(ctx.db);
  let intent: number;
  try {
    intent = insertWithFreeName(ctx, config, options.name === undefined);
  } catch (err) {
    lock.release();
    await Deno.remove(ctx.paths.lockPath(config.id)).catch(() => {});
    throw err;
  }
  const ctr = new Container(ctx, { config, state: initialState() });
  let createdVolumes: string[] = [];
  try {
    createdVolumes = ensureVolumes(ctx.paths, config.volumes);
    crashPoint("create:inserted");
    await ctr.setupStorage();
    crashPoint("create:storage");
    if (files.startFollows) {
      await bundleSpec(ctr);
    } else {
      await writeRundirFiles(ctr);
      await writeBundleSpec(ctr);
    }
    intents.clear(intent);
  } catch (err) {
    for (const name of createdVolumes) await removeTree(volumeStore(ctx.paths).volumeDir(name));
    await removeTree(ctx.paths.layerDir(config.id));
    await removeTree(ctx.paths.containerDir(config.id));
    await removeTree(ctx.paths.runDir(config.id));
    ctx.db.transaction(() => {
      ctx.containers.delete(config.id);
      intents.clear(intent);
    });
    ctr.removeLockfile();
    throw err;
  } finally {
    lock.release();
  }
  log.debug("created container {name} ({id})", { name: config.name, id: config.id });
  return ctr;
}
