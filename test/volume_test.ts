/**
 * Named volumes: `volume create/ls/inspect/exists/rm/prune` in podman 4.3.1's shapes, a volume
 * made on first use with the image's content copied up, outliving its container, refused for
 * removal while in use, and anonymous volumes removed by `rm -v`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  listDir,
  withRoots,
} from "./helpers/denopod.ts";

const opts = { ignore: !IS_ROOT, sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "volume create, ls, inspect, exists and rm, with podman's words for a taken or missing name",
  opts,
  async () => {
    await withRoots(async (roots) => {
      assert.equal(await denopodOk(roots, ["volume", "create", "--label", "a=b", "v1"]), "v1\n");
      const again = await denopod(roots, ["volume", "create", "v1"]);
      assert.deepEqual([again.code, again.stderr], [
        125,
        "Error: volume with name v1 already exists: volume already exists\n",
      ]);
      const bad = await denopod(roots, ["volume", "create", "b@d"]);
      assert.deepEqual([bad.code, bad.stderr], [
        125,
        "Error: running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument\n",
      ]);
      assert.deepEqual(listDir(join(roots.root, "volumes")), ["v1"]);
      assert.equal(
        await denopodOk(roots, ["volume", "ls"]),
        "DRIVER      VOLUME NAME\nlocal       v1\n",
      );
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "v1\n");
      const [inspected] = JSON.parse(await denopodOk(roots, ["volume", "inspect", "v1"]));
      assert.deepEqual(
        [inspected.Name, inspected.Driver, inspected.Mountpoint, inspected.Labels, inspected.Scope],
        ["v1", "local", join(roots.root, "volumes", "v1", "_data"), { a: "b" }, "local"],
      );
      assert.equal((await denopod(roots, ["volume", "exists", "v1"])).code, 0);
      assert.equal((await denopod(roots, ["volume", "exists", "nope"])).code, 1);
      const missing = await denopod(roots, ["volume", "rm", "nope"]);
      assert.deepEqual([missing.code, missing.stderr], [
        1,
        'Error: no volume with name "nope" found: no such volume\n',
      ]);
      assert.equal(await denopodOk(roots, ["volume", "rm", "v1"]), "v1\n");
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test(
  "-v NAME:/path makes the volume on first use, copies the image's content up, and the data outlives the container",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const out = await denopodOk(roots, [
        "run",
        "--name",
        "c1",
        "-v",
        "data:/etc",
        "busybox",
        "sh",
        "-c",
        "cat /etc/passwd | head -1; echo kept > /etc/new",
      ]);
      assert.equal(out, "root:x:0:0:root:/root:/bin/sh\n");
      const dataDir = join(roots.root, "volumes", "data", "_data");
      assert.ok(listDir(dataDir).includes("passwd"), "the image's /etc was copied up");
      // in use: refused (exit 2, podman's words), nothing removed
      const refused = await denopod(roots, ["volume", "rm", "data"]);
      const id = (await denopodOk(roots, ["inspect", "--format", "{{.Id}}", "c1"])).trim();
      assert.deepEqual([refused.code, refused.stderr], [
        2,
        `Error: volume data is being used by the following container(s): ${id}: volume is being used\n`,
      ]);
      assert.equal(await denopodOk(roots, ["volume", "prune", "-f"]), "");
      await denopodOk(roots, ["rm", "c1"]);
      assert.equal(Deno.readTextFileSync(join(dataDir, "new")), "kept\n");
      // a second container sees the data, not a fresh copy of the image
      const second = await denopodOk(roots, [
        "run",
        "--rm",
        "-v",
        "data:/etc",
        "busybox",
        "cat",
        "/etc/new",
      ]);
      assert.equal(second, "kept\n");
      assert.equal(await denopodOk(roots, ["volume", "prune", "-f"]), "data\n");
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test("volume rm -f removes the containers using the volume first", opts, async () => {
  await withRoots(async (roots) => {
    await importBusybox(roots);
    await denopodOk(roots, ["create", "--name", "user", "-v", "v:/data", "busybox", "true"]);
    assert.equal(await denopodOk(roots, ["volume", "rm", "-f", "v"]), "v\n");
    assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
    assert.deepEqual(listDir(join(roots.root, "volumes")), []);
  });
});

Deno.test(
  "an anonymous volume (-v /path) is removed by rm -v and kept by a plain rm",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const a = (await denopodOk(roots, ["create", "-v", "/data", "busybox", "true"])).trim();
      const b = (await denopodOk(roots, ["create", "-v", "/data", "busybox", "true"])).trim();
      const names = (await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n");
      assert.equal(names.length, 2);
      for (const name of names) assert.match(name, /^[0-9a-f]{64}$/);
      await denopodOk(roots, ["rm", "-v", a]);
      assert.equal((await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n").length, 1);
      await denopodOk(roots, ["rm", b]);
      assert.equal((await denopodOk(roots, ["volume", "ls", "-q"])).trim().split("\n").length, 1);
    });
  },
);

Deno.test(
  "a create that fails after making a volume removes the volume it made",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const result = await denopod(roots, ["create", "-v", "fresh:/x", "busybox", "true"], {
        env: { DENOPOD_SECCOMP_PROFILE: "/nonexistent/seccomp.json" },
      });
      assert.equal(result.code, 125);
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
      assert.equal(await denopodOk(roots, ["ps", "-a", "-q"]), "");
    });
  },
);

Deno.test(
  "system prune --volumes removes unused volumes in podman's section order; without it they stay",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["volume", "create", "unused"]);
      await denopodOk(roots, ["create", "--name", "keeper", "-v", "used:/data", "busybox", "true"]);
      await Deno.writeTextFile(
        join(roots.root, "volumes", "unused", "_data", "f"),
        "x".repeat(5000),
      );
      const kept = await denopodOk(roots, ["system", "prune", "-f"]);
      assert.doesNotMatch(kept, /Deleted Volumes/);
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "unused\nused\n");
      await denopodOk(roots, ["rm", "keeper"]).catch(() => {});
      const out = await denopodOk(roots, ["system", "prune", "-f", "--volumes"]);
      assert.match(out, /^Deleted Volumes\nunused\nused\nTotal reclaimed space: \d/);
      assert.equal(await denopodOk(roots, ["volume", "ls", "-q"]), "");
    });
  },
);

/** Mount points (mountinfo's field 5) under `dir`. */
function mountsUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" ")[4])
    .filter((p) => p !== undefined && p.startsWith(`${dir}/`));
}

