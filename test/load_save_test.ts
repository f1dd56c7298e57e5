import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cliPrefix,
  denopod,
  denopodOk,
  importBusybox,
  IS_ROOT,
  REPO,
  type Roots,
  withRoots,
} from "./helpers/denopod.ts";
import { layerDirs } from "./helpers/denopod.ts";
import {
  BASE_ID,
  DOCKER_FIXTURE,
  FIXTURE_DIFF_IDS,
  FIXTURE_ID,
  MULTI_FIXTURE,
  OCI_FIXTURE,
  PODMAN,
  run,
  sha256OfFile,
} from "./helpers/archive_fixtures.ts";
import { PodmanSandbox } from "./helpers/podman.ts";

const AS_ROOT = { ignore: !IS_ROOT };
const FIXTURE = "localhost/fixture:2";
const BASE = "localhost/fixture-base:1";

/** `image inspect` → [ID, diff IDs] of an image. */
async function idAndDiffIds(roots: Roots, image: string): Promise<[string, string[]]> {
  const [inspect] = JSON.parse(await denopodOk(roots, ["image", "inspect", image]));
  return [inspect.Id, inspect.RootFS.Layers];
}

/** The member names and sha256 of each member of a tar file, via GNU tar. */
async function memberHashes(tar: string): Promise<Map<string, string>> {
  const dir = await Deno.makeTempDir();
  try {
    await run("tar", ["-xf", tar, "-C", dir]);
    const hashes = new Map<string, string>();
    for (const name of (await run("tar", ["-tf", tar])).split("\n")) {
      if (name.endsWith(".tar") && !name.includes("/")) {
        hashes.set(name, await sha256OfFile(join(dir, name)));
      }
    }
    return hashes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "load reads the three podman fixtures: names, image IDs and diff IDs as their README says",
  AS_ROOT,
  async () => {
    for (const fixture of [DOCKER_FIXTURE, OCI_FIXTURE]) {
      await withRoots(async (roots) => {
        const out = await denopodOk(roots, ["load", "-i", fixture]);
        assert.equal(out, `Loaded image: ${FIXTURE}\n`);
        assert.deepEqual(await idAndDiffIds(roots, FIXTURE), [FIXTURE_ID, FIXTURE_DIFF_IDS]);
        assert.deepEqual(await layerDirs(roots), FIXTURE_DIFF_IDS.map((d) => d.slice(7)).sort());
        const images = await denopodOk(roots, ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert.equal(images, `${FIXTURE}\n`);
      });
    }
    await withRoots(async (roots) => {
      const out = await denopodOk(roots, ["load"], { stdin: await Deno.readFile(MULTI_FIXTURE) });
      assert.equal(out, `Loaded image: ${FIXTURE}\nLoaded image: ${BASE}\n`);
      assert.deepEqual(await idAndDiffIds(roots, FIXTURE), [FIXTURE_ID, FIXTURE_DIFF_IDS]);
      assert.deepEqual(await idAndDiffIds(roots, BASE), [BASE_ID, FIXTURE_DIFF_IDS.slice(0, 1)]);
      assert.equal(
        await denopodOk(roots, ["images", "-q", "--no-trunc"]),
        `sha256:${FIXTURE_ID}\nsha256:${BASE_ID}\n`,
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(join(roots.root, "tmp"))), []);
    });
  },
);

Deno.test(
  "the config is stored byte for byte: image inspect shows the fixture's config",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["image", "load", "-q", "-i", DOCKER_FIXTURE]);
      const [inspect] = JSON.parse(await denopodOk(roots, ["image", "inspect", FIXTURE]));
      assert.deepEqual(inspect.Config.Env, ["PATH=/bin", "GREETING=hello"]);
      assert.equal(inspect.Config.WorkingDir, "/srv");
      assert.equal(inspect.Config.StopSignal, "SIGINT");
      assert.equal(inspect.Labels["org.example.fixture"], "two-layers");
      // `inspect` and `image inspect` print the same object for an image.
      assert.equal(
        await denopodOk(roots, ["image", "inspect", FIXTURE]),
        await denopodOk(roots, ["inspect", "--type", "image", FIXTURE]),
      );
    }),
);

