/**
 * Progress for long work (export, load, save): a bar drawn with `cli-progress` only when stderr
 * is a terminal, so pipes and cron stay silent.
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";
import { humanSize } from "../util/humanize.ts";

/** Receives byte counts and draws them; `stop` ends the bar. */
export interface ProgressReporter {
  update: (bytes: number) => void;
  stop: () => void;
}

/** Returns a reporter that draws on a terminal, or undefined when stderr is not one. */
export function progressReporter(label: string): ProgressReporter | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const bar = new cliProgress.SingleBar({
    format: `${label} {written}`,
    stream: process.stderr,
    clearOnComplete: true,
    hideCursor: true,
  });
  bar.start(0, 0, { written: "0B" });
  let last = 0;
  return {
    update(bytes: number) {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      bar.update(0, { written: humanSize(bytes) });
    },
    stop() {
      bar.stop();
    },
  };
}
