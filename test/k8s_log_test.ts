import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeK8sRecords,
  K8sLogWriter,
  k8sTimestamp,
  parseK8sLogLine,
} from "../lib/oci/k8s_log.ts";

const TS = "2026-11-28T10:00:00.123456789+00:00";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("k8sTimestamp() writes nanoseconds and the UTC offset as conmon does", () => {
  const ns = BigInt(Date.UTC(2026, 10, 28, 10, 0, 0)) * 1_000_000n + 123_456_789n;
  assert.equal(k8sTimestamp(ns, 0), "2026-11-28T10:00:00.123456789+00:00");
  assert.equal(k8sTimestamp(ns, 120), "2026-11-28T12:00:00.123456789+02:00");
  assert.equal(k8sTimestamp(ns, -570), "2026-11-28T00:30:00.123456789-09:30");
  assert.equal(k8sTimestamp(ns + 876_543_211n, 0), "2026-11-28T10:00:01.000000000+00:00");
});

Deno.test("encodeK8sRecords() tags full lines F and a trailing remainder P", () => {
  const out = text(encodeK8sRecords("stdout", bytes("a\nb\n\nrest"), TS));
  assert.equal(
    out,
    `${TS} stdout F a\n${TS} stdout F b\n${TS} stdout F \n${TS} stdout P rest\n`,
  );
  assert.equal(encodeK8sRecords("stderr", new Uint8Array(), TS).length, 0);
});

Deno.test("encodeK8sRecords() keeps output that is not UTF-8 byte for byte", () => {
  const chunk = Uint8Array.of(0xff, 0xfe, 0x0a);
  const out = encodeK8sRecords("stderr", chunk, TS);
  const prefix = bytes(`${TS} stderr F `);
  assert.deepEqual(out.subarray(0, prefix.length), prefix);
  assert.deepEqual(out.subarray(prefix.length), chunk);
});

Deno.test("parseK8sLogLine() reads back what encodeK8sRecords() wrote", () => {
  const [full, partial] = text(encodeK8sRecords("stderr", bytes("x y\nz"), TS)).split("\n");
  const a = parseK8sLogLine(full);
  assert.ok(a);
  assert.equal(a.timestamp, TS);
  assert.equal(a.stream, "stderr");
  assert.equal(a.partial, false);
  assert.equal(a.message, "x y");
  assert.equal(a.time.toISOString(), "2026-11-28T10:00:00.123Z");
  assert.equal(parseK8sLogLine(partial)?.partial, true);
  assert.equal(parseK8sLogLine(partial)?.message, "z");
  assert.equal(parseK8sLogLine(`${TS} stdout F `)?.message, "");
});

Deno.test("parseK8sLogLine() returns null for lines that are not k8s-file records", () => {
  assert.equal(parseK8sLogLine("hello"), null);
  assert.equal(parseK8sLogLine(`${TS} stdin F x`), null);
  assert.equal(parseK8sLogLine(`${TS} stdout X x`), null);
  assert.equal(parseK8sLogLine("2026-13-45T99:00:00+00:00 stdout F x"), null);
});

Deno.test("K8sLogWriter appends records to the file, creating it with mode 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ctr.log");
    const writer = await K8sLogWriter.open(path);
    const ns = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n;
    writer.write("stdout", bytes("one\n"), ns);
    writer.write("stderr", bytes("two"), ns);
    writer.close();
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.deepEqual(
      lines.slice(0, 2).map((l) => {
        const r = parseK8sLogLine(l);
        return r && [r.stream, r.partial, r.message, r.time.getTime()];
      }),
      [["stdout", false, "one", Date.UTC(2026, 0, 2, 3, 4, 5)], [
        "stderr",
        true,
        "two",
        Date.UTC(2026, 0, 2, 3, 4, 5),
      ]],
    );
    const fresh = join(dir, "new.log");
    (await K8sLogWriter.open(fresh)).close();
    assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
