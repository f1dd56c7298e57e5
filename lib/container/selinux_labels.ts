/**
 * SELinux for a container, as podman does it when SELinux is enabled: a process label and a mount
 * label sharing a unique MCS pair (`s0:cX,cY`, never one another container holds; a removed
 * container's pair is free again because only existing containers are counted), the policy's
 * container types read from `lxc_contexts`, `--security-opt label=type:T|level:L|disable`, and
 * the relabelling of the rundir files and of `:z` (shared) / `:Z` (private) volume sources.
 * When SELinux is off every step is skipped and nothing fails. The state and the labeller are
 * parameters, so the enabled path is tested on hosts without SELinux.
 *
 * @example
 * ```ts
 * const labels = allocateLabels(conf.label, usedLevels, { enabled: selinuxEnabled() });
 * relabelForContainer(labels, rundirFiles, volumes, realLabeller);
 * ```
 * @module
 */
import type { LabelOptions } from "./confinement.ts";
import type { VolumeSpec } from "./config.ts";
import { relabel, selinuxEnabled } from "../sys/selinux.ts";

/** The container's labels; empty strings when SELinux is off or `label=disable`. */
export interface ContainerLabels {
  processLabel: string;
  mountLabel: string;
}

/** Sets labels on files; the real one writes `security.selinux`. */
export interface Labeller {
  relabel(path: string, label: string, shared: boolean): void;
}

/** The labeller that sets `security.selinux` (go-selinux's `Relabel`). */
export const xattrLabeller: Labeller = {
  relabel: (path, label, shared) => relabel(path, label, shared, true),
};

/** The policy's container contexts (`/etc/selinux/targeted/contexts/lxc_contexts`). */
export interface ContainerContexts {
  process: string;
  file: string;
}

/** The targeted policy's defaults, used when `lxc_contexts` cannot be read. */
export const DEFAULT_CONTEXTS: ContainerContexts = {
  process: "system_u:system_r:container_t:s0",
  file: "system_u:object_r:container_file_t:s0",
};

/** Reads `process = "..."` and `file = "..."` from an `lxc_contexts` file's text. */
export function parseLxcContexts(text: string): ContainerContexts {
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, "m").exec(text)?.[1];
  return {
    process: value("process") ?? DEFAULT_CONTEXTS.process,
    file: value("file") ?? DEFAULT_CONTEXTS.file,
  };
}

/** The host's container contexts, or the defaults. */
export function readContainerContexts(
  path = "/etc/selinux/targeted/contexts/lxc_contexts",
): ContainerContexts {
  try {
    return parseLxcContexts(Deno.readTextFileSync(path));
  } catch {
    return DEFAULT_CONTEXTS;
  }
}

/** What {@linkcode allocateLabels} needs besides the user's choice. */
export interface AllocateOptions {
  /** Whether SELinux is enabled (default: the kernel's answer). */
  enabled?: boolean;
  contexts?: ContainerContexts;
  /** Random integers in [0, n) (tests fix them). */
  random?: (n: number) => number;
}

const NO_LABELS: ContainerLabels = { processLabel: "", mountLabel: "" };

function withLevel(context: string, level: string): string {
  return [...context.split(":").slice(0, 3), level].join(":");
}

function withType(context: string, type: string): string {
  const parts = context.split(":");
  parts[2] = type;
  return parts.join(":");
}

/**
 * Allocates the labels of a new container: none when SELinux is off or `label=disable`; else the
 * policy's contexts with `label=user:/role:/type:` applied, and `label=level:` or a fresh MCS pair
 * that no level in `usedLevels` (the other containers') has.
 */
export function allocateLabels(
  label: LabelOptions,
  usedLevels: ReadonlySet<string>,
  options: AllocateOptions = {},
): ContainerLabels {
  if (!(options.enabled ?? selinuxEnabled()) || label.disable) return NO_LABELS;
  const contexts = options.contexts ?? readContainerContexts();
  const random = options.random ?? ((n: number) => Math.floor(Math.random() * n));
  let level = label.level;
  for (let attempt = 0; level === undefined; attempt++) {
    const a = random(1024);
    const b = random(1024);
    if (a === b) continue;
    const candidate = `s0:c${Math.min(a, b)},c${Math.max(a, b)}`;
    if (!usedLevels.has(candidate) || attempt > 10000) level = candidate;
  }
  let process = withLevel(contexts.process, level);
  if (label.type) process = withType(process, label.type);
  if (label.user) process = [label.user, ...process.split(":").slice(1)].join(":");
  if (label.role) {
    const parts = process.split(":");
    parts[1] = label.role;
    process = parts.join(":");
  }
  return { processLabel: process, mountLabel: withLevel(contexts.file, level) };
}

/** The MCS level (`s0:cX,cY`) of a label, or "" for none. */
export function labelLevel(label: string): string {
  return label.split(":").slice(3).join(":");
}

/**
 * Relabels what the container uses: each rundir file with the mount label, each `:z` volume
 * source shared (level `s0`) and each `:Z` one private. Nothing when the container has no labels.
 */
export function relabelForContainer(
  labels: ContainerLabels,
  rundirFiles: readonly string[],
  volumes: readonly VolumeSpec[],
  volumeSources: readonly string[],
  labeller: Labeller = xattrLabeller,
): void {
  if (labels.mountLabel === "") return;
  for (const file of rundirFiles) labeller.relabel(file, labels.mountLabel, false);
  volumes.forEach((v, i) => {
    if (v.relabel) labeller.relabel(volumeSources[i], labels.mountLabel, v.relabel === "z");
  });
}
