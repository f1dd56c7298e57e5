/**
 * A tiny raw ustar/PAX builder for crafting hostile tarballs in tests. It writes exactly what it is
 * told (`..` names, absolute names, bad link targets, wrong checksums), which the real
 * {@linkcode TarWriter} would never do.
 *
 * @example
 * ```ts
 * const tar = tarBytes([
 *   rawEntry({ name: "../../escape", body: "x" }),
 *   rawEntry({ name: "link", type: "1", linkname: "/etc/passwd" }),
 * ]);
 * ```
 * @module
 */

const encoder = new TextEncoder();

/** The header fields of one raw entry; anything missing gets a harmless default. */
export interface RawEntry {
  /** The name field (truncated to 100 bytes; use a PAX `path` record for longer names). */
  name: string;
  /** The typeflag character: "0" file, "1" hard link, "2" symlink, "3" char, "5" dir, "x" PAX... */
  type?: string;
  /** Permission bits (default 0o644, or 0o755 for directories). */
  mode?: number;
  /** Numeric owner (default 0). */
  uid?: number;
  /** Numeric group (default 0). */
  gid?: number;
  /** Modification time in seconds (default 1_600_000_000). */
  mtime?: number;
  /** The link target field. */
  linkname?: string;
  /** The body; its length is the size unless `size` says otherwise. */
  body?: string | Uint8Array;
  /** The size field, when it must differ from the body's length. */
  size?: number;
  /** Device major and minor numbers. */
  devmajor?: number;
  /** Device minor number. */
  devminor?: number;
}

/** Encodes one header block and the padded body. */
export function rawEntry(entry: RawEntry): Uint8Array {
  const body = typeof entry.body === "string" ? encoder.encode(entry.body) : entry.body ??
    new Uint8Array(0);
  const type = entry.type ?? "0";
  const size = entry.size ?? body.length;
  const header = new Uint8Array(512);
  const put = (offset: number, value: string, width: number) => {
    header.set(encoder.encode(value).subarray(0, width), offset);
  };
  const octal = (offset: number, width: number, value: number) => {
    put(offset, value.toString(8).padStart(width - 1, "0"), width - 1);
  };
  put(0, entry.name, 100);
  octal(100, 8, entry.mode ?? (type === "5" ? 0o755 : 0o644));
  octal(108, 8, entry.uid ?? 0);
  octal(116, 8, entry.gid ?? 0);
  octal(124, 12, size);
  octal(136, 12, entry.mtime ?? 1_600_000_000);
  header.fill(0x20, 148, 156);
  put(156, type, 1);
  put(157, entry.linkname ?? "", 100);
  put(257, "ustar\x0000", 8);
  octal(329, 8, entry.devmajor ?? 0);
  octal(337, 8, entry.devminor ?? 0);
  let sum = 0;
  for (const b of header) sum += b;
  put(148, sum.toString(8).padStart(6, "0") + "\x00 ", 8);
  const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
  padded.set(body);
  return concatBytes(header, padded);
}

/** Encodes a PAX extended header (`x`, or `g` for global) carrying `records`. */
export function paxEntry(records: Record<string, string | Uint8Array>, type = "x"): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of Object.entries(records)) {
    const v = typeof value === "string" ? encoder.encode(value) : value;
    const rest = 1 + encoder.encode(key).length + 1 + v.length + 1;
    let length = rest + String(rest).length;
    if (String(length).length > String(rest).length) length = rest + String(length).length;
    parts.push(concatBytes(encoder.encode(`${length} ${key}=`), v, encoder.encode("\n")));
  }
  return rawEntry({ name: "PaxHeaders/x", type, body: concatBytes(...parts) });
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(1024);
}

/** Joins entries and appends the end-of-archive marker. */
export function tarBytes(entries: Uint8Array[]): Uint8Array {
  return concatBytes(...entries, endOfArchive());
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A stream of `bytes` in chunks of `chunkBytes`. */
export function streamOf(bytes: Uint8Array, chunkBytes = 4096): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + chunkBytes));
      at += chunkBytes;
    },
  });
}
