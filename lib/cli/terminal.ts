/**
 * The caller's side of an attached session: its terminal put in raw mode (`cfmakeraw`'s) and
 * restored, to the exact settings it had, on every
 * way out (return, error, a signal), its size read before the container starts and followed on
 * SIGWINCH, and signals proxied to the container.
 * Loaded only by `run`, `start -a`, `attach` and `exec`.
 *
 * @example
 * ```ts
 * const session = CallerSession.begin({ raw: true, onResize, onSignal });
 * try { ... } finally { session.end(); }
 * ```
 * @module
 */
import { makeRawTerminal, restoreTerminal, type WindowSize } from "../sys/socket.ts";
import { eprintln } from "./common.ts";

/** The signals an attached client passes on to the container (`--sig-proxy`). */
export const PROXIED_SIGNALS: readonly Deno.Signal[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
];

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/** podman's warning when `-t` is asked for and stdin is not a terminal. */
export const NOT_A_TTY_WARNING =
  "The input device is not a TTY. The --tty and --interactive flags might not work properly";

/** Warns as podman does when `-t` is asked for while stdin is not a terminal. */
export function warnWhenNotATerminal(tty: boolean): void {
  if (tty && !Deno.stdin.isTerminal()) eprintln(`WARN[0000] ${NOT_A_TTY_WARNING}`);
}

/** The caller's terminal size, when stdin or stdout is a terminal. */
export function callerTerminalSize(): WindowSize | undefined {
  try {
    const { columns, rows } = Deno.consoleSize();
    if (rows > 0 && columns > 0) return { rows, cols: columns };
  } catch {
    // neither stdin nor stdout is a terminal
  }
  return undefined;
}

/** What an attached session wants from the caller's process. */
export interface CallerSessionOptions {
  /** Put the caller's terminal in raw mode (with -t and -i, when stdin is a terminal). */
  raw: boolean;
  /** Called with the new size on SIGWINCH (containers with a terminal). */
  onResize?: (size: WindowSize) => void;
  /** Called with a proxied signal's name and number (`--sig-proxy`). */
  onSignal?: (name: Deno.Signal, number: number) => void;
}

/** The caller's terminal and signals for the length of one attached session. */
export class CallerSession {
  #saved: Uint8Array | null = null;
  #listeners: Array<[Deno.Signal, () => void]> = [];
  #ended = false;

  private constructor() {}

  /**
   * Sets the terminal raw (when asked and stdin is a terminal) and installs the listeners. Without
   * `onSignal`, and with a raw terminal, SIGTERM and SIGHUP restore the terminal before the
   * process ends with 128 + the signal.
   */
  static begin(options: CallerSessionOptions): CallerSession {
    const session = new CallerSession();
    if (options.raw && Deno.stdin.isTerminal()) {
      // cfmakeraw's raw mode (Deno's setRaw keeps output processing, so a container's CR LF
      // would show as CR CR LF); the exact settings before are put back by end()
      session.#saved = makeRawTerminal(0);
    }
    if (options.onResize !== undefined) {
      const onResize = options.onResize;
      session.#listen("SIGWINCH", () => {
        const size = callerTerminalSize();
        if (size !== undefined) onResize(size);
      });
    }
    const onSignal = options.onSignal;
    for (const name of PROXIED_SIGNALS) {
      if (onSignal !== undefined) {
        session.#listen(name, () => onSignal(name, SIGNAL_NUMBERS[name]));
      } else if (session.#saved !== null && (name === "SIGTERM" || name === "SIGHUP")) {
        session.#listen(name, () => {
          session.end();
          Deno.exit(128 + SIGNAL_NUMBERS[name]);
        });
      }
    }
    return session;
  }

  #listen(name: Deno.Signal, fn: () => void): void {
    Deno.addSignalListener(name, fn);
    this.#listeners.push([name, fn]);
  }

  /** Restores the terminal and removes the listeners; safe to call more than once. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#saved !== null) {
      try {
        restoreTerminal(0, this.#saved);
      } catch {
        // stdin went away
      }
    }
    for (const [name, fn] of this.#listeners) Deno.removeSignalListener(name, fn);
    this.#listeners = [];
  }
}
