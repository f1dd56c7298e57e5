/**
 * Exit files: when a container's init process ends, its monitor writes `<exitDir>/<id>` holding
 * the exit code as plain decimal digits and no newline (conmon's format: `7`, `143`). The file is
 * written to a temporary name and renamed into place, so a reader sees all of it or nothing. Its
 * modification time is when the container exited.
 *
 * @example
 * ```ts
 * await writeExitFile("/run/denopod/exits", id, 143);
 * await readExitFile("/run/denopod/exits", id); // 143 (null when no file)
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { RuntimeError } from "../errors.ts";

/** Returns the path of the exit file of container `id`. */
export function exitFilePath(exitDir: string, id: string): string {
  return join(exitDir, id);
}

/** The content of an exit file and when it was written. */
export interface ExitRecord {
  /** The exit code: the process's own, or 128 + the signal that killed it. */
  exitCode: number;
  /** When the exit file was written (its modification time): the container's exit time. */
  exitedAt: Date;
}

/**
 * Reads the exit file of container `id`: the exit code and the time it was written, or null when
 * there is none (the container has not exited, or its monitor died first). Throws
 * {@linkcode RuntimeError} when the file holds anything but an integer.
 */
export async function readExitRecord(exitDir: string, id: string): Promise<ExitRecord | null> {
  const path = exitFilePath(exitDir, id);
  let text: string;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const trimmed = text.trim();
  if (!/^-?\d{1,10}$/.test(trimmed)) {
    throw new RuntimeError(`exit file ${path} holds no exit code: ${JSON.stringify(text)}`);
  }
  return { exitCode: Number(trimmed), exitedAt: info.mtime ?? new Date() };
}

/**
 * Reads the exit code of container `id` from its exit file; null when there is no file.
 *
 * @example
 * ```ts
 * await readExitFile(exitDir, id); // 7
 * ```
 */
export async function readExitFile(exitDir: string, id: string): Promise<number | null> {
  return (await readExitRecord(exitDir, id))?.exitCode ?? null;
}

/**
 * Writes the exit file of container `id` atomically (a temporary file in the same directory,
 * then a rename over the final name).
 */
export async function writeExitFile(exitDir: string, id: string, exitCode: number): Promise<void> {
  const path = exitFilePath(exitDir, id);
  const tmp = join(exitDir, `.${id}.${Deno.pid}.tmp`);
  try {
    await Deno.writeTextFile(tmp, String(exitCode), { mode: 0o644 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new RuntimeError(`cannot write exit file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Removes the exit file of container `id`, if there is one (before the container restarts). */
export async function removeExitFile(exitDir: string, id: string): Promise<void> {
  await Deno.remove(exitFilePath(exitDir, id)).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
