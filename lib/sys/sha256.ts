/**
 * Streaming SHA-256 without `node:crypto`: the system's libcrypto (OpenSSL 3, `SHA256_Update`,
 * through FFI; as fast as `node:crypto` here, both use the CPU's SHA instructions), or, where
 * libcrypto cannot be opened, a plain TypeScript implementation (correct, some ten times slower).
 * `node:crypto` is what this replaces on the `load`/`import`/`save` path: loading it starts
 * Deno's Node compatibility layer, about 8 MB of resident memory for one hash function (see
 * `scripts/bench_transport.ts`). libcrypto is opened on first use, never at module load.
 *
 * @example
 * ```ts
 * const hash = createSha256();
 * hash.update(new TextEncoder().encode("abc"));
 * hash.hex(); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 * @module
 */

/** A SHA-256 in progress. */
export interface Sha256 {
  /** Hashes `bytes` (not kept after the call). */
  update(bytes: Uint8Array): Sha256;
  /** Ends the hash and returns it as 64 lowercase hex digits; the hasher is spent after. */
  hex(): string;
}

/** A new streaming SHA-256 (libcrypto's when it can be opened here, else the TypeScript one). */
export function createSha256(): Sha256 {
  const lib = libcrypto();
  return lib === null ? new PortableSha256() : new LibcryptoSha256(lib);
}

/** The SHA-256 of `bytes` as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  return createSha256().update(bytes).hex();
}

const SYMBOLS = {
  SHA256_Init: { parameters: ["buffer"], result: "i32" },
  SHA256_Update: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  SHA256_Final: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;

type Libcrypto = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let opened: Libcrypto | null | undefined;

/** libcrypto's SHA-256 calls, or null when no libcrypto can be opened (tried once). */
function libcrypto(): Libcrypto | null {
  if (opened !== undefined) return opened;
  opened = null;
  for (const name of ["libcrypto.so.3", "libcrypto.so"]) {
    try {
      opened = Deno.dlopen(name, SYMBOLS).symbols;
      break;
    } catch {
      // try the next name
    }
  }
  return opened;
}

/** Forces the TypeScript implementation (tests compare the two). */
export function portableSha256(): Sha256 {
  return new PortableSha256();
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

class LibcryptoSha256 implements Sha256 {
  readonly #lib: Libcrypto;
  /** SHA256_CTX (112 bytes on LP64); big enough to live outside V8's heap, so it never moves. */
  readonly #context = new Uint8Array(256);

  constructor(lib: Libcrypto) {
    this.#lib = lib;
    lib.SHA256_Init(this.#context); // cannot fail: it only fills the context
  }

  update(bytes: Uint8Array): Sha256 {
    if (bytes.length > 0) this.#lib.SHA256_Update(this.#context, bytes, BigInt(bytes.length));
    return this;
  }

  hex(): string {
    const digest = new Uint8Array(32);
    this.#lib.SHA256_Final(digest, this.#context);
    return toHex(digest);
  }
}

// deno-fmt-ignore
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 SHA-256 in TypeScript (the fallback where libcrypto is missing). */
class PortableSha256 implements Sha256 {
  readonly #state = new Uint32Array([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  readonly #block = new Uint8Array(64);
  readonly #words = new Uint32Array(64);
  #used = 0;
  #length = 0;

  update(bytes: Uint8Array): Sha256 {
    this.#length += bytes.length;
    let at = 0;
    if (this.#used > 0) {
      const n = Math.min(64 - this.#used, bytes.length);
      this.#block.set(bytes.subarray(0, n), this.#used);
      this.#used += n;
      at = n;
      if (this.#used < 64) return this;
      this.#compress(this.#block, 0);
      this.#used = 0;
    }
    for (; at + 64 <= bytes.length; at += 64) this.#compress(bytes, at);
    if (at < bytes.length) {
      this.#block.set(bytes.subarray(at));
      this.#used = bytes.length - at;
    }
    return this;
  }

  hex(): string {
    const bits = this.#length * 8;
    const tail = new Uint8Array((this.#used < 56 ? 64 : 128) - this.#used);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.update(tail);
    const digest = new Uint8Array(32);
    const out = new DataView(digest.buffer);
    for (let i = 0; i < 8; i++) out.setUint32(i * 4, this.#state[i]);
    return toHex(digest);
  }

  #compress(bytes: Uint8Array, at: number): void {
    const w = this.#words;
    for (let i = 0; i < 16; i++) {
      const j = at + i * 4;
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const s = this.#state;
    let a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
    s[4] += e;
    s[5] += f;
    s[6] += g;
    s[7] += h;
  }
}