Deno.test(
  "a tmpfs volume is mounted at first use, seen inside, counted in MountCount, gone after the last",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, [
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=10m,uid=1000",
        "scratch",
      ]);
      const data = join(roots.root, "volumes/scratch/_data");
      assert.deepEqual(mountsUnder(roots.root).filter((p) => p === data), [], "not mounted yet");
      assert.equal(
        await denopodOk(roots, ["volume", "inspect", "--format", "{{.MountCount}}", "scratch"]),
        "0\n",
      );
      // seen from inside the container: a tmpfs of 10 MiB owned by uid 1000
      const inside = await denopodOk(roots, [
        "run",
        "--rm",
        "-v",
        "scratch:/scratch",
        "busybox",
        "sh",
        "-c",
        "grep ' /scratch ' /proc/mounts | cut -d' ' -f1,3; df -k /scratch | tail -1 | awk '{print $2}'; stat -c %u /scratch",
      ]);
      assert.equal(inside, "tmpfs tmpfs\n10240\n1000\n");
      assert.deepEqual(mountsUnder(roots.dir), [], "unmounted after the last user");

      // two users: mounted once, counted twice, unmounted only after both
      for (const name of ["one", "two"]) {
        await denopodOk(roots, [
          "run",
          "-d",
          "--name",
          name,
          "-v",
          "scratch:/scratch",
          "busybox",
          "sleep",
          "100",
        ]);
      }
      assert.equal(mountsUnder(roots.root).filter((p) => p === data).length, 1);
      assert.equal(
        await denopodOk(roots, ["volume", "inspect", "--format", "{{.MountCount}}", "scratch"]),
        "2\n",
      );
      await denopodOk(roots, ["exec", "one", "sh", "-c", "echo kept > /scratch/f"]);
      // system check counts the volume's mount as the running containers' own
      const check = await denopod(roots, ["system", "check", "--quick"]);
      assert.deepEqual([check.code, check.stdout], [0, ""], check.stderr);
      assert.equal(await denopodOk(roots, ["exec", "two", "cat", "/scratch/f"]), "kept\n");
      await denopodOk(roots, ["stop", "-t", "0", "one"]);
      assert.equal(
        mountsUnder(roots.root).filter((p) => p === data).length,
        1,
        "two still uses it",
      );
      assert.equal(
        await denopodOk(roots, ["volume", "inspect", "--format", "{{.MountCount}}", "scratch"]),
        "1\n",
      );
      await denopodOk(roots, ["rm", "-f", "-t", "0", "one", "two"]);
      assert.deepEqual(mountsUnder(roots.dir), [], "no mount left after rm");
      assert.equal(
        await denopodOk(roots, ["volume", "inspect", "--format", "{{.MountCount}}", "scratch"]),
        "0\n",
      );
      await denopodOk(roots, ["volume", "rm", "scratch"]);
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test(
  "volume create -o o=uid=,gid= owns a plain volume's data; MountCount stays 0 (podman's)",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      await denopodOk(roots, ["volume", "create", "-o", "o=uid=1000,gid=1001", "owned"]);
      const inspect = JSON.parse(await denopodOk(roots, ["volume", "inspect", "owned"]))[0];
      assert.deepEqual(
        [inspect.Options, inspect.UID, inspect.GID],
        [{ o: "uid=1000,gid=1001", UID: "1000", GID: "1001" }, 1000, 1001],
      );
      await denopodOk(roots, [
        "run",
        "-d",
        "--name",
        "user",
        "-v",
        "owned:/o",
        "busybox",
        "sleep",
        "100",
      ]);
      assert.equal(
        await denopodOk(roots, ["exec", "user", "stat", "-c", "%u:%g", "/o"]),
        "1000:1001\n",
      );
      assert.equal(
        await denopodOk(roots, ["volume", "inspect", "--format", "{{.MountCount}}", "owned"]),
        "0\n",
      );
      await denopodOk(roots, ["rm", "-f", "-t", "0", "user"]);
    });
  },
);

