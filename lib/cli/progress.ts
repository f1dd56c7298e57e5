/**
 * Progress for long work (export, load, save): a bar drawn with `cli-progress` only when stderr
 * is a terminal, so pipes and cron stay silent.
 * @module
 */
import { humanSize } from "../util/humanize.ts";

/** Receives byte counts and draws them; `stop` ends the bar. */
export interface ProgressReporter {
  update: (bytes: number) => void;
  stop: () => void;
}

/** Returns a reporter that draws on a terminal, or undefined when stderr is not one. */
export async function progressReporter(label: string): Promise<ProgressReporter | undefined> {
  if (!Deno.stderr.isTerminal()) return undefined;
  // loaded only for a terminal: cron and pipes never pay for it
  const { default: cliProgress } = await import("cli-progress");
  const { default: process } = await import("node:process");
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
