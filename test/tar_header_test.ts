import assert from "node:assert/strict";
import { ArchiveError } from "../lib/errors.ts";
import {
  decodeHeaderBlock,
  parseNumeric,
  TarExtensions,
  TarHeaderError,
} from "../lib/storage/tar/header.ts";
import { type ExtractLimits, readTarEntries, type TarEntryInfo } from "../lib/storage/tar/read.ts";
import { TarWriter } from "../lib/storage/tar/writer.ts";
import { concatBytes, paxEntry, rawEntry, streamOf, tarBytes } from "./helpers/tar_build.ts";

const encoder = new TextEncoder();

/** The entries of `tar` (bodies as text), read in chunks of `chunkBytes`. */
async function entriesOf(
  tar: Uint8Array,
  chunkBytes = 4096,
  limits?: Partial<ExtractLimits>,
): Promise<Array<TarEntryInfo & { body: string }>> {
  const out: Array<TarEntryInfo & { body: string }> = [];
  for await (const { entry, body } of readTarEntries(streamOf(tar, chunkBytes), { limits })) {
    const parts: Uint8Array[] = [];
    for await (const chunk of body) parts.push(chunk.slice());
    out.push({ ...entry, body: new TextDecoder().decode(concatBytes(...parts)) });
  }
  return out;
}

/** Sets a header field to raw bytes and recomputes the checksum. */
function patchField(entry: Uint8Array, offset: number, bytes: number[]): Uint8Array {
  const copy = entry.slice();
  copy.set(bytes, offset);
  copy.fill(0x20, 148, 156);
  const sum = copy.subarray(0, 512).reduce((a, b) => a + b, 0);
  copy.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return copy;
}