Deno.test(
  "run of localhost/fixture:2 shows what podman shows for it",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      const script = [
        "cat /etc/motd",
        "ls /opt/dir",
        "stat -c %i /data/file /data/hardlink",
        "pwd",
        "readlink /data/symlink",
      ].join("; ");
      const out = (await denopodOk(roots, ["run", "--rm", FIXTURE, "sh", "-c", script]))
        .split("\n");
      assert.equal(out[0], "second");
      assert.equal(out[1], "keep");
      assert.match(out[2], /^\d+$/);
      assert.equal(out[3], out[2], "the hard link shares the file's inode");
      assert.equal(out[4], "/srv");
      assert.equal(out[5], "/data/file");
      assert.equal(
        await denopodOk(roots, ["run", "--rm", "--hostname", "fixbox", FIXTURE]),
        "hello from fixbox\n",
      );
      await denopodOk(roots, ["create", "--name", "stopper", FIXTURE]);
      assert.equal(
        await denopodOk(roots, ["inspect", "--format", "{{.Config.StopSignal}}", "stopper"]),
        "2\n",
      );
    }),
);

Deno.test(
  "loading the two-image archive after the one-image one adds no layer: the base is shared",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      const before = await layerDirs(roots);
      const motd = join(roots.root, "layers", FIXTURE_DIFF_IDS[0].slice(7), "diff/etc/motd");
      const inode = (await Deno.stat(motd)).ino;
      const out = await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      assert.equal(out, `Loaded image: ${FIXTURE}\nLoaded image: ${BASE}\n`);
      assert.deepEqual(await layerDirs(roots), before);
      assert.equal((await Deno.stat(motd)).ino, inode, "the present layer was not extracted again");
      assert.deepEqual(await idAndDiffIds(roots, BASE), [BASE_ID, FIXTURE_DIFF_IDS.slice(0, 1)]);
    }),
);

Deno.test(
  "save writes the fixture's docker-archive byte for byte, each layer tar with the fixture's sha256",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      const out = join(roots.dir, "out.tar");
      await denopodOk(roots, ["save", "-o", out, "fixture:2"]);
      assert.deepEqual(await memberHashes(out), await memberHashes(DOCKER_FIXTURE));
      assert.equal(await sha256OfFile(out), await sha256OfFile(DOCKER_FIXTURE));
      const multi = join(roots.dir, "multi.tar");
      await denopodOk(roots, ["save", "-m", "-o", multi, FIXTURE, BASE]);
      assert.equal(await sha256OfFile(multi), await sha256OfFile(MULTI_FIXTURE));
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(roots.dir))).map((e) => e.name).sort(),
        ["multi.tar", "out.tar", "root", "run"],
        "no temporary file is left beside the output",
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(join(roots.root, "tmp"))), []);
    }),
);

for (const format of ["docker-archive", "oci-archive"]) {
  Deno.test(
    `save --format ${format}, rmi, load round-trips the image ID and diff IDs`,
    AS_ROOT,
    () =>
      withRoots(async (roots) => {
        await denopodOk(roots, ["load", "-i", OCI_FIXTURE]);
        const saved = join(roots.dir, "saved.tar");
        // To stdout, as `podman save > file` is used.
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            ...cliPrefix(roots),
            "image",
            "save",
            "--format",
            format,
            FIXTURE,
          ],
          stdout: "piped",
          stderr: "piped",
        });
        const result = await child.output();
        assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
        assert.equal(result.stderr.length, 0, "nothing on stderr in a pipe");
        await Deno.writeFile(saved, result.stdout);
        await denopodOk(roots, ["rmi", FIXTURE]);
        assert.deepEqual(await layerDirs(roots), []);
        assert.equal(await denopodOk(roots, ["load", "-i", saved]), `Loaded image: ${FIXTURE}\n`);
        assert.deepEqual(await idAndDiffIds(roots, FIXTURE), [FIXTURE_ID, FIXTURE_DIFF_IDS]);
        // And once more: the reloaded layers still give back the same bytes.
        const again = join(roots.dir, "again.tar");
        await denopodOk(roots, ["save", "--format", format, "-o", again, FIXTURE]);
        assert.equal(await sha256OfFile(again), await sha256OfFile(saved));
      }),
  );
}

