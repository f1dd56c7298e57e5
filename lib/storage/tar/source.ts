/**
 * Reading an archive file as a stream with big chunks. `Deno.FsFile.readable` hands out 64 KiB
 * chunks through a byte stream with async reads; on a 235 MB layer that costs 0.4-0.8 s of the
 * extraction. Here a regular file is read synchronously in 256 KiB chunks (about 0.06 s): every
 * chunk needs fresh memory (the tar parser keeps references), and larger fresh buffers cost more
 * in page faults than they save in calls (1 MiB: 0.12 s, 4 MiB: 0.22 s).
 *
 * @example
 * ```ts
 * const { diffId } = await extractLayer(fileStream(await Deno.open("layer.tar")), diffDir);
 * ```
 * @module
 */

/** Default chunk size of {@linkcode fileStream}. */
export const FILE_STREAM_CHUNK_BYTES = 256 * 1024;

/**
 * Returns a stream of the rest of `file`, read `chunkBytes` at a time. The file is closed when the
 * stream ends, fails or is cancelled.
 */
export function fileStream(
  file: Deno.FsFile,
  chunkBytes: number = FILE_STREAM_CHUNK_BYTES,
): ReadableStream<Uint8Array> {
  // A regular file never blocks for long: read it synchronously, which is much cheaper per chunk.
  const regular = file.statSync().isFile;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(chunkBytes);
      let got: number | null;
      try {
        got = regular ? file.readSync(buffer) : await file.read(buffer);
      } catch (err) {
        close();
        throw err;
      }
      if (got === null) {
        close();
        controller.close();
        return;
      }
      controller.enqueue(buffer.subarray(0, got));
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}