Deno.test("parseNumeric reads octal with spaces and NULs, base-256, and refuses junk", () => {
  const field = (bytes: number[] | string) =>
    typeof bytes === "string" ? encoder.encode(bytes) : new Uint8Array(bytes);
  assert.equal(parseNumeric(field("0000644\0"), 0, 8), 0o644);
  assert.equal(parseNumeric(field("  644 \0\0"), 0, 8), 0o644);
  assert.equal(parseNumeric(field("\0\0\0\0\0\0\0\0"), 0, 8), 0);
  assert.equal(parseNumeric(field("0009\0"), 0, 5), undefined);
  assert.equal(parseNumeric(field("06 4\0"), 0, 5), undefined);
  // GNU base-256: 0x80, then big-endian bytes; 0xff for a negative value (mtime only).
  assert.equal(parseNumeric(field([0x80, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0]), 0, 12), 2 ** 32);
  assert.equal(parseNumeric(field([0x80, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]), 0, 8), 0x12345678);
  const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  assert.equal(parseNumeric(field(minusOne), 0, 12, true), -1);
  assert.equal(parseNumeric(field(minusOne), 0, 12), undefined);
  const huge = [0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  assert.equal(parseNumeric(field(huge), 0, 12), undefined); // beyond 2^53
});

Deno.test("decodeHeaderBlock reads base-256 ids, sizes and negative mtimes", async () => {
  const plain = rawEntry({ name: "big", body: "x" });
  let entry = patchField(plain, 108, [0x80, 0, 0, 0, 0, 0x98, 0x96, 0x80]); // uid 10,000,000
  entry = patchField(entry, 136, [
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xc4,
  ]);
  const header = decodeHeaderBlock(entry);
  assert.equal(header.uid, 10_000_000);
  assert.equal(header.mtime, -60);
  assert.equal(header.size, 1);
  const [read] = await entriesOf(tarBytes([entry]));
  assert.equal(read.uid, 10_000_000);
  assert.equal(read.mtime, -60);
  assert.equal(read.body, "x");
});

Deno.test("decodeHeaderBlock refuses a bad checksum and a malformed field", () => {
  const entry = rawEntry({ name: "f", body: "x" });
  const corrupt = entry.slice();
  corrupt[0] ^= 0x01;
  assert.throws(
    () => decodeHeaderBlock(corrupt),
    (err) => err instanceof TarHeaderError && err.kind === "checksum",
  );
  const badMode = patchField(entry, 100, [...encoder.encode("07x7\0")]);
  assert.throws(
    () => decodeHeaderBlock(badMode),
    (err) => err instanceof TarHeaderError && err.kind === "field" && err.field === "mode",
  );
});

Deno.test("decodeHeaderBlock joins the ustar prefix and reads what the writer writes", () => {
  const chunks: Uint8Array[] = [];
  const writer = new TarWriter((chunk) => chunks.push(chunk.slice()));
  const name = `${"p".repeat(120)}/${"n".repeat(90)}`;
  writer.addEntry({
    name,
    type: "char",
    mode: 0o4755,
    uid: 7,
    gid: 8,
    mtime: 1_700_000_000,
    devmajor: 4,
    devminor: 5,
    uname: "u",
    gname: "g",
  });
  writer.finish();
  const header = decodeHeaderBlock(concatBytes(...chunks));
  assert.deepEqual(header, {
    name,
    mode: 0o4755,
    uid: 7,
    gid: 8,
    size: 0,
    mtime: 1_700_000_000,
    typeflag: "3",
    linkname: "",
    uname: "u",
    gname: "g",
    devmajor: 4,
    devminor: 5,
  });
});

Deno.test("GNU long names and long link targets apply to the next entry only", async () => {
  const longName = `dir/${"n".repeat(300)}`;
  const longLink = `target/${"t".repeat(300)}`;
  const tar = tarBytes([
    rawEntry({ name: "././@LongLink", type: "L", body: `${longName}\0` }),
    rawEntry({ name: "././@LongLink", type: "K", body: `${longLink}\0` }),
    rawEntry({ name: "short", type: "2", linkname: "short-target" }),
    rawEntry({ name: "after", body: "a" }),
  ]);
  const [link, after] = await entriesOf(tar);
  assert.equal(link.name, longName);
  assert.equal(link.linkname, longLink);
  assert.equal(link.type, "symlink");
  assert.equal(after.name, "after");
  assert.equal(after.linkname, "");
});

Deno.test("PAX records set path, linkpath, size, mtime, ids and binary xattrs", async () => {
  const capability = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0xff, 0xc3, 0x00]);
  const body = "twelve bytes";
  const tar = tarBytes([
    paxEntry({
      path: `ü/${"p".repeat(200)}`,
      size: String(body.length),
      mtime: "1700000000.25",
      uid: "3000000000",
      gid: "42",
      "SCHILY.xattr.security.capability": capability,
      "SCHILY.xattr.user.note": "hello",
    }),
    rawEntry({ name: "stub", size: 0, body }),
    paxEntry({ linkpath: `l/${"k".repeat(200)}` }),
    rawEntry({ name: "sym", type: "2", linkname: "stub" }),
  ]);
  const [file, sym] = await entriesOf(tar);
  assert.equal(file.name, `ü/${"p".repeat(200)}`);
  assert.equal(file.size, 12);
  assert.equal(file.body, body);
  assert.equal(file.mtime, 1_700_000_000.25);
  assert.equal(file.uid, 3_000_000_000);
  assert.equal(file.gid, 42);
  assert.deepEqual(file.xattrs.get("security.capability"), capability);
  assert.deepEqual(file.xattrs.get("user.note"), encoder.encode("hello"));
  assert.equal(sym.linkname, `l/${"k".repeat(200)}`);
  assert.equal(sym.xattrs.size, 0); // local records end with their entry
});

Deno.test("PAX global headers apply to every later entry but never rename or resize", async () => {
  const tar = tarBytes([
    paxEntry({ mtime: "1234", path: "global-name", size: "99", "SCHILY.xattr.user.g": "1" }, "g"),
    rawEntry({ name: "a", body: "aa" }),
    paxEntry({ mtime: "5678" }),
    rawEntry({ name: "b", body: "b" }),
    rawEntry({ name: "c" }),
  ]);
  const [a, b, c] = await entriesOf(tar);
  assert.deepEqual([a.name, a.size, a.mtime, a.body], ["a", 2, 1234, "aa"]);
  assert.deepEqual([b.name, b.mtime], ["b", 5678]); // local wins over global
  assert.deepEqual([c.name, c.mtime], ["c", 1234]);
  assert.deepEqual(c.xattrs.get("user.g"), encoder.encode("1"));
});

