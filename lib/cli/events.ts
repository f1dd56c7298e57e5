/**
 * `events`: the journal of container and image state changes, as podman prints it (one human
 * line, a JSON object, or a `--format` template per event). Without `--stream=false` it goes on
 * printing new events (polling the table) until interrupted, or until `--until` has passed.
 * Thin: parse flags, read lib/events, print.
 * @module
 */
import { now as clockNow } from "../util/clock.ts";
import { println, withRuntime, writeOut } from "./common.ts";
import type { Invocation } from "./table/spec.ts";

/** How often a streaming `events` looks for new rows, in milliseconds. */
const POLL_MS = 250;

/** `events` flags. */
export interface EventsFlags {
  since?: string;
  until?: string;
  filter: string[];
  format?: string;
  stream?: boolean;
}

/** `events`: the journal, then (unless `--stream=false`) new events until interrupted. */
export async function events(this: Invocation, flags: EventsFlags) {
  const journal = await import("../events/journal.ts");
  const { eventJson, eventTemplateData, formatEventLine } = await import(
    "../events/format.ts"
  );
  const { parseEventFilters } = await import("../events/filter.ts");
  const { parseTimeInput } = await import("../util/humanize.ts");
  const { formatTable, isTableFormat } = await import("../util/template.ts");
  const now = clockNow();
  const toNs = (d: Date) => BigInt(d.getTime()) * 1_000_000n;
  const sinceNs = flags.since === undefined
    ? undefined
    : toNs(parseTimeInput(flags.since, now, true));
  const untilNs = flags.until === undefined
    ? undefined
    : toNs(parseTimeInput(flags.until, now, false));
  const keep = parseEventFilters(flags.filter);
  const format = flags.format;
  // `json` and `{{json .}}` print podman's object; `table ...` prints its header once
  const asJson = format !== undefined && /^(json|\{\{\s*json\s+\.\s*\}\})$/.test(format);
  const table = format !== undefined && isTableFormat(format);
  const show = (event: Parameters<typeof formatEventLine>[0]) => {
    if (!keep(event)) return;
    if (format === undefined) return println(formatEventLine(event));
    if (asJson) return println(JSON.stringify(eventJson(event)));
    const text = formatTable(format, [eventTemplateData(event)]);
    // a table's rows are aligned with its header, printed once
    writeOut(table ? text.slice(text.indexOf("\n") + 1) : text);
  };
  await withRuntime(this, async (runtime) => {
    if (table) writeOut(formatTable(format, []));
    let last = 0;
    for (const event of journal.listEvents(runtime.db, { sinceNs, untilNs })) {
      show(event);
      last = event.seq;
    }
    if (flags.stream === false) return;
    last = Math.max(last, journal.lastEventSeq(runtime.db));
    for (;;) {
      if (untilNs !== undefined && journal.nowNs() > untilNs) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      for (const event of journal.listEvents(runtime.db, { afterSeq: last, untilNs })) {
        if (sinceNs === undefined || event.timeNs >= sinceNs) show(event);
        last = event.seq;
      }
    }
  });
}