Deno.test(
  "bad volume options and bad :O volumes are refused with one line, nothing written",
  opts,
  async () => {
    await withRoots(async (roots) => {
      const cases: [string[], string][] = [
        [
          ["-o", "foo=bar"],
          "Error: invalid mount option foo for driver 'local': invalid argument\n",
        ],
        [
          ["-o", "o=size=10m"],
          "Error: volume options size and inodes not supported. Filesystem does not support Project Quota\n",
        ],
        [
          ["-o", "o=uid=abc"],
          'Error: cannot convert UID abc to integer: strconv.Atoi: parsing "abc": invalid syntax\n',
        ],
      ];
      for (const [args, stderr] of cases) {
        const result = await denopod(roots, ["volume", "create", ...args, "v"]);
        assert.deepEqual([result.code, result.stderr], [125, stderr], args.join(" "));
      }
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
      // overlay volumes: a host directory only, O alone
      await importBusybox(roots);
      const file = join(roots.dir, "file");
      await Deno.writeTextFile(file, "x");
      const overlayCases: [string, string][] = [
        [`${file}:/x:O`, `Error: invalid volume ${file}: an O source must be a directory\n`],
        [
          "named:/x:O",
          'Error: invalid volume "named:/x:O": the O option needs an absolute host path, not a named volume\n',
        ],
        [
          `${roots.dir}:/x:O,ro`,
          `Error: invalid volume "${roots.dir}:/x:O,ro": the O option cannot be combined with other options\n`,
        ],
      ];
      for (const [spec, stderr] of overlayCases) {
        const result = await denopod(roots, ["create", "-v", spec, "busybox", "true"]);
        assert.deepEqual([result.code, result.stderr], [125, stderr], spec);
      }
      assert.deepEqual(listDir(join(roots.root, "containers")), []);
      assert.deepEqual(listDir(join(roots.root, "volumes")), []);
    });
  },
);

Deno.test(
  "-v HOST:DST:O: the container writes over the host directory, which never changes; the writes go at stop",
  opts,
  async () => {
    await withRoots(async (roots) => {
      await importBusybox(roots);
      const host = join(roots.dir, "host");
      await Deno.mkdir(host);
      await Deno.writeTextFile(join(host, "f"), "orig\n");
      assert.equal(
        await denopodOk(roots, [
          "run",
          "--rm",
          "-v",
          `${host}:/d:O`,
          "busybox",
          "sh",
          "-c",
          "cat /d/f; echo new > /d/f; echo x > /d/g; cat /d/f; ls /d",
        ]),
        "orig\nnew\nf\ng\n",
      );
      assert.deepEqual(listDir(host), ["f"]);
      assert.equal(await Deno.readTextFile(join(host, "f")), "orig\n");
      assert.deepEqual(mountsUnder(roots.dir), []);

      // a container kept after it stops: its writes are gone when it starts again
      await denopodOk(roots, [
        "create",
        "--name",
        "keep",
        "-v",
        `${host}:/d:O`,
        "busybox",
        "sh",
        "-c",
        "ls /d; touch /d/mark; sleep 100",
      ]);
      const marked = ["exec", "keep", "sh", "-c", "until [ -e /d/mark ]; do sleep 0.05; done"];
      await denopodOk(roots, ["start", "keep"]);
      await denopodOk(roots, marked);
      // system check counts the overlay as the running container's own mount
      const check = await denopod(roots, ["system", "check", "--quick"]);
      assert.deepEqual([check.code, check.stdout], [0, ""], check.stderr);
      await denopodOk(roots, ["stop", "-t", "0", "keep"]);
      assert.deepEqual(mountsUnder(roots.dir), []);
      await denopodOk(roots, ["start", "keep"]);
      await denopodOk(roots, marked);
      assert.equal(await denopodOk(roots, ["logs", "keep"]), "f\nf\n", "no mark seen from run 1");
      assert.deepEqual(listDir(host), ["f"]);
      await denopodOk(roots, ["rm", "-f", "-t", "0", "keep"]);
      assert.deepEqual(mountsUnder(roots.dir), []);
    });
  },
);
