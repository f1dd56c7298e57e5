/**
 * Signal names and numbers on Linux x86_64, for `--stop-signal`, `kill -s` and the image's
 * `StopSignal`: `SIGTERM`, `TERM`, `15` all parse to 15.
 *
 * @example
 * ```ts
 * parseSignal("SIGINT"); // 2
 * signalName(9);         // "SIGKILL"
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
};

/** Parses a signal name (`SIGTERM`, `term`, `RTMIN+3`) or number into its number. */
export function parseSignal(value: string): number {
  const text = value.trim().toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else if (text in SIGNALS) {
    return SIGNALS[text];
  } else {
    const rt = /^RTMIN(?:\+(\d+))?$/.exec(text) ?? /^RTMAX-(\d+)$/.exec(text);
    if (rt) {
      const n = text.startsWith("RTMIN") ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1]);
      if (n >= 34 && n <= 64) return n;
    }
  }
  throw new InvalidArgError(`invalid signal: ${value}`);
}

/** Returns the `SIGNAME` of a signal number (`SIGRTMIN+N` for real-time ones). */
export function signalName(signal: number): string {
  for (const [name, n] of Object.entries(SIGNALS)) {
    if (n === signal && name !== "IOT") return `SIG${name}`;
  }
  return signal >= 34 ? `SIGRTMIN+${signal - 34}` : `${signal}`;
}
