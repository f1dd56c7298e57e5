import assert from "node:assert/strict";
import zlib from "node:zlib";
import { ArchiveError } from "../lib/errors.ts";
import { openImageArchive } from "../lib/storage/archive/reader.ts";
import { DEFAULT_TAR_INDEX_LIMITS, indexTarFile } from "../lib/storage/archive/outer_tar.ts";
import {
  DOCKER_FIXTURE,
  editedFixture,
  editJson,
  FIXTURE_DIFF_IDS,
  FIXTURE_ID,
  OCI_BLOB_DIGESTS,
  OCI_FIXTURE,
  run,
} from "./helpers/archive_fixtures.ts";

/** Opens `path` (and reads every layer) expecting a one-line ArchiveError matching `pattern`. */
async function assertRefused(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const archive = await openImageArchive(path);
      try {
        for (const image of archive.images) {
          for (const layer of image.layers) for await (const _ of layer.open());
        }
      } finally {
        archive.close();
      }
    },
    (error: unknown) => {
      assert.ok(error instanceof ArchiveError, `not an ArchiveError: ${error}`);
      assert.ok(!error.message.includes("\n"), `message spans lines: ${error.message}`);
      assert.match(error.message, /^archive: /);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir();
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

const DOCKER_CONFIG = `${FIXTURE_ID}.json`;
const TOP_LAYER_TAR = `${FIXTURE_DIFF_IDS[1].slice(7)}.tar`;

Deno.test("a file that is not a tar archive is refused as such", () =>
  withTmp(async (tmp) => {
    await Deno.writeTextFile(`${tmp}/notes.txt`, "hello world\n".repeat(200));
    await assertRefused(`${tmp}/notes.txt`, /^archive: not a tar archive/);
    await Deno.writeFile(`${tmp}/empty.tar`, new Uint8Array());
    await assertRefused(`${tmp}/empty.tar`, /empty/);
  }));

Deno.test("an archive cut in half is refused as truncated", () =>
  withTmp(async (tmp) => {
    const bytes = await Deno.readFile(DOCKER_FIXTURE);
    await Deno.writeFile(`${tmp}/half.tar`, bytes.subarray(0, bytes.length / 2));
    await assertRefused(`${tmp}/half.tar`, /^archive: truncated: member "acc06ff2.*\.tar" needs/);
  }));

Deno.test("a gzip-compressed archive cut short is refused", () =>
  withTmp(async (tmp) => {
    const gz = zlib.gzipSync(await Deno.readFile(DOCKER_FIXTURE));
    await Deno.writeFile(`${tmp}/half.tar.gz`, gz.subarray(0, gz.length / 2));
    await assert.rejects(() => openImageArchive(`${tmp}/half.tar.gz`), ArchiveError);
    assert.deepEqual([...Deno.readDirSync(tmp)].map((entry) => entry.name), ["half.tar.gz"]);
  }));

Deno.test("a tar header with a bad checksum in the middle is refused", () =>
  withTmp(async (tmp) => {
    const bytes = await Deno.readFile(DOCKER_FIXTURE);
    // The second member's header follows the first member's 2130944-byte body.
    bytes[512 + 2130944 + 10] ^= 0xff;
    await Deno.writeFile(`${tmp}/corrupt.tar`, bytes);
    await assertRefused(`${tmp}/corrupt.tar`, /corrupt tar header at offset 2131456/);
  }));

Deno.test("an archive without manifest.json or index.json is refused naming manifest.json", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      DOCKER_FIXTURE,
      "nomanifest",
      (dir) => Deno.remove(`${dir}/manifest.json`),
    );
    await assertRefused(path, /^archive: manifest\.json missing/);
  }));

Deno.test("a manifest.json that is not valid JSON is refused with the parser's reason", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      DOCKER_FIXTURE,
      "badjson",
      (dir) => Deno.writeTextFile(`${dir}/manifest.json`, '[{"Config": '),
    );
    await assertRefused(path, /^archive: manifest\.json: Unexpected end of JSON input$/);
  }));