Deno.test(
  "save refuses a layer that has no tar-split, naming it, and writes nothing",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      await Deno.remove(join(roots.root, "layers", FIXTURE_DIFF_IDS[1].slice(7), "tar-split.gz"));
      const out = join(roots.dir, "out.tar");
      const result = await denopod(roots, ["save", "-o", out, FIXTURE]);
      assert.equal(result.code, 125);
      assert.equal(
        result.stderr,
        `Error: layer ${
          FIXTURE_DIFF_IDS[1]
        } has no tar-split record, so its original tar cannot be reproduced\n`,
      );
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(roots.dir))).map((e) => e.name).sort(),
        ["root", "run"],
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(join(roots.root, "tmp"))), []);
    }),
);

Deno.test("an imported rootfs saves and loads elsewhere as the same image", AS_ROOT, async () => {
  let saved = "";
  let id = "";
  await withRoots(async (roots) => {
    id = await importBusybox(roots, "bb:1");
    saved = await Deno.makeTempFile({ suffix: ".tar" });
    await denopodOk(roots, ["save", "-o", saved, "bb:1"]);
  });
  try {
    await withRoots(async (roots) => {
      assert.equal(await denopodOk(roots, ["load", "-i", saved]), "Loaded image: localhost/bb:1\n");
      assert.equal(await denopodOk(roots, ["images", "-q", "--no-trunc"]), `sha256:${id}\n`);
      assert.equal(await denopodOk(roots, ["run", "--rm", "bb:1", "echo", "ok"]), "ok\n");
    });
  } finally {
    await Deno.remove(saved);
  }
});

Deno.test(
  "an image saved by ID has no name, and loads as sha256:ID",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      const saved = join(roots.dir, "byid.tar");
      await denopodOk(roots, ["save", "-q", "-o", saved, FIXTURE_ID.slice(0, 12)]);
      const manifest = JSON.parse(await run("tar", ["-xOf", saved, "manifest.json"]));
      assert.deepEqual(manifest[0].RepoTags, []);
      await denopodOk(roots, ["rmi", FIXTURE]);
      assert.equal(
        await denopodOk(roots, ["load", "-i", saved]),
        `Loaded image: sha256:${FIXTURE_ID}\n`,
      );
      assert.equal(await denopodOk(roots, ["images", "--format", "{{.Repository}}"]), "<none>\n");
    }),
);

Deno.test(
  "save without -m takes further arguments as extra tags, as podman does",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      const saved = join(roots.dir, "tags.tar");
      await denopodOk(roots, ["save", "-o", saved, BASE, "zzz:9", "aaa:1"]);
      const manifest = JSON.parse(await run("tar", ["-xOf", saved, "manifest.json"]));
      assert.equal(manifest.length, 1);
      assert.deepEqual(manifest[0].RepoTags, [
        "localhost/zzz:9",
        "localhost/aaa:1",
        "localhost/fixture-base:1",
      ]);
    }),
);

Deno.test(
  "save refuses what podman refuses and leaves no file behind",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      const out = join(roots.dir, "out.tar");
      const cases: Array<[string[], RegExp]> = [
        [
          ["save", "-m", "--format", "oci-archive", "-o", out, FIXTURE, BASE],
          /^Error: unsupported format "oci-archive" for saving multiple images \(only docker-archive\)$/,
        ],
        [["save", "--format", "tar", "-o", out, FIXTURE], /^Error: format value must be one of/],
        [["save", "-o", out, "nothere"], /^Error: nothere: image not known$/],
        [
          ["save", "-o", join(roots.dir, "missing/out.tar"), FIXTURE],
          /^Error: opening file ".*missing\/out\.tar": no such file or directory$/,
        ],
      ];
      for (const [args, pattern] of cases) {
        const result = await denopod(roots, args);
        assert.equal(result.code, 125, args.join(" "));
        assert.match(result.stderr.trimEnd(), pattern);
        assert.equal(result.stderr.trimEnd().split("\n").length, 1);
      }
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(roots.dir))).map((e) => e.name).sort(),
        ["root", "run"],
      );
    }),
);

