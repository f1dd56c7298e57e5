/**
 * Image transport and naming commands: `load`, `save`, `tag`, `untag`, `history`, and the
 * `image` group (`image ls|rm|import|load|save|tag|untag|history|inspect`). Thin: parse flags,
 * load and call the library, print.
 *
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { DenopodError, InvalidArgError, NoSuchImageError } from "../errors.ts";
import type { LoadEvent } from "../image/load.ts";
import type { CopyItem, CopyProgress } from "./progress.ts";
import { humanSize, timeAgo } from "../util/humanize.ts";
import { println, withRuntime, writeAll } from "./common.ts";
import { imageEvent, recordEvents } from "../events/journal.ts";
import type { Invocation } from "./table/spec.ts";

const HISTORY_HEADERS: Record<string, string> = {
  ID: "ID",
  Created: "CREATED",
  CreatedAt: "CREATED AT",
  CreatedSince: "CREATED",
  CreatedBy: "CREATED BY",
  Size: "SIZE",
  Comment: "COMMENT",
  Tags: "TAGS",
};

const HISTORY_DEFAULT = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
/** podman cuts CREATED BY to this many characters unless `--no-trunc`. */
const CREATED_BY_WIDTH = 45;

/** `image inspect IMAGE...`. */
export async function imageInspect(this: Invocation, names: string[], flags: { format?: string }) {
  const { imageInspect } = await import("../image/inspect.ts");
  const { printInspect } = await import("./output.ts");
  const { IMAGE_INSPECT_TEMPLATE } = await import("./template_contexts.ts");
  await withRuntime(this, async (runtime) => {
    const found: object[] = [];
    let failure: DenopodError | undefined;
    for (const name of names) {
      const record = runtime.images.find(name);
      if (record) found.push(imageInspect(runtime, record));
      else failure = new NoSuchImageError(name);
    }
    await printInspect(found, flags.format, found.map(() => IMAGE_INSPECT_TEMPLATE));
    if (failure) throw new DenopodError(`inspecting object: ${failure.message}`);
  });
}

/** `load`: images from a docker-archive or OCI archive. */
export async function load(this: Invocation, flags: { input?: string; quiet?: boolean }) {
  const { loadImageArchive, loadImageStream } = await import("../image/load.ts");
  const { readerChunks } = await import("../storage/tar/source.ts");
  const { copyProgress } = await import("./progress.ts");
  await withRuntime(this, async (runtime) => {
    const fromStdin = flags.input === undefined || flags.input === "-";
    if (fromStdin && Deno.stdin.isTerminal()) {
      throw new InvalidArgError(
        "cannot read from terminal, use command-line redirection or the --input flag",
      );
    }
    if (!fromStdin) await checkInput(flags.input!);
    const progress = copyProgress({ quiet: flags.quiet });
    const options = { onEvent: loadEventPrinter(progress) };
    const result = fromStdin
      ? await loadImageStream(runtime, readerChunks(Deno.stdin), options)
      : await loadImageArchive(runtime, flags.input!, options);
    progress.flush();
    for (const name of result.loaded) println(`Loaded image: ${name}`);
  });
}

/**
 * Prints a load's steps as podman does, image by image: `Getting image source signatures`, a
 * `Copying blob` per layer (on a terminal a bar while it is read; `skipped: already exists` for
 * one the store has), `Copying config`, `Writing manifest to image destination`, `Storing
 * signatures`.
 */
function loadEventPrinter(progress: CopyProgress): (event: LoadEvent) => void {
  let blob: CopyItem | undefined;
  let present = false;
  return (event) => {
    switch (event.kind) {
      case "image":
        progress.line("Getting image source signatures");
        break;
      case "layer":
        blob = progress.copy("blob", event.digest, event.size);
        present = event.present;
        break;
      case "bytes":
        blob?.update(event.bytes);
        break;
      case "layer-done":
        blob?.done(present ? { status: "skipped: already exists" } : {});
        blob = undefined;
        break;
      case "config":
        progress.copy("config", `sha256:${event.id}`).done();
        progress.line("Writing manifest to image destination");
        progress.line("Storing signatures");
        break;
    }
  };
}

/** `save` flags. */
export interface SaveFlags {
  output?: string;
  format: string;
  multiImageArchive?: boolean;
  quiet?: boolean;
  compress?: boolean;
}

/** `save IMAGE...`: a docker-archive or OCI archive. */
export async function save(this: Invocation, references: string[], flags: SaveFlags) {
  const { parseSaveFormat, saveToPath, selectImagesToSave, writeImageArchive } = await import(
    "../image/save.ts"
  );
  const { copyProgress, SILENT } = await import("./progress.ts");
  await withRuntime(this, async (runtime) => {
    const format = parseSaveFormat(flags.format);
    const selection = selectImagesToSave(runtime, references, {
      format,
      multiImage: flags.multiImageArchive === true,
    });
    const toStdout = flags.output === undefined || flags.output === "/dev/stdout";
    if (toStdout && Deno.stdout.isTerminal()) {
      throw new InvalidArgError("refusing to save to terminal. Use -o flag or redirect");
    }
    // podman prints nothing when the archive goes to stdout
    const progress = toStdout ? SILENT : copyProgress({ quiet: flags.quiet });
    // on a terminal a bar per layer while it is rebuilt; the lines of each image follow the write
    const bars = progress.live ? new LayerBars(progress) : undefined;
    const options = { onLayer: bars?.start, onProgress: bars?.update };
    try {
      if (toStdout) {
        await writeImageArchive(runtime, selection, format, (chunk) => {
          writeAll(Deno.stdout, chunk);
        }, options);
      } else {
        await saveToPath(
          flags.output!,
          (sink) => writeImageArchive(runtime, selection, format, sink, options),
          runtime,
        );
      }
    } finally {
      bars?.end();
    }
    for (const { image } of selection) {
      if (!progress.live) {
        for (const id of image.layers) progress.copy("blob", `sha256:${id}`).done();
      }
      progress.copy("config", `sha256:${image.id}`).done();
      progress.line("Writing manifest to image destination");
      progress.line("Storing signatures");
    }
    progress.flush();
    recordEvents(
      runtime.db,
      selection.map((s) => imageEvent("save", s.image.id, flags.output)),
    );
  });
}

