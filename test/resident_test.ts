/**
 * `lib/sys/resident.ts`: which mappings of `/proc/self/smaps` count as clean file pages (only
 * private, read-only mappings of a file without a page of the process's own), and that releasing
 * them lowers this process's file-backed resident memory while it goes on running.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCleanFileMappings, releaseCleanCodePages } from "../lib/sys/resident.ts";

/** One smaps entry: the header line and the field lines that matter here. */
function entry(header: string, anonymousKb: number): string {
  return [
    header,
    "Size:                 28216 kB",
    "Rss:                  11320 kB",
    "Private_Dirty:            0 kB",
    `Anonymous:            ${anonymousKb} kB`,
    "VmFlags: rd mr mw me sd",
  ].join("\n");
}

Deno.test("readCleanFileMappings keeps private read-only file mappings without anonymous pages", async () => {
  const smaps = [
    entry("55c283113000-55c284ca1000 r--p 00000000 fe:00 1442130    /usr/bin/deno", 0),
    entry("55c284f17000-55c288c0b000 r-xp 01b8e000 fe:00 1442130    /usr/bin/deno", 0),
    // the RELRO segment: read-only now, but relocated (written) at start-up
    entry("55c288c0b000-55c288e7d000 r--p 05881000 fe:00 1442130    /usr/bin/deno", 2504),
    entry("55c288e7d000-55c288e8d000 rw-p 05af2000 fe:00 1442130    /usr/bin/deno", 0),
    entry("7f5657dc0000-7f5657fe6000 r--s 00000000 fe:00 2201       /root/.cache/code", 0),
    entry("7f5657fe6000-7f5658000000 r-xp 00000000 fe:00 3301       /tmp/my lib.so (deleted)", 0),
    entry("7f5658000000-7f5658100000 r--p 00000000 00:05 12         /dev/some-device", 0),
    entry("561e74a80000-561e74f00000 rw-p 00000000 00:00 0          [heap]", 4096),
    entry("7f5658100000-7f5658140000 r--p 00000000 00:00 0 ", 0),
    entry("7ffd1c3f0000-7ffd1c3f2000 r-xp 00000000 00:00 0          [vdso]", 0),
    entry("7f5658140000-7f5658141000 r-xp 00002000 fe:00 4401       /usr/lib/libz.so.1", 0),
  ].join("\n") + "\n";
  const dir = await Deno.makeTempDir({ prefix: "denopod-smaps-" });
  try {
    const path = join(dir, "smaps");
    await Deno.writeTextFile(path, smaps);
    const found = readCleanFileMappings(path).map((m) =>
      `${m.start.toString(16)}-${m.end.toString(16)}`
    );
    assert.deepEqual(found, [
      "55c283113000-55c284ca1000",
      "55c284f17000-55c288c0b000",
      "7f5657fe6000-7f5658000000",
      "7f5658140000-7f5658141000",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** This process's file-backed resident memory, in KiB (`RssFile` of `/proc/self/status`). */
function rssFileKb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/^RssFile:\s+(\d+) kB/m.exec(status)![1]);
}

Deno.test("releaseCleanCodePages lowers the file-backed resident memory, and the process runs on", () => {
  const own = readCleanFileMappings("/proc/self/smaps");
  assert.ok(own.length > 0, "the deno executable's code is a clean file mapping");
  const before = rssFileKb();
  const released = releaseCleanCodePages();
  const after = rssFileKb();
  assert.ok(released > 0);
  // Deno alone maps some 20 MiB of its executable at start; what is touched again comes back.
  assert.ok(after < before - 4096, `RssFile ${before} kB before, ${after} kB after`);
  // the code and read-only data come back from the page cache as they are used
  const json = JSON.parse(JSON.stringify({ list: [1, 2, 3], text: "ünïcode" }));
  assert.deepEqual(json, { list: [1, 2, 3], text: "ünïcode" });
  assert.equal(new TextDecoder().decode(new TextEncoder().encode("abc")), "abc");
});