Deno.test(
  "save refuses to write an archive to a terminal",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      const command = [
        Deno.execPath(),
        "run",
        "-A",
        "--no-check",
        join(REPO, "main.ts"),
        "--root",
        roots.root,
        "--runroot",
        roots.runRoot,
        "save",
        FIXTURE,
      ].map((arg) => `'${arg}'`).join(" ");
      // script(1) gives the command a pseudo-terminal as stdout.
      const out = await new Deno.Command("script", {
        args: ["-qec", command, "/dev/null"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 125);
      const text = new TextDecoder().decode(out.stdout);
      assert.match(text, /Error: refusing to save to terminal\. Use -o flag or redirect/);
      assert.ok(text.length < 200, "no archive bytes reached the terminal");
    }),
);

Deno.test(
  "tag and untag add and remove names as podman does",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", DOCKER_FIXTURE]);
      await denopodOk(roots, ["tag", "fixture:2", "foo", "bar:1"]);
      const names = () => denopodOk(roots, ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
      assert.deepEqual((await names()).split("\n").filter(Boolean).sort(), [
        "localhost/bar:1",
        "localhost/fixture:2",
        "localhost/foo:latest",
      ]);
      let result = await denopod(roots, ["untag", FIXTURE, "nothere"]);
      assert.equal(result.code, 125);
      assert.equal(result.stderr, "Error: localhost/nothere:latest: tag not known\n");
      result = await denopod(roots, ["tag", "nothere", "x"]);
      assert.equal(result.code, 125);
      assert.equal(result.stderr, "Error: nothere: image not known\n");
      result = await denopod(roots, ["tag", FIXTURE, "Bad:Name"]);
      assert.equal(result.code, 125);
      assert.match(
        result.stderr,
        /^Error: invalid reference format: repository name must be lowercase/,
      );
      await denopodOk(roots, ["image", "untag", FIXTURE, "foo"]);
      assert.deepEqual((await names()).split("\n").filter(Boolean).sort(), [
        "localhost/bar:1",
        "localhost/fixture:2",
      ]);
      await denopodOk(roots, ["untag", FIXTURE_ID]);
      assert.equal(await names(), "<none>:<none>\n");
      await denopodOk(roots, ["image", "tag", FIXTURE_ID, FIXTURE]);
      assert.equal(await names(), `${FIXTURE}\n`);
    }),
);

Deno.test(
  "history lists the fixture's steps with podman's IDs, commands and comments",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["load", "-i", MULTI_FIXTURE]);
      const out = await denopodOk(roots, [
        "history",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Comment}}",
        FIXTURE,
      ]);
      assert.equal(
        out,
        [
          "dc217c97961a|/bin/sh -c #(nop) STOPSIGNAL SIGINT|FROM 1d6d0466d5ca",
          "<missing>|/bin/sh -c #(nop) LABEL org.example.fixtur...|FROM ceacc5e8d389",
          "<missing>|/bin/sh -c rm /opt/dir/gone && echo second...|FROM localhost/fixture-base:1",
          '4a73ba4a6f65|/bin/sh -c #(nop) CMD ["sh", "-c", "echo $...|FROM a97272b9f2a2',
          "<missing>|/bin/sh -c #(nop) WORKDIR /srv|FROM 47f974f9bf8c",
          "<missing>|/bin/sh -c #(nop) ENV GREETING=hello PATH=...|FROM 733ce068a65a",
          "<missing>|/bin/sh -c #(nop) COPY dir:2293ef64a5be7b3...|",
          "",
        ].join("\n"),
      );
      // The CREATED column's width depends on the clock: fix it three days after the build.
      const table = (await denopodOk(roots, ["image", "history", FIXTURE], {
        env: { DENOPOD_NOW: "2026-12-01T21:34:12Z" },
      })).split("\n");
      assert.equal(
        table[0],
        "ID            CREATED     CREATED BY                                     SIZE        COMMENT",
      );
      assert.equal(
        table[1],
        "dc217c97961a  3 days ago  /bin/sh -c #(nop) STOPSIGNAL SIGINT            0 B         FROM 1d6d0466d5ca",
      );
      // A year on, the column widens as podman's does.
      const later = (await denopodOk(roots, ["image", "history", FIXTURE], {
        env: { DENOPOD_NOW: "2027-12-01T00:00:00Z" },
      })).split("\n");
      assert.match(
        later[1],
        /^dc217c97961a {2}12 months ago {2}\/bin\/sh -c #\(nop\) STOPSIGNAL SIGINT /,
      );
      const quiet = await denopodOk(roots, ["history", "-q", "--no-trunc", BASE]);
      assert.equal(quiet, `${BASE_ID}\n<missing>\n<missing>\n<missing>\n`);
      const json = JSON.parse(await denopodOk(roots, ["history", "--format", "json", FIXTURE]));
      assert.equal(json.length, 7);
      assert.equal(json[0].id, FIXTURE_ID);
      assert.equal(json[0].created, "2026-11-28T21:34:11.281907236Z");
      assert.equal(json[0].Created, "2026-11-28T21:34:11Z");
      assert.equal(json[6].comment, undefined);
      assert.ok(json[2].size > 0 && json[1].size === 0, "only steps that made a layer have a size");
    }),
);

