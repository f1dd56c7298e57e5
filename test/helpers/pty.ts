/**
 * Runs the CLI in a real pseudo-terminal (`pty_run.py`, python3's `pty` module), playing a
 * script of keystrokes, resizes and signals against it, and returns what the user would have
 * seen: the exit code, the screen output, and whether the terminal's settings were the same
 * afterwards (`stty -g`).
 *
 * @example
 * ```ts
 * const r = await inPty(roots, "builtin", ["run", "--rm", "-it", "busybox", "sh"], [
 *   { expect: "# " }, { send: "exit 3\n" },
 * ]);
 * r.exit; // 3
 * ```
 * @module
 */
import { join } from "node:path";
import { cliPrefix, REPO, type Roots } from "./denopod.ts";

/** One step of a pty script (see `pty_run.py`). */
export type PtyStep =
  | { size: [number, number] }
  | { expect: string; timeout?: number }
  | { send: string }
  | { sendEach: string; delay?: number }
  | { resize: [number, number] }
  | { signal: string }
  | { sleep: number }
  | { echoBench: number };

/** What the pty run showed. */
export interface PtyResult {
  /** The client's exit code (128 + N when a signal N killed it). */
  exit: number;
  /** Everything written to the terminal. */
  output: string;
  /** The step that timed out, or null. */
  failed: unknown;
  /** The terminal's settings were the same after the client as before. */
  termiosSame: boolean;
  /** Seconds taken by an `echoBench` step, else null. */
  bench: number | null;
}

const HELPER = join(REPO, "test/helpers/pty_run.py");

/** Runs `command` (any program) in a fresh pty with `steps`. */
export async function ptyRun(
  command: string[],
  steps: PtyStep[],
  env: Record<string, string> = {},
): Promise<PtyResult> {
  const out = await new Deno.Command("python3", {
    args: [HELPER, JSON.stringify(steps), "--", ...command],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`pty_run.py failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text) as PtyResult;
}

/** Runs the denopod CLI with the test's roots and monitor in a fresh pty with `steps`. */
export function inPty(
  roots: Roots,
  monitor: string,
  args: string[],
  steps: PtyStep[],
): Promise<PtyResult> {
  return ptyRun([Deno.execPath(), ...cliPrefix(roots), ...args], steps, {
    DENOPOD_MONITOR: monitor,
  });
}
