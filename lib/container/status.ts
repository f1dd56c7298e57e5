/**
 * A container's status and the questions every operation asks of it. Each lifecycle operation
 * checks the status it needs through these predicates, so every state check reads the same way.
 *
 * @example
 * ```ts
 * if (!canStop(state.status)) throw new ContainerStateError(`... is ${state.status}`);
 * ```
 * @module
 */
import type { ContainerState } from "./config.ts";

/** The lifecycle of a container, podman's names. */
export type ContainerStatus =
  | "configured"
  | "created"
  | "running"
  | "paused"
  | "stopping"
  | "stopped"
  | "exited"
  | "removing";

/** Every status, for flag validation (`ps --filter status=`). */
export const CONTAINER_STATUSES: readonly ContainerStatus[] = [
  "configured",
  "created",
  "running",
  "paused",
  "stopping",
  "stopped",
  "exited",
  "removing",
];

/** True when the container's process may be alive (runc must be asked). */
export function isActive(status: ContainerStatus): boolean {
  return status === "running" || status === "paused" || status === "stopping";
}

/** True when the container's process runs and is neither paused nor being stopped. */
export function isRunning(status: ContainerStatus): boolean {
  return status === "running";
}

/** True when the container is frozen (`pause`). */
export function isPaused(status: ContainerStatus): boolean {
  return status === "paused";
}

/** True when the container's process ended and its exit is recorded. */
export function hasExited(status: ContainerStatus): boolean {
  return status === "exited";
}

/** True when runc holds a process for the container: created (its init waits) or active. */
export function hasProcess(status: ContainerStatus): boolean {
  return status === "created" || isActive(status);
}

/** True when the container must be stopped before `restart` starts it again. */
export function needsStopToRestart(status: ContainerStatus): boolean {
  return hasProcess(status) && canStop(status);
}

/** True when `exec` may run: only in a running container (podman's rule). */
export function canExec(status: ContainerStatus): boolean {
  return isRunning(status);
}

/** True when `kill` may signal it: running, paused or being stopped. */
export function canKill(status: ContainerStatus): boolean {
  return isActive(status);
}

/** True when runc knows the container (created, running, paused, stopping or stopped). */
export function runtimeKnows(status: ContainerStatus): boolean {
  return status === "created" || isActive(status) || status === "stopped";
}

/** True when `start` may run: configured, created, stopped or exited. */
export function canStart(status: ContainerStatus): boolean {
  return status === "configured" || status === "created" || status === "stopped" ||
    status === "exited";
}

/** True when `stop` may run; it is refused for configured and paused, as the seed does. */
export function canStop(status: ContainerStatus): boolean {
  return status !== "configured" && status !== "paused" && status !== "removing";
}

/** True when storage may be torn down (and the container removed without force). */
export function canDelete(status: ContainerStatus): boolean {
  return !isActive(status) && status !== "removing";
}

/** True when `pause` may run. */
export function canPause(status: ContainerStatus): boolean {
  return isRunning(status);
}

/** True when `unpause` may run. */
export function canUnpause(status: ContainerStatus): boolean {
  return isPaused(status);
}

/** The status as podman shows it: a configured container is `created` to the user. */
export function statusName(status: ContainerStatus): string {
  return status === "configured" ? "created" : status;
}

/**
 * True when the state says the container's storage is mounted though nothing uses it: the
 * container is not running (configured or exited: runc knows nothing of it) and no user holds a
 * `mount` of it. Only a client killed during `start` or `run` (after mounting, before the
 * container ran) leaves that; the next sync unmounts it.
 */
export function hasLeftoverStorage(state: ContainerState): boolean {
  return (state.status === "configured" || state.status === "exited") && state.mounted &&
    state.mountCount === 0;
}

/**
 * True when showing the container needs its sync first (`syncForDisplay` in `lifecycle/sync.ts`):
 * runc knows it (its process may have ended), or its storage was left mounted. Otherwise its rows
 * are what a listing shows.
 */
export function needsSyncForDisplay(state: ContainerState): boolean {
  return runtimeKnows(state.status) || hasLeftoverStorage(state);
}