Deno.test("a manifest.json over the 8 MiB cap is refused before it is read", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(tmp, DOCKER_FIXTURE, "huge", async (dir) => {
      const manifest = await Deno.readTextFile(`${dir}/manifest.json`);
      await Deno.writeTextFile(
        `${dir}/manifest.json`,
        manifest + " ".repeat(8 * 1024 * 1024 + 1 - manifest.length),
      );
    });
    await assertRefused(
      path,
      /^archive: manifest\.json is 8388609 bytes, over the 8 MiB limit$/,
    );
  }));

Deno.test("an OCI digest of the wrong form is refused before any path is built from it", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      OCI_FIXTURE,
      "baddigest",
      (dir) =>
        editJson(`${dir}/index.json`, (json) => {
          (json as { manifests: Array<{ digest: string }> }).manifests[0].digest =
            "sha256:../../etc";
        }),
    );
    await assertRefused(path, /"sha256:\.\.\/\.\.\/etc" is not a sha256 digest/);
  }));

Deno.test("a docker-archive naming a config outside the archive with .. is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      DOCKER_FIXTURE,
      "dotdot",
      (dir) =>
        editJson(`${dir}/manifest.json`, (json) => {
          (json as Array<{ Config: string }>)[0].Config = "../../etc/passwd";
        }),
    );
    await assertRefused(path, /name "\.\.\/\.\.\/etc\/passwd" has a "\.\." component/);
  }));

Deno.test("a layer symlink pointing outside the archive is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(tmp, DOCKER_FIXTURE, "symlink", async (dir) => {
      await Deno.mkdir(`${dir}/evil`);
      await Deno.symlink("../../../etc/passwd", `${dir}/evil/layer.tar`);
      await editJson(`${dir}/manifest.json`, (json) => {
        (json as Array<{ Layers: string[] }>)[0].Layers[1] = "evil/layer.tar";
      });
    });
    await assertRefused(path, /symlink "evil\/layer\.tar" points outside the archive/);
  }));

Deno.test("a tar member named with .. is refused while indexing", () =>
  withTmp(async (tmp) => {
    const dir = `${tmp}/dir`;
    await Deno.mkdir(dir);
    await run("tar", ["-xf", DOCKER_FIXTURE, "-C", dir]);
    await run("tar", [
      "-cf",
      `${tmp}/dotdot.tar`,
      "-C",
      dir,
      "--transform=s,^repositories$,../repositories,",
      "manifest.json",
      "repositories",
    ]);
    const listing = await run("tar", ["-tf", `${tmp}/dotdot.tar`]);
    assert.match(listing, /^\.\.\/repositories$/m);
    await assertRefused(`${tmp}/dotdot.tar`, /name "\.\.\/repositories" has a "\.\." component/);
  }));

Deno.test("a docker-archive config whose sha256 does not match its name is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(tmp, DOCKER_FIXTURE, "confighash", async (dir) => {
      const config = await Deno.readTextFile(`${dir}/${DOCKER_CONFIG}`);
      await Deno.chmod(`${dir}/${DOCKER_CONFIG}`, 0o644);
      await Deno.writeTextFile(`${dir}/${DOCKER_CONFIG}`, config.replace("amd64", "amd65"));
    });
    await assertRefused(
      path,
      new RegExp(`content has sha256:[0-9a-f]{64}, but its name says sha256:${FIXTURE_ID}$`),
    );
  }));

Deno.test("an OCI config whose sha256 does not match its digest is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(tmp, OCI_FIXTURE, "ociconfig", async (dir) => {
      const file = `${dir}/blobs/sha256/${FIXTURE_ID}`;
      const config = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, config.replace("amd64", "amd65"));
    });
    await assertRefused(path, new RegExp(`^archive: blob sha256:${FIXTURE_ID}: content has`));
  }));

