/**
 * Reading a child's pipe for a sync message: the first line only (the writer may keep the pipe
 * open for as long as the container runs), or all of it.
 *
 * @example
 * ```ts
 * const line = await readFirstLine(child.stdout); // "created pid 4242", or null at end of file
 * ```
 * @module
 */

/**
 * Reads up to the first newline and returns the line without it, then cancels the stream. At
 * end of file returns what came (null when nothing did).
 */
export async function readFirstLine(
  stream: ReadableStream<Uint8Array>,
  maxBytes = 64 * 1024,
): Promise<string | null> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text === "" ? null : text;
      text += decoder.decode(value, { stream: true });
      const newline = text.indexOf("\n");
      if (newline !== -1) return text.slice(0, newline);
      if (text.length > maxBytes) return text;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Reads the stream to its end and returns it as text. */
export async function readAllText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}
