/**
 * What `load`, `save`, `import` and `export` print on stderr while they copy, as podman 4.3
 * prints it. When stderr is not a terminal (a pipe, cron) the lines are podman's plain ones, one
 * per step and no escape code, written when the command succeeded ({@linkcode CopyProgress.flush}):
 * a command that fails prints its one `Error:` line only.
 *
 * ```text
 * Getting image source signatures
 * Copying blob sha256:7b47c2970140ba155aaf0b3b4c659beaa489f8b71ce75cc4f6321f743579fbbe
 * Copying config sha256:dc217c97961a03619bf5820b4fb535c5c62977d56ea033d6976903e6b5ec39f5
 * Writing manifest to image destination
 * Storing signatures
 * ```
 *
 * On a terminal a blob being read gets a bar, redrawn in place at most ten times a second: the
 * total and percent when the size is known (`Copying blob 7b47c2970140 [=====>    ] 1.0MiB /
 * 2.0MiB  50%`), bytes and rate otherwise; it ends as `Copying blob 7b47c2970140 done` and a
 * newline. `-q` makes the reporter {@linkcode SILENT}. A tiny renderer of our own: `\r` and "erase to end of
 * line" are the only escape codes, and only on a terminal.
 *
 * @example
 * ```ts
 * const progress = copyProgress({ quiet: false });
 * progress.line("Getting image source signatures");
 * const blob = progress.copy("blob", "sha256:7b47...", 10240);
 * blob.update(4096);
 * blob.done();
 * ```
 * @module
 */
/** One blob or config being copied. */
export interface CopyItem {
  /** The bytes copied so far. */
  update(bytes: number): void;
  /**
   * The copy ended; `digest` names it when it was not known at the start (an import's layer);
   * `status` replaces `done` (`skipped: already exists`).
   */
  done(options?: { digest?: string; status?: string }): void;
}

/** Prints a copy's steps on stderr (see the module doc). */
export interface CopyProgress {
  /** Bars are drawn (stderr is a terminal); else plain lines or nothing. */
  readonly live: boolean;
  /** A step's line: `Getting image source signatures`, `Storing signatures`. */
  line(text: string): void;
  /** Starts copying a blob or config; `digest` is `sha256:<hex>` when known, `total` its size. */
  copy(kind: "blob" | "config", digest?: string, total?: number): CopyItem;
  /** The command succeeded: writes the plain lines kept until now (a no-op for bars). */
  flush(): void;
}

/** Prints nothing (`-q`, or `save` to stdout). */
export const SILENT: CopyProgress = {
  live: false,
  line() {},
  copy: () => ({ update() {}, done() {} }),
  flush() {},
};

const encoder = new TextEncoder();

function writeErr(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
}

/** The terminal's width (80 when it cannot be read). */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/** How often a bar is redrawn, at most. */
const REDRAW_MS = 100;

/**
 * The reporter for this process: {@linkcode SILENT} when `quiet`, bars when stderr is a
 * terminal, else podman's plain lines.
 */
export function copyProgress(options: { quiet?: boolean } = {}): CopyProgress {
  if (options.quiet) return SILENT;
  return Deno.stderr.isTerminal() ? new TerminalProgress() : new PlainProgress();
}

/**
 * podman's lines on a pipe, kept until {@linkcode flush}: a blob's line when it starts (or, its
 * digest unknown then, when it ends).
 */
class PlainProgress implements CopyProgress {
  readonly live = false;
  #lines: string[] = [];

  line(text: string): void {
    this.#lines.push(text);
  }

  copy(kind: "blob" | "config", digest?: string): CopyItem {
    if (digest !== undefined) this.line(`Copying ${kind} ${digest}`);
    return {
      update() {},
      done: (options = {}) => {
        if (digest === undefined && options.digest !== undefined) {
          this.line(`Copying ${kind} ${options.digest}`);
        }
      },
    };
  }