Deno.test("malformed PAX numbers are refused", async () => {
  const bad: Record<string, string>[] = [{ size: "12a" }, { uid: "-1" }, { mtime: "yesterday" }];
  for (const records of bad) {
    const tar = tarBytes([paxEntry(records), rawEntry({ name: "f" })]);
    await assert.rejects(entriesOf(tar), (err) => {
      assert.ok(err instanceof ArchiveError);
      assert.match(err.message, /malformed PAX header: invalid (size|uid|mtime) record/);
      return true;
    });
  }
});

Deno.test("a PAX header over the limit is refused before its data is read", async () => {
  const tar = tarBytes([paxEntry({ comment: "c".repeat(2000) }), rawEntry({ name: "f" })]);
  await assert.rejects(
    entriesOf(tar, 4096, { maxPaxHeaderBytes: 1024 }),
    /a PAX header of \d+ bytes is over the limit of 1024/,
  );
  // The size field alone decides: the data may not even be there.
  const header = rawEntry({ name: "PaxHeaders/x", type: "x", size: 1024 ** 3 });
  await assert.rejects(entriesOf(header.subarray(0, 512)), /PAX header of 1073741824 bytes/);
  const extensions = new TarExtensions({ maxPaxHeaderBytes: 100, maxPathLength: 50 });
  assert.throws(() => extensions.checkSize("L", 52), /GNU long name of 52 bytes/);
  extensions.checkSize("L", 51); // the name and its NUL
});

Deno.test("a bad checksum, a truncated header and a truncated body are each refused", async () => {
  const good = tarBytes([rawEntry({ name: "a", body: "x".repeat(700) }), rawEntry({ name: "b" })]);
  const corrupt = good.slice();
  corrupt[1536 + 3] ^= 0x20; // the second header (after 512 + 1024 bytes of the first)
  await assert.rejects(
    entriesOf(corrupt),
    /not a valid tar archive: bad header at offset 1536 \(checksum mismatch/,
  );
  await assert.rejects(entriesOf(good.subarray(0, 1536 + 300)), /truncated/);
  await assert.rejects(entriesOf(good.subarray(0, 512 + 100)), /truncated/);
  await assert.rejects(entriesOf(new Uint8Array(0)), /the archive is empty/);
  // A PAX header with no entry after it.
  await assert.rejects(entriesOf(tarBytes([paxEntry({ path: "x" })])), /ended early/);
});

Deno.test("headers and bodies split across chunks read the same at every chunk size", async () => {
  const tar = tarBytes([
    paxEntry({ path: `p/${"q".repeat(300)}`, "SCHILY.xattr.user.a": "b" }),
    rawEntry({ name: "x", body: "body of x\n".repeat(70) }),
    rawEntry({ name: "././@LongLink", type: "L", body: `${"l".repeat(200)}\0` }),
    rawEntry({ name: "y", body: "y" }),
    rawEntry({ name: "d/", type: "5" }),
  ]);
  const whole = await entriesOf(tar, tar.length);
  assert.equal(whole.length, 3);
  for (const chunk of [1, 7, 100, 511, 513, 1000]) {
    assert.deepEqual(await entriesOf(tar, chunk), whole, `chunks of ${chunk} bytes`);
  }
});

Deno.test("bodyOffset points just past each entry's headers", async () => {
  const tar = tarBytes([
    paxEntry({ path: "long" }),
    rawEntry({ name: "f", body: "abc" }),
    rawEntry({ name: "g", body: "d" }),
  ]);
  const offsets: number[] = [];
  for await (const { bodyOffset } of readTarEntries(streamOf(tar, 100))) offsets.push(bodyOffset);
  assert.deepEqual(offsets, [1536, 2560]);
});