/** A terminal bar per layer as `save` rebuilds it, from the running total of bytes rebuilt. */
class LayerBars {
  #bar: CopyItem | undefined;
  #start = 0;
  #bytes = 0;

  constructor(readonly progress: CopyProgress) {}

  /** Layer `id` (diff ID hex) starts; none: every layer is done. */
  start = (id?: string): void => {
    this.#bar?.done();
    this.#start = this.#bytes;
    this.#bar = id === undefined ? undefined : this.progress.copy("blob", `sha256:${id}`);
  };

  /** The bytes rebuilt so far, all layers together. */
  update = (bytes: number): void => {
    this.#bytes = bytes;
    this.#bar?.update(bytes - this.#start);
  };

  /** The last layer is done. */
  end(): void {
    this.#bar?.done();
    this.#bar = undefined;
  }
}

/** `tag IMAGE NAME...`. */
export async function tag(this: Invocation, reference: string, names: string[]) {
  const { tagImage } = await import("../image/tag.ts");
  await withRuntime(this, (runtime) => {
    tagImage(runtime, reference, names);
  });
}

/** `untag IMAGE [NAME...]`: all names when none is given. */
export async function untag(this: Invocation, reference: string, names: string[]) {
  const { untagImage } = await import("../image/tag.ts");
  await withRuntime(this, (runtime) => {
    untagImage(runtime, reference, names);
  });
}

/** `history` flags. */
export interface HistoryFlags {
  format?: string;
  quiet?: boolean;
  trunc?: boolean;
  human: boolean;
}

/** `history IMAGE`. */
export async function history(this: Invocation, reference: string, flags: HistoryFlags) {
  const { imageHistory, MISSING_ID } = await import("../image/history.ts");
  const { printRows } = await import("./output.ts");
  const { HISTORY_TEMPLATE } = await import("./template_contexts.ts");
  await withRuntime(this, async (runtime) => {
    const entries = imageHistory(runtime, runtime.images.resolve(reference));
    const noTrunc = flags.trunc === false;
    const shortId = (id: string) => (noTrunc || id === MISSING_ID ? id : id.slice(0, 12));
    if (flags.quiet) {
      for (const entry of entries) println(shortId(entry.id));
      return;
    }
    if (flags.format === "json") {
      println(goHtmlEscape(JSON.stringify(entries.map((entry) => ({
        id: entry.id,
        created: entry.created,
        CreatedBy: entry.createdBy,
        size: entry.size,
        ...(entry.comment === "" ? {} : { comment: entry.comment }),
        Created: rfc3339Seconds(entry.created),
      })))));
      return;
    }
    const now = clockNow();
    const rows = entries.map((entry) => {
      const created = new Date(entry.created);
      const since = timeAgo(created, now);
      const cut = !noTrunc && entry.createdBy.length > CREATED_BY_WIDTH;
      return {
        ID: shortId(entry.id),
        Created: flags.human === false ? rfc3339Seconds(entry.created) : since,
        CreatedAt: goUnixSecondsString(created),
        CreatedSince: since,
        CreatedBy: cut ? `${entry.createdBy.slice(0, CREATED_BY_WIDTH - 3)}...` : entry.createdBy,
        Size: spacedSize(entry.size),
        Comment: entry.comment,
        Tags: [] as string[],
      };
    });
    await printRows(rows, flags.format, HISTORY_DEFAULT, HISTORY_HEADERS, false, HISTORY_TEMPLATE);
  });
}

/** A `-i` file must exist and be a file (podman: `stat FILE: no such file or directory`). */
async function checkInput(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InvalidArgError(`stat ${path}: no such file or directory`);
    }
    throw err;
  }
  if (info.isDirectory) throw new InvalidArgError(`${path} is a directory, not an archive`);
}

/** podman's history SIZE: go-units with a space before the unit (`10.2 kB`, `0 B`). */
function spacedSize(bytes: number): string {
  return humanSize(bytes).replace(/^([0-9.e+-]+)(.*)$/, "$1 $2");
}

/** RFC 3339 to the second, in UTC (`2026-11-28T21:34:11Z`), as Go's `time.RFC3339`. */
function rfc3339Seconds(text: string): string {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** `time.Unix(t, 0).UTC().String()`: `2026-11-28 21:34:11 +0000 UTC`. */
function goUnixSecondsString(date: Date): string {
  if (Number.isNaN(date.getTime())) return "";
  return `${date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "")} +0000 UTC`;
}

/** Go's encoding/json escapes `<`, `>` and `&`. */
function goHtmlEscape(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}