  flush(): void {
    if (this.#lines.length > 0) writeErr(`${this.#lines.join("\n")}\n`);
    this.#lines = [];
  }
}

/** The short ID podman's bars show: 12 hex digits of a blob, 10 of a config. */
function shortDigest(kind: "blob" | "config", digest: string | undefined): string {
  const hex = (digest ?? "").replace(/^sha256:/, "");
  return hex.slice(0, kind === "blob" ? 12 : 10);
}

/** Bars on a terminal, one line at a time. */
class TerminalProgress implements CopyProgress {
  readonly live = true;

  line(text: string): void {
    writeErr(`${text}\n`);
  }

  flush(): void {}

  copy(kind: "blob" | "config", digest?: string, total?: number): CopyItem {
    const started = performance.now();
    let drawn = -Infinity;
    let finished = false;
    const label = () => `Copying ${kind} ${shortDigest(kind, digest)}`.trimEnd();
    const draw = (bytes: number) => {
      const elapsed = performance.now() - started;
      const line = progressLine(label(), bytes, total, elapsed, terminalColumns());
      writeErr(`\r${line}\x1b[K`);
    };
    // the first bytes draw the bar: a blob the store has, or a config, shows only its last line
    return {
      update: (bytes) => {
        if (finished) return;
        const now = performance.now();
        if (now - drawn < REDRAW_MS) return;
        drawn = now;
        draw(bytes);
      },
      done: (options = {}) => {
        if (finished) return;
        finished = true;
        digest ??= options.digest;
        writeErr(`\r${label()} ${options.status ?? "done"}\x1b[K\n`);
      },
    };
  }
}

/**
 * One bar's text, at most `columns - 1` characters: with a total, `LABEL [===>   ] 1.0MiB /
 * 2.0MiB` (and the percent); without, `LABEL 1.0MiB (512.0KiB/s)`.
 */
export function progressLine(
  label: string,
  bytes: number,
  total: number | undefined,
  elapsedMs: number,
  columns: number,
): string {
  const room = Math.max(columns - 1, 20);
  if (total === undefined || total <= 0) {
    const rate = elapsedMs > 0 ? bytes / (elapsedMs / 1000) : 0;
    return `${label} ${iec(bytes)} (${iec(rate)}/s)`.slice(0, room);
  }
  const done = Math.min(bytes, total);
  const percent = Math.floor((done / total) * 100);
  const figures = ` ${iec(done)} / ${iec(total)} ${String(percent).padStart(3)}%`;
  const width = room - label.length - figures.length - 3;
  if (width < 10) return `${label}${figures}`.slice(0, room);
  const full = Math.floor((done / total) * width);
  const bar = full >= width
    ? "=".repeat(width)
    : `${"=".repeat(full)}>${" ".repeat(width - full - 1)}`;
  return `${label} [${bar}]${figures}`;
}

/** Sizes as podman's bars show them: powers of 1024, one decimal (`2.0MiB`, `409.0b`). */
function iec(bytes: number): string {
  const units = ["b", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)}${units[unit]}`;
}

/**
 * A bar of bytes and rate for a copy of unknown size (`export -o`), drawn only on a terminal (podman
 * prints nothing for an export); `done` leaves it on its own line.
 */
export function byteProgress(label: string, terminal = Deno.stderr.isTerminal()): CopyItem {
  if (!terminal) return { update() {}, done() {} };
  const started = performance.now();
  let drawn = -Infinity;
  let last = 0;
  let finished = false;
  const draw = () => {
    const line = progressLine(
      label,
      last,
      undefined,
      performance.now() - started,
      terminalColumns(),
    );
    writeErr(`\r${line}\x1b[K`);
  };
  draw();
  return {
    update(bytes) {
      last = bytes;
      const now = performance.now();
      if (finished || now - drawn < REDRAW_MS) return;
      drawn = now;
      draw();
    },
    done() {
      if (finished) return;
      finished = true;
      draw();
      writeErr("\n");
    },
  };
}
