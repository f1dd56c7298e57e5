/**
 * The OCI / Docker image configuration: its type, a strict parser for configs read from
 * archives, the image ID (sha256 of the exact config bytes), and a canonical serialiser for
 * configs denopod builds itself (`import`, commits).
 *
 * @example
 * ```ts
 * const config = parseImageConfig(bytes, "config sha256:dc21…");
 * const id = imageIdOf(bytes); // "dc217c97…", no "sha256:" prefix
 * const ours = serializeImageConfig({ architecture: "amd64", os: "linux",
 *   rootfs: { type: "layers", diff_ids: [diffId] } });
 * ```
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { isSha256Digest, sha256Hex } from "./digest.ts";
import { messageOf, quoteForMessage } from "./message.ts";

/** The runtime defaults an image carries (the config's `config` object). */
export interface ImageRuntimeConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Keys like `80/tcp`; the values are empty objects. */
  ExposedPorts?: Record<string, Record<string, never>>;
  /** Keys are container paths; the values are empty objects. */
  Volumes?: Record<string, Record<string, never>>;
}

/** One entry of the image history; `empty_layer` entries made no layer. */
export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An OCI image configuration (also what Docker's image JSON holds), as denopod uses it. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: ImageHistoryEntry[];
}

/**
 * The image ID of a config: the sha256 of its exact bytes, 64 hex digits without `sha256:`.
 *
 * @example
 * ```ts
 * imageIdOf(new TextEncoder().encode("{}")); // "44136fa3…"
 * ```
 */
export function imageIdOf(configBytes: Uint8Array): string {
  return sha256Hex(configBytes);
}

/**
 * Parses and checks config bytes read from an archive; `what` names the config in errors.
 * Throws an ArchiveError on bad JSON, a missing `architecture`/`os`, `rootfs.type` other than
 * `layers`, a diff ID that is not a sha256 digest, or a `config` field of the wrong type.
 * `null` fields (Docker writes `"Cmd": null`) read as absent; unknown fields are dropped.
 */
export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ArchiveError(`archive: ${what}: ${messageOf(error)}`, { cause: error });
  }
  const top = asObject(raw, what);
  const rootfs = asObject(top.rootfs, `${what}: rootfs`);
  if (rootfs.type !== "layers") {
    throw new ArchiveError(
      `archive: ${what}: rootfs.type is ${quoteForMessage(rootfs.type)}, expected "layers"`,
    );
  }
  const diffIds = stringArray(rootfs.diff_ids, `${what}: rootfs.diff_ids`) ?? [];
  diffIds.forEach((diffId, i) => {
    if (!isSha256Digest(diffId)) {
      throw new ArchiveError(
        `archive: ${what}: rootfs.diff_ids[${i}] ${quoteForMessage(diffId)} is not a sha256 digest`,
      );
    }
  });
  const config: ImageConfig = {
    architecture: requiredString(top.architecture, `${what}: architecture`),
    os: requiredString(top.os, `${what}: os`),
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  setIfDefined(config, "variant", optionalString(top.variant, `${what}: variant`));
  setIfDefined(config, "created", optionalString(top.created, `${what}: created`));
  setIfDefined(config, "author", optionalString(top.author, `${what}: author`));
  if (top.config !== undefined && top.config !== null) {
    config.config = parseRuntimeConfig(top.config, `${what}: config`);
  }
  if (top.history !== undefined && top.history !== null) {
    if (!Array.isArray(top.history)) {
      throw new ArchiveError(`archive: ${what}: history is not an array`);
    }
    config.history = top.history.map((entry, i) => parseHistory(entry, `${what}: history[${i}]`));
  }
  return config;
}

/**
 * Serialises a config denopod builds, canonically: keys in the order `created, author,
 * architecture, variant, os, config, rootfs, history` (and within `config`: `User,
 * ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal`), absent fields
 * left out, no whitespace, `JSON.stringify` escaping. The same config always gives the same
 * bytes, hence the same image ID.
 */
