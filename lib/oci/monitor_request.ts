/**
 * Helpers both monitors share: checking a start request that arrives as JSON, the names of the
 * files a monitor keeps in the container's run directory, making the directories it writes
 * into, and resolving the exit command's program on PATH (conmon needs an absolute path).
 *
 * @example
 * ```ts
 * const request = parseMonitorRequest(Deno.args[1]); // throws InvalidArgError when malformed
 * await prepareMonitorDirs(request);
 * ```
 * @module
 */
import { dirname } from "../util/path.ts";
import { InvalidArgError } from "../errors.ts";
import { lookPath } from "../sys/process.ts";
import type { MonitorStartRequest } from "./monitor.ts";
import type { ExecSessionRequest } from "./exec_session.ts";

/** The built-in monitor's first argument for an exec session (`__monitor exec <json>`). */
export const MONITOR_EXEC_MODE = "exec";

/** Name of the file, in the run directory, that holds the monitor's pid. */
export const MONITOR_PID_FILE = "monitor.pid";
/** Name of the file, in the run directory, where runc logs (JSON) under a monitor. */
export const OCI_LOG_FILE = "oci-log";

/**
 * Parses and checks a start request received as JSON (the built-in monitor's argument).
 * Throws {@linkcode InvalidArgError} naming the first missing or malformed field.
 */
export function parseMonitorRequest(json: string): MonitorStartRequest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new InvalidArgError(`monitor request is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null) {
    throw new InvalidArgError("monitor request is not an object");
  }
  const req = value as Record<string, unknown>;
  for (const key of ["id", "bundle", "runDir", "logPath", "exitDir", "pidFile", "runcRoot"]) {
    if (typeof req[key] !== "string" || req[key] === "") {
      throw new InvalidArgError(`monitor request: "${key}" must be a non-empty string`);
    }
  }
  for (const key of ["name", "runcBinary"]) {
    if (req[key] !== undefined && typeof req[key] !== "string") {
      throw new InvalidArgError(`monitor request: "${key}" must be a string`);
    }
  }
  for (const key of ["terminal", "stdin"]) {
    if (req[key] !== undefined && typeof req[key] !== "boolean") {
      throw new InvalidArgError(`monitor request: "${key}" must be a boolean`);
    }
  }
  if (!Array.isArray(req.exitCommand) || !req.exitCommand.every((a) => typeof a === "string")) {
    throw new InvalidArgError(`monitor request: "exitCommand" must be an array of strings`);
  }
  return req as unknown as MonitorStartRequest;
}

/**
 * Parses and checks an exec session request received as JSON (the built-in monitor's argument
 * in exec mode). Throws {@linkcode InvalidArgError} naming the first missing or malformed field.
 */
export function parseExecSessionRequest(json: string): ExecSessionRequest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new InvalidArgError(`exec session request is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null) {
    throw new InvalidArgError("exec session request is not an object");
  }
  const req = value as Record<string, unknown>;
  for (const key of ["id", "sessionId", "dir", "runcRoot"]) {
    if (typeof req[key] !== "string" || req[key] === "") {
      throw new InvalidArgError(`exec session request: "${key}" must be a non-empty string`);
    }
  }
  for (const key of ["terminal", "stdin"]) {
    if (typeof req[key] !== "boolean") {
      throw new InvalidArgError(`exec session request: "${key}" must be a boolean`);
    }
  }
  if (req.runcBinary !== undefined && typeof req.runcBinary !== "string") {
    throw new InvalidArgError(`exec session request: "runcBinary" must be a string`);
  }
  return req as unknown as ExecSessionRequest;
}

/** Resolves the exit command's program on PATH (conmon needs an absolute path). */
export function resolveExitCommand(command: string[], pathList: string): string[] {
  if (command.length === 0) return [];
  const program = lookPath(command[0], pathList);
  if (program === null) {
    throw new InvalidArgError(`exit command not found on PATH: ${command[0]}`);
  }
  return [program, ...command.slice(1)];
}

/** Creates the run directory, the exit directory and the log's directory (mode 0700 when new). */
export async function prepareMonitorDirs(request: MonitorStartRequest): Promise<void> {
  for (const dir of [request.runDir, request.exitDir, dirname(request.logPath)]) {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  }
}