Deno.test("a missing OCI layer blob is refused naming the blob", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      OCI_FIXTURE,
      "noblob",
      (dir) => Deno.remove(`${dir}/blobs/sha256/${OCI_BLOB_DIGESTS[1].slice(7)}`),
    );
    await assertRefused(path, new RegExp(`^archive: blob ${OCI_BLOB_DIGESTS[1]} missing`));
  }));

Deno.test("a missing docker-archive layer tar is refused naming it", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      DOCKER_FIXTURE,
      "nolayer",
      (dir) => Deno.remove(`${dir}/${TOP_LAYER_TAR}`),
    );
    await assertRefused(path, new RegExp(`"${TOP_LAYER_TAR}" missing`));
  }));

Deno.test("an image whose layer count differs from its diff IDs is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      DOCKER_FIXTURE,
      "count",
      (dir) =>
        editJson(`${dir}/manifest.json`, (json) => {
          (json as Array<{ Layers: string[] }>)[0].Layers.pop();
        }),
    );
    await assertRefused(
      path,
      new RegExp(
        `image ${FIXTURE_ID}: manifest\\.json lists 1 layers but the config has 2 diff IDs`,
      ),
    );
  }));

Deno.test("an OCI layer blob whose content does not match its digest errors at the end of its stream", () =>
  withTmp(async (tmp) => {
    const blob = OCI_BLOB_DIGESTS[1];
    const path = await editedFixture(tmp, OCI_FIXTURE, "tampered", async (dir) => {
      const file = `${dir}/blobs/sha256/${blob.slice(7)}`;
      const bytes = await Deno.readFile(file);
      bytes[bytes.length - 20] ^= 0x01;
      await Deno.writeFile(file, bytes);
    });
    const archive = await openImageArchive(path);
    try {
      const layer = archive.images[0].layers[1];
      let received = 0;
      await assert.rejects(
        async () => {
          for await (const chunk of layer.open()) received += chunk.length;
        },
        (error: unknown) => {
          assert.ok(error instanceof ArchiveError);
          assert.match(error.message, new RegExp(`^archive: blob ${blob}: content has sha256:`));
          return true;
        },
      );
      assert.equal(received, layer.size);
    } finally {
      archive.close();
    }
  }));

Deno.test("an OCI blob whose size differs from its descriptor is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(tmp, OCI_FIXTURE, "size", async (dir) => {
      const file = `${dir}/blobs/sha256/${OCI_BLOB_DIGESTS[1].slice(7)}`;
      await Deno.writeFile(file, new Uint8Array([1, 2, 3]), { append: true });
    });
    await assertRefused(path, /is 420 bytes, the descriptor says 417/);
  }));

Deno.test("an OCI archive without oci-layout is refused", () =>
  withTmp(async (tmp) => {
    const path = await editedFixture(
      tmp,
      OCI_FIXTURE,
      "nolayout",
      (dir) => Deno.remove(`${dir}/oci-layout`),
    );
    await assertRefused(path, /^archive: oci-layout missing/);
  }));

Deno.test("indexing stops at the entry-count, extended-header and name-length caps", () =>
  withTmp(async (tmp) => {
    const limits = { ...DEFAULT_TAR_INDEX_LIMITS, maxEntries: 3 };
    await assert.rejects(() => indexTarFile(DOCKER_FIXTURE, limits), /more than 3 tar entries/);

    const dir = `${tmp}/dir`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(`${dir}/${"n".repeat(200)}`, "x");
    await run("tar", ["--format=posix", "-cf", `${tmp}/pax.tar`, "-C", dir, "."]);
    await assert.rejects(
      () =>
        indexTarFile(`${tmp}/pax.tar`, {
          ...DEFAULT_TAR_INDEX_LIMITS,
          maxExtendedHeaderBytes: 100,
        }),
      /extended header at offset \d+ is \d+ bytes, over the 100-byte limit/,
    );
    await assert.rejects(
      () => indexTarFile(`${tmp}/pax.tar`, { ...DEFAULT_TAR_INDEX_LIMITS, maxNameBytes: 150 }),
      /has a name over 150 bytes/,
    );
  }));