export function serializeImageConfig(config: ImageConfig): Uint8Array {
  const runtime = config.config === undefined ? undefined : {
    User: config.config.User,
    ExposedPorts: config.config.ExposedPorts,
    Env: config.config.Env,
    Entrypoint: config.config.Entrypoint,
    Cmd: config.config.Cmd,
    Volumes: config.config.Volumes,
    WorkingDir: config.config.WorkingDir,
    Labels: config.config.Labels,
    StopSignal: config.config.StopSignal,
  };
  const ordered = {
    created: config.created,
    author: config.author,
    architecture: config.architecture,
    variant: config.variant,
    os: config.os,
    config: runtime,
    rootfs: { type: config.rootfs.type, diff_ids: config.rootfs.diff_ids },
    history: config.history?.map((entry) => ({
      created: entry.created,
      created_by: entry.created_by,
      author: entry.author,
      comment: entry.comment,
      empty_layer: entry.empty_layer,
    })),
  };
  return new TextEncoder().encode(JSON.stringify(ordered));
}

function parseRuntimeConfig(value: unknown, what: string): ImageRuntimeConfig {
  const raw = asObject(value, what);
  const out: ImageRuntimeConfig = {};
  setIfDefined(out, "Env", stringArray(raw.Env, `${what}.Env`));
  setIfDefined(out, "Cmd", stringArray(raw.Cmd, `${what}.Cmd`));
  setIfDefined(out, "Entrypoint", stringArray(raw.Entrypoint, `${what}.Entrypoint`));
  setIfDefined(out, "WorkingDir", optionalString(raw.WorkingDir, `${what}.WorkingDir`));
  setIfDefined(out, "User", optionalString(raw.User, `${what}.User`));
  setIfDefined(out, "StopSignal", optionalString(raw.StopSignal, `${what}.StopSignal`));
  setIfDefined(out, "Labels", stringRecord(raw.Labels, `${what}.Labels`));
  setIfDefined(out, "ExposedPorts", emptyObjectRecord(raw.ExposedPorts, `${what}.ExposedPorts`));
  setIfDefined(out, "Volumes", emptyObjectRecord(raw.Volumes, `${what}.Volumes`));
  return out;
}

function parseHistory(value: unknown, what: string): ImageHistoryEntry {
  const raw = asObject(value, what);
  const out: ImageHistoryEntry = {};
  setIfDefined(out, "created", optionalString(raw.created, `${what}.created`));
  setIfDefined(out, "created_by", optionalString(raw.created_by, `${what}.created_by`));
  setIfDefined(out, "author", optionalString(raw.author, `${what}.author`));
  setIfDefined(out, "comment", optionalString(raw.comment, `${what}.comment`));
  if (raw.empty_layer !== undefined && raw.empty_layer !== null) {
    if (typeof raw.empty_layer !== "boolean") {
      throw new ArchiveError(`archive: ${what}.empty_layer is not a boolean`);
    }
    out.empty_layer = raw.empty_layer;
  }
  return out;
}

function setIfDefined<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ArchiveError(`archive: ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function requiredString(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new ArchiveError(`archive: ${what} is missing or not a string`);
  }
  return value;
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ArchiveError(`archive: ${what} is not a string`);
  return value;
}

function stringArray(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new ArchiveError(`archive: ${what} is not an array of strings`);
  }
  return value;
}

function stringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = asObject(value, what);
  for (const item of Object.values(raw)) {
    if (typeof item !== "string") {
      throw new ArchiveError(`archive: ${what} has a value that is not a string`);
    }
  }
  return raw as Record<string, string>;
}

function emptyObjectRecord(
  value: unknown,
  what: string,
): Record<string, Record<string, never>> | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = asObject(value, what);
  const out: Record<string, Record<string, never>> = {};
  for (const key of Object.keys(raw)) out[key] = {};
  return out;
}
