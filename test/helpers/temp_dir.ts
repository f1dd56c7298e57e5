/**
 * A scratch directory for one test: made fresh, removed afterwards even when the test fails.
 * @module
 */

/** Runs `fn` with a new temporary directory named `prefix...`, then removes the directory. */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
