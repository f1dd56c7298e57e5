import assert from "node:assert/strict";
import { createSha256, portableSha256, sha256Hex } from "../lib/sys/sha256.ts";

/** Bytes 0..n-1 of a fixed pattern. */
function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
}

Deno.test("sha256Hex gives the FIPS 180-2 digests of 'abc' and of the empty string", () => {
  assert.equal(
    sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("the libcrypto and TypeScript SHA-256s agree with sha256sum at every block boundary, in any split", async () => {
  for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_000]) {
    const bytes = pattern(n);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeFile(file, bytes);
      const out = await new Deno.Command("sha256sum", { args: [file], stdout: "piped" }).output();
      const expected = new TextDecoder().decode(out.stdout).split(" ")[0];
      const halves = createSha256().update(bytes.subarray(0, n >> 1)).update(
        bytes.subarray(n >> 1),
      );
      assert.equal(halves.hex(), expected, `libcrypto (or fallback), ${n} bytes`);
      const portable = portableSha256();
      for (let at = 0; at < n; at += 37) portable.update(bytes.subarray(at, at + 37));
      assert.equal(portable.hex(), expected, `TypeScript, ${n} bytes`);
    } finally {
      await Deno.remove(file);
    }
  }
});
