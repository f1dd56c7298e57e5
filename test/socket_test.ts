import assert from "node:assert/strict";
import { join } from "node:path";
import { SyscallError } from "../lib/errors.ts";
import {
  acceptSocket,
  closeFd,
  connectUnix,
  listenUnix,
  makePipe,
  pollFds,
  POLLIN,
  readFd,
  receiveFd,
  recvBytes,
  sendBytes,
  sendFd,
  SHUT_WR,
  shutdownSocket,
  socketPair,
  writeFd,
} from "../lib/sys/socket.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("a seqpacket socket pair keeps message boundaries and reports end of file", async () => {
  const [a, b] = socketPair("seqpacket");
  try {
    assert.equal(sendBytes(a, enc.encode("\x02one")), 4);
    assert.equal(sendBytes(a, enc.encode("\x03two")), 4);
    const [ready] = await pollFds([{ fd: b, events: POLLIN }], 2000);
    assert.equal(ready & POLLIN, POLLIN);
    assert.equal(dec.decode(recvBytes(b, 8192)!), "\x02one");
    assert.equal(dec.decode(recvBytes(b, 8192)!), "\x03two");
    assert.equal(recvBytes(b, 8192), null, "nothing waiting: null, not a block");
    shutdownSocket(a, SHUT_WR);
    assert.equal(recvBytes(b, 8192)!.length, 0);
  } finally {
    closeFd(a);
    closeFd(b);
  }
});

Deno.test("bind, listen, connect and accept on a socket path longer than sun_path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-sock-" });
  const deep = join(dir, "d".repeat(60), "e".repeat(60));
  await Deno.mkdir(deep, { recursive: true });
  const path = join(deep, "attach");
  const server = listenUnix("seqpacket", path);
  try {
    assert.equal(Deno.lstatSync(path).isSocket, true);
    const client = connectUnix("seqpacket", path);
    try {
      await pollFds([{ fd: server, events: POLLIN }], 2000);
      const conn = acceptSocket(server)!;
      try {
        sendBytes(client, enc.encode("ls\n"));
        await pollFds([{ fd: conn, events: POLLIN }], 2000);
        assert.equal(dec.decode(recvBytes(conn, 100)!), "ls\n");
        sendBytes(conn, enc.encode("\x02out"));
        await pollFds([{ fd: client, events: POLLIN }], 2000);
        assert.equal(dec.decode(recvBytes(client, 100)!), "\x02out");
      } finally {
        closeFd(conn);
      }
      assert.equal(acceptSocket(server), null);
    } finally {
      closeFd(client);
    }
  } finally {
    closeFd(server);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connecting to a missing socket throws a SyscallError naming the path", () => {
  assert.throws(
    () => connectUnix("seqpacket", "/nonexistent/attach"),
    (err) =>
      err instanceof SyscallError && err.code === "ENOENT" && err.path === "/nonexistent/attach",
  );
});

Deno.test("a pipe's write end passed with SCM_RIGHTS writes into the same pipe", async () => {
  const [a, b] = socketPair("stream");
  const [r, w] = makePipe();
  let received = -1;
  try {
    sendFd(a, w, enc.encode("/dev/pts/9"));
    closeFd(w);
    await pollFds([{ fd: b, events: POLLIN }], 2000);
    const got = receiveFd(b)!;
    assert.equal(got.fds.length, 1);
    assert.equal(dec.decode(got.data), "/dev/pts/9");
    received = got.fds[0];
    assert.equal(writeFd(received, enc.encode("through")), 7);
    closeFd(received);
    received = -1;
    assert.equal(dec.decode(readFd(r, 100)!), "through");
    assert.equal(readFd(r, 100)!.length, 0, "every write end closed: end of file");
  } finally {
    closeFd(a);
    closeFd(b);
    closeFd(r);
    closeFd(received);
  }
});

Deno.test("pollFds times out with no events and leaves the event loop free", async () => {
  const [a, b] = socketPair("seqpacket");
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const [ready] = await pollFds([{ fd: b, events: POLLIN }], 150);
    clearInterval(timer);
    assert.equal(ready, 0);
    assert.equal(ticks > 3, true, `timers ran while poll waited (${ticks})`);
  } finally {
    closeFd(a);
    closeFd(b);
  }
});