Deno.test(
  "four loads of one archive at once all succeed and share the layers",
  AS_ROOT,
  () =>
    withRoots(async (roots) => {
      await denopodOk(roots, ["images"]);
      const outs = await Promise.all(
        [1, 2, 3, 4].map(() => denopodOk(roots, ["load", "-i", MULTI_FIXTURE])),
      );
      for (const out of outs) {
        assert.equal(out, `Loaded image: ${FIXTURE}\nLoaded image: ${BASE}\n`);
      }
      assert.deepEqual(
        await layerDirs(roots),
        FIXTURE_DIFF_IDS.map((d) => d.slice(7)).sort(),
      );
      assert.equal(
        await denopodOk(roots, ["images", "-q", "--no-trunc"]),
        `sha256:${FIXTURE_ID}\nsha256:${BASE_ID}\n`,
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(join(roots.root, "tmp"))), []);
    }),
);

Deno.test("image ls and image rm are images and rmi", AS_ROOT, () =>
  withRoots(async (roots) => {
    await denopodOk(roots, ["image", "load", "-i", MULTI_FIXTURE]);
    assert.equal(
      await denopodOk(roots, ["image", "ls", "--format", "{{.ID}}"]),
      await denopodOk(roots, ["images", "--format", "{{.ID}}"]),
    );
    assert.equal(
      await denopodOk(roots, ["image", "rm", FIXTURE]),
      `Untagged: ${FIXTURE}\nDeleted: ${FIXTURE_ID}\n`,
    );
    assert.deepEqual(await layerDirs(roots), [FIXTURE_DIFF_IDS[0].slice(7)]);
  }));

Deno.test("an archive saved by denopod loads in podman and runs", {
  ignore: !IS_ROOT || PODMAN === undefined,
}, () =>
  withRoots(async (roots) => {
    await denopodOk(roots, ["load", "-i", OCI_FIXTURE]);
    for (const format of ["docker-archive", "oci-archive"]) {
      const saved = join(roots.dir, `${format}.tar`);
      await denopodOk(roots, ["save", "--format", format, "-o", saved, FIXTURE]);
      const podman = await PodmanSandbox.create("overlay");
      try {
        assert.equal(await podman.output("load", "-i", saved), `Loaded image: ${FIXTURE}\n`);
        const [inspect] = JSON.parse(await podman.output("image", "inspect", FIXTURE));
        assert.equal(inspect.Id, FIXTURE_ID);
        assert.deepEqual(inspect.RootFS.Layers, FIXTURE_DIFF_IDS);
        assert.equal(await podman.output("run", "--rm", FIXTURE, "cat", "/etc/motd"), "second\n");
      } finally {
        await podman.remove();
      }
    }
  }));

if (PODMAN === undefined) {
  Deno.test(
    "an archive saved by denopod loads in podman (skipped: /usr/bin/podman is not installed)",
    {
      ignore: true,
    },
    () => {},
  );
}
