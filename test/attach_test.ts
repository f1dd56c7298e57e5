/**
 * The attach protocol without a container: detach keys, the built-in monitor's attach relay
 * (`monitor_relay.ts`, its own thread) and ctl fifo against the client that also talks to conmon.
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
import { MonitorRelay } from "../lib/oci/monitor_relay.ts";
import { parseDetachKeys } from "../lib/util/detach_keys.ts";
import {
  closeFd,
  connectUnix,
  makePipe,
  pollFds,
  POLLIN,
  readFd,
  recvBytes,
  sendBytes,
  SHUT_WR,
  shutdownSocket,
  writeFd,
} from "../lib/sys/socket.ts";

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

Deno.test("resizeMessage is conmon's ctl line", () => {
  assert.equal(resizeMessage({ rows: 40, cols: 120 }), "1 40 120\n");
});

async function withServer(
  fn: (ctx: {
    dir: string;
    server: MonitorRelay;
    input: Uint8Array[];
    ends: number[];
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-attach-" });
  const bundle = join(dir, "bundle");
  await Deno.mkdir(bundle);
  const input: Uint8Array[] = [];
  const ends: number[] = [];
  const errors: string[] = [];
  const server = MonitorRelay.start(bundle, join(dir, "ctr"), {
    onOutput: () => {},
    onInput: (bytes) => input.push(bytes.slice()),
    onInputEnd: () => ends.push(1),
    onError: (message) => errors.push(message),
  });
  try {
    await fn({ dir, server, input, ends });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(errors, []);
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Receives the next packet on a client socket, waiting up to 5 s. */
async function nextPacket(fd: number): Promise<Uint8Array> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const got = recvBytes(fd, 8193);
    if (got !== null) return got;
    if (Date.now() > deadline) assert.fail("no packet came");
    await pollFds([{ fd, events: POLLIN }], 500);
  }
}

Deno.test("the attach server sends each stream with its byte, takes input and its end", async () => {
  await withServer(async ({ dir, server, input, ends }) => {
    assert.equal(Deno.readLinkSync(join(dir, "ctr")), join(dir, "bundle"));
    const fd = connectUnix("seqpacket", attachSocketPath(dir, "ctr"));
    try {
      await until("the client is accepted", () => server.clientCount === 1);
      server.output(ATTACH_PIPE_STDOUT, enc.encode("out"));
      server.output(ATTACH_PIPE_STDERR, enc.encode("err"));
      const big = new Uint8Array(20000).fill(0x61);
      server.output(ATTACH_PIPE_STDOUT, big);
      assert.deepEqual(await nextPacket(fd), enc.encode("\x02out"));
      assert.deepEqual(await nextPacket(fd), enc.encode("\x03err"));
      let got = 0;
      while (got < big.length) {
        const p = await nextPacket(fd);
        assert.ok(p[0] === 2 && p.length <= 8193);
        got += p.length - 1;
      }
      assert.equal(sendBytes(fd, enc.encode("typed")), 5);
      await until("the input arrives", () => input.length === 1);
      assert.equal(dec.decode(input[0]), "typed");
      shutdownSocket(fd, SHUT_WR);
      await until("the end of input arrives", () => ends.length === 1);
      await server.close();
      assert.equal((await nextPacket(fd)).length, 0, "server closed: end of file");
      assert.throws(() => Deno.readLinkSync(join(dir, "ctr")), Deno.errors.NotFound);
    } finally {
      closeFd(fd);
    }
  });
});

Deno.test("runAttachSession relays both streams, passes a broken key sequence on, detaches on keys typed in two reads", async () => {
  await withServer(async ({ dir, server, input }) => {
    const conn = AttachConnection.open(attachSocketPath(dir, "ctr"));
    await until("the client is accepted", () => server.clientCount === 1);
    const [inRead, inWrite] = makePipe();
    const [outRead, outWrite] = makePipe();
    const [errRead, errWrite] = makePipe();
    try {
      const session = runAttachSession(conn, {
        input: true,
        detachKeys: parseDetachKeys("ctrl-p,ctrl-q"),
        inputFd: inRead,
        stdoutFd: outWrite,
        stderrFd: errWrite,
      });
      server.output(ATTACH_PIPE_STDOUT, enc.encode("hello"));
      server.output(ATTACH_PIPE_STDERR, enc.encode("oops"));
      let out = "";
      await until(
        "stdout shown",
        () => (out += dec.decode(readFd(outRead, 100) ?? new Uint8Array())) === "hello",
      );
      let err = "";
      await until(
        "stderr shown",
        () => (err += dec.decode(readFd(errRead, 100) ?? new Uint8Array())) === "oops",
      );
      const typed = () => input.map((b) => dec.decode(b)).join("");
      // Ctrl-P held back, then passed on once "x" breaks the sequence
      writeFd(inWrite, enc.encode("a\x10"));
      await until("the byte before Ctrl-P sent", () => typed() === "a");
      writeFd(inWrite, enc.encode("x"));
      await until("Ctrl-P and x sent", () => typed() === "a\x10x");
      // Ctrl-P, Ctrl-Q in two reads: detach, nothing sent
      writeFd(inWrite, new Uint8Array([0x10]));
      await new Promise((r) => setTimeout(r, 100));
      writeFd(inWrite, new Uint8Array([0x11]));
      assert.equal(await session, "detached");
      assert.equal(typed(), "a\x10x");
      await until("the server dropped the client", () => server.clientCount === 0);
    } finally {
      for (const fd of [inRead, inWrite, outRead, outWrite, errRead, errWrite]) closeFd(fd);
    }
  });
});

Deno.test("runAttachSession ends with exited when the monitor closes, and passes end of input", async () => {
  await withServer(async ({ dir, server, ends }) => {
    const conn = AttachConnection.open(attachSocketPath(dir, "ctr"));
    await until("the client is accepted", () => server.clientCount === 1);
    const [inRead, inWrite] = makePipe();
    const [outRead, outWrite] = makePipe();
    try {
      const session = runAttachSession(conn, {
        input: true,
        detachKeys: new Uint8Array(),
        inputFd: inRead,
        stdoutFd: outWrite,
      });
      closeFd(inWrite);
      await until("the end of input arrives", () => ends.length === 1);
      await server.close();
      assert.equal(await session, "exited");
    } finally {
      for (const fd of [inRead, outRead, outWrite]) closeFd(fd);
    }
  });
});

Deno.test("requestResize reaches the ctl fifo while a monitor reads it, and says when none does", async () => {
  await withServer(({ dir }) => {
    // the terminal's size itself is checked through a real one (`stty size`, terminal_test.ts)
    assert.ok(requestResize(join(dir, "bundle"), { rows: 33, cols: 99 }));
    return Promise.resolve();
  });
  assert.equal(requestResize("/nonexistent", { rows: 1, cols: 1 }), false);
});
