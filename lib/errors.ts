/**
 * Typed errors for denopod. Every error a user can see is a {@linkcode DenopodError}; `main.ts`
 * prints its message on one line as `Error: MESSAGE` and exits with its `exitCode` (125 unless a
 * subclass says otherwise), as podman does.
 *
 * @example
 * ```ts
 * throw new NoSuchContainerError("web");
 * // Error: no container with name or ID "web" found: no such container
 * ```
 * @module
 */

/** Base class of every error denopod reports to the user; `exitCode` is what the CLI exits with. */
export class DenopodError extends Error {
  /** The process exit code the CLI uses for this error. */
  exitCode = 125;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A flag, argument or value given by the user is malformed or not allowed. */
export class InvalidArgError extends DenopodError {}

/** No container matches the given name or ID (prefix). */
export class NoSuchContainerError extends DenopodError {
  constructor(nameOrId: string, options?: ErrorOptions) {
    super(`no container with name or ID "${nameOrId}" found: no such container`, options);
  }
}

/** No image matches the given name, tag or ID (prefix). */
export class NoSuchImageError extends DenopodError {
  constructor(nameOrId: string, options?: ErrorOptions) {
    super(`${nameOrId}: image not known`, options);
  }
}

/** A name or ID prefix matches more than one object. */
export class AmbiguousNameError extends DenopodError {}

/** A container or image name is already taken. */
export class NameInUseError extends DenopodError {}

/** The container is not in a state that allows the operation. */
export class ContainerStateError extends DenopodError {}

/** The container was removed while the operation held a reference to it. */
export class ContainerRemovedError extends DenopodError {}

/** The image is used by one or more containers and cannot be removed. */
export class ImageInUseError extends DenopodError {}

/** An archive (tarball, image archive) is malformed, truncated, hostile or over a limit. */
export class ArchiveError extends DenopodError {}

/** A lock is held by someone else and could not be taken in time. */
export class LockError extends DenopodError {}

/** The OCI runtime (runc) or the monitor failed. */
export class RuntimeError extends DenopodError {}

/** The container's command could not be invoked (exit code 126, as podman). */
export class CommandNotInvokableError extends DenopodError {
  override exitCode = 126;
}

/** The container's command was not found (exit code 127, as podman). */
export class CommandNotFoundError extends DenopodError {
  override exitCode = 127;
}

/** A system call failed; carries the call, errno and path, as crun's error type does. */
export class SyscallError extends DenopodError {
  /** The errno value the call set, e.g. 16 for EBUSY. */
  readonly errno: number;
  /** The symbolic errno name, e.g. `EBUSY`. */
  readonly code: string;
  /** The name of the failed call, e.g. `umount2`. */
  readonly syscall: string;
  /** The path the call was made on, when there is one. */
  readonly path?: string;
  constructor(syscall: string, errno: number, code: string, path?: string, detail?: string) {
    super(
      `${syscall}${path === undefined ? "" : ` ${JSON.stringify(path)}`}: ${code}${
        detail ? ` (${detail})` : ""
      }`,
    );
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}
