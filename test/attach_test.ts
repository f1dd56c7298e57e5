/**
 * The attach protocol without a container: detach keys, the built-in monitor's attach server and
 * ctl fifo against the client that also talks to conmon.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InvalidArgError } from "../lib/errors.ts";
import {
  ATTACH_PIPE_STDERR,
  ATTACH_PIPE_STDOUT,
  AttachConnection,
  attachSocketPath,
  requestResize,
  resizeMessage,
  runAttachSession,
} from "../lib/oci/attach.ts";
import { AttachServer, ControlFifo } from "../lib/oci/attach_server.ts";
import { FdLoop } from "../lib/oci/fd_loop.ts";
import { DetachKeyMatcher, parseDetachKeys } from "../lib/util/detach_keys.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("parseDetachKeys reads podman's spec and refuses an unknown key by name", () => {
  assert.deepEqual([...parseDetachKeys("ctrl-p,ctrl-q")], [16, 17]);
  assert.deepEqual([...parseDetachKeys("ctrl-@,ctrl-[,a,ctrl-_")], [0, 27, 97, 31]);
  assert.deepEqual([...parseDetachKeys("")], []);
  assert.throws(
    () => parseDetachKeys("ctrl-p,foo"),
    (err) =>
      err instanceof InvalidArgError &&
      err.message === "invalid detach keys: Unknown character: 'foo'",
  );
  assert.throws(() => parseDetachKeys("ctrl-1"), InvalidArgError);
});

Deno.test("DetachKeyMatcher finds the keys across reads and passes on a broken sequence", () => {
  const m = new DetachKeyMatcher(parseDetachKeys("ctrl-p,ctrl-q"));
  assert.deepEqual(m.feed(enc.encode("ls\x10")), { forward: enc.encode("ls"), detach: false });
  assert.deepEqual(m.feed(new Uint8Array([0x11])), { forward: new Uint8Array(), detach: true });
  // Ctrl-P then something else: both go through, in order
  assert.deepEqual(m.feed(new Uint8Array([0x10])).forward, new Uint8Array());
  assert.deepEqual(m.feed(enc.encode("x")).forward, new Uint8Array([0x10, 0x78]));
  // Ctrl-P Ctrl-P Ctrl-Q: the first passes, the last two detach
  const r = m.feed(new Uint8Array([0x10, 0x10, 0x11]));
  assert.deepEqual(r, { forward: new Uint8Array([0x10]), detach: true });
  const none = new DetachKeyMatcher(new Uint8Array());
  assert.deepEqual(none.feed(new Uint8Array([0x10, 0x11])).detach, false);
});

Deno.test("resizeMessage is conmon's ctl line", () => {
  assert.equal(resizeMessage({ rows: 40, cols: 120 }), "1 40 120\n");
});

async function withServer(
  fn: (ctx: {
    dir: string;
    server: AttachServer;
    input: Uint8Array[];
    ends: number[];
    resizes: Array<[number, number]>;
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-attach-" });
  const bundle = join(dir, "bundle");
  await Deno.mkdir(bundle);
  const loop = new FdLoop((err) => {
    throw err;
  });
  const running = loop.run();
  const input: Uint8Array[] = [];
  const ends: number[] = [];
  const resizes: Array<[number, number]> = [];
  const server = AttachServer.listen(loop, bundle, dir, "ctr", {
    onInput: (bytes) => input.push(bytes.slice()),
    onInputEnd: () => ends.push(1),
  });
  const ctl = ControlFifo.open(loop, bundle, (rows, cols) => resizes.push([rows, cols]));
  try {
    await fn({ dir, server, input, ends, resizes });
  } finally {
    server.close();
    ctl.close();
    loop.stop();
    await running;
    await Deno.remove(dir, { recursive: true });
  }
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("the attach server sends each stream with its byte, takes input and its end", async () => {
  await withServer(async ({ dir, server, input, ends }) => {
    assert.equal(Deno.readLinkSync(join(dir, "ctr")), join(dir, "bundle"));
    const conn = AttachConnection.open(attachSocketPath(dir, "ctr"));
    await until("the client is accepted", () => server.clientCount === 1);
    server.broadcast(ATTACH_PIPE_STDOUT, enc.encode("out"));
    server.broadcast(ATTACH_PIPE_STDERR, enc.encode("err"));
    const big = new Uint8Array(20000).fill(0x61);
    server.broadcast(ATTACH_PIPE_STDOUT, big);
    assert.deepEqual(await conn.receive(), { stream: 2, data: enc.encode("out") });
    assert.deepEqual(await conn.receive(), { stream: 3, data: enc.encode("err") });
    let got = 0;
    while (got < big.length) {
      const p = await conn.receive();
      assert.ok(p !== null && p.stream === 2 && p.data.length <= 8192);
      got += p.data.length;
    }
    assert.ok(await conn.send(enc.encode("typed")));
    await until("the input arrives", () => input.length === 1);
    assert.equal(dec.decode(input[0]), "typed");
    conn.closeInput();
    await until("the end of input arrives", () => ends.length === 1);
    server.close();
    assert.equal(await conn.receive(), null, "server closed: end of file");
    conn.close();
  });
});

Deno.test("runAttachSession detaches on the keys and leaves the server running", async () => {
  await withServer(async ({ dir, server, input }) => {
    const conn = AttachConnection.open(attachSocketPath(dir, "ctr"));
    await until("the client is accepted", () => server.clientCount === 1);
    const out: string[] = [];
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) });
    const reader = stream.getReader();
    const stdin = {
      read: async () => {
        const { value, done } = await reader.read();
        return done ? null : value;
      },
    };
    const session = runAttachSession(conn, {
      stdout: (b) => out.push(dec.decode(b)),
      stderr: () => {},
      input: stdin,
    }, { detachKeys: parseDetachKeys("ctrl-p,ctrl-q") });
    server.broadcast(ATTACH_PIPE_STDOUT, enc.encode("hello"));
    await until("output shown", () => out.join("") === "hello");
    feed.enqueue(enc.encode("ab\x10"));
    await until("input before the keys sent", () => input.length === 1);
    feed.enqueue(new Uint8Array([0x11]));
    assert.equal(await session, "detached");
    assert.equal(dec.decode(input[0]), "ab");
    await until("the server dropped the client", () => server.clientCount === 0);
  });
});

Deno.test("requestResize writes to the ctl fifo the monitor reads", async () => {
  await withServer(async ({ dir, resizes }) => {
    assert.ok(requestResize(join(dir, "bundle"), { rows: 33, cols: 99 }));
    assert.ok(requestResize(join(dir, "bundle"), { rows: 34, cols: 100 }));
    await until("both resizes read", () => resizes.length === 2);
    assert.deepEqual(resizes, [[33, 99], [34, 100]]);
  });
  assert.equal(requestResize("/nonexistent", { rows: 1, cols: 1 }), false);
});
