import assert from "node:assert/strict";
import zlib from "node:zlib";
import { decompressedStream } from "../lib/storage/tar/decompress.ts";
import { openImageArchive, spoolToFile } from "../lib/storage/archive/reader.ts";
import {
  imageIdOf,
  parseImageConfig,
  serializeImageConfig,
} from "../lib/storage/archive/image_config.ts";
import { normalizeDockerArchiveTag, normalizeOciRefName } from "../lib/storage/archive/names.ts";
import { indexTarFile } from "../lib/storage/archive/outer_tar.ts";
import { ArchiveError } from "../lib/errors.ts";
import {
  BASE_ID,
  DOCKER_FIXTURE,
  editedFixture,
  editJson,
  FIXTURE_DIFF_IDS,
  FIXTURE_ID,
  MULTI_FIXTURE,
  OCI_BLOB_DIGESTS,
  OCI_FIXTURE,
  run,
  sha256OfStream,
} from "./helpers/archive_fixtures.ts";

function assertFixtureConfig(config: ReturnType<typeof parseImageConfig>): void {
  assert.equal(config.architecture, "amd64");
  assert.equal(config.os, "linux");
  assert.deepEqual(config.rootfs, { type: "layers", diff_ids: FIXTURE_DIFF_IDS });
  assert.deepEqual(config.config?.Env, ["PATH=/bin", "GREETING=hello"]);
  assert.deepEqual(config.config?.Cmd, ["sh", "-c", "echo $GREETING from $(hostname)"]);
  assert.equal(config.config?.WorkingDir, "/srv");
  assert.equal(config.config?.StopSignal, "SIGINT");
  assert.equal(config.config?.Labels?.["org.example.fixture"], "two-layers");
  assert.equal(config.history?.length, 7);
}

Deno.test("openImageArchive reads podman's docker-archive: name, ID, config, layer tars hashing to their diff IDs", async () => {
  const archive = await openImageArchive(DOCKER_FIXTURE);
  try {
    assert.equal(archive.format, "docker-archive");
    assert.equal(archive.images.length, 1);
    const [image] = archive.images;
    assert.equal(image.id, FIXTURE_ID);
    assert.deepEqual(image.names, ["localhost/fixture:2"]);
    assert.equal(imageIdOf(image.configBytes), FIXTURE_ID);
    assertFixtureConfig(image.config);
    assert.deepEqual(image.layers.map((layer) => layer.diffId), FIXTURE_DIFF_IDS);
    assert.deepEqual(image.layers.map((layer) => layer.size), [2130944, 10240]);
    for (const layer of image.layers) {
      assert.equal(layer.blobDigest, undefined);
      assert.equal(layer.mediaType, "application/vnd.docker.image.rootfs.diff.tar");
      assert.equal(await sha256OfStream(layer.open()), layer.diffId);
    }
  } finally {
    archive.close();
  }
});

Deno.test("openImageArchive reads podman's OCI archive: gzip blobs hash to their digests, gunzipped to the diff IDs", async () => {
  const archive = await openImageArchive(OCI_FIXTURE);
  try {
    assert.equal(archive.format, "oci-archive");
    assert.equal(archive.images.length, 1);
    const [image] = archive.images;
    assert.equal(image.id, FIXTURE_ID);
    assert.deepEqual(image.names, ["localhost/fixture:2"]);
    assert.equal(
      image.manifestDigest,
      "sha256:879d0793441af535300d7acbc9e0cf63fe0ef578ba37179cf3c9455455410876",
    );
    assertFixtureConfig(image.config);
    assert.deepEqual(image.layers.map((layer) => layer.blobDigest), OCI_BLOB_DIGESTS);
    assert.deepEqual(image.layers.map((layer) => layer.size), [1087802, 417]);
    for (const layer of image.layers) {
      assert.equal(layer.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
      assert.equal(await sha256OfStream(layer.open()), layer.blobDigest);
      assert.equal(await sha256OfStream(decompressedStream(layer.open())), layer.diffId);
    }
  } finally {
    archive.close();
  }
});

Deno.test("openImageArchive reads both images of a multi-image docker-archive, sharing their common layer", async () => {
  const archive = await openImageArchive(MULTI_FIXTURE);
  try {
    assert.equal(archive.format, "docker-archive");
    assert.deepEqual(
      archive.images.map((image) => [image.id, image.names]),
      [[FIXTURE_ID, ["localhost/fixture:2"]], [BASE_ID, ["localhost/fixture-base:1"]]],
    );
    const [top, base] = archive.images;
    assert.deepEqual(base.layers.map((layer) => layer.diffId), [FIXTURE_DIFF_IDS[0]]);
    assert.equal(base.layers[0], top.layers[0]);
    assert.equal(base.config.config?.Labels?.["org.example.fixture"], undefined);
    assert.equal(await sha256OfStream(base.layers[0].open()), FIXTURE_DIFF_IDS[0]);
  } finally {
    archive.close();
  }
});

Deno.test("openImageArchive reads a gzip-compressed archive and close() removes its decompressed copy", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const gz = `${tmp}/fixture.tar.gz`;
    await Deno.writeFile(gz, zlib.gzipSync(await Deno.readFile(DOCKER_FIXTURE)));
    const scratch = `${tmp}/scratch`;
    await Deno.mkdir(scratch);
    const archive = await openImageArchive(gz, { tempDir: scratch });
    try {
      assert.equal(archive.images[0].id, FIXTURE_ID);
      assert.equal(await sha256OfStream(archive.images[0].layers[1].open()), FIXTURE_DIFF_IDS[1]);
      assert.equal([...Deno.readDirSync(scratch)].length, 1);
    } finally {
      archive.close();
    }
    assert.deepEqual([...Deno.readDirSync(scratch)], []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("spoolToFile writes a piped gzip stream out as the plain tar, and leaves no file when the stream is corrupt", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const plain = await Deno.readFile(OCI_FIXTURE);
    const gz = new Uint8Array(zlib.gzipSync(plain));
    const path = await spoolToFile(new Blob([gz]).stream(), tmp);
    assert.deepEqual(await Deno.readFile(path), plain);
    const archive = await openImageArchive(path);
    assert.equal(archive.images[0].id, FIXTURE_ID);
    archive.close();
    await Deno.remove(path);

    const corrupt = gz.slice(0, gz.length / 2);
    await assert.rejects(() => spoolToFile(new Blob([corrupt]).stream(), tmp), ArchiveError);
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("openImageArchive reads archives GNU tar wrote with ./ names, PAX and GNU long names", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const longDir = "d".repeat(120);
    for (const format of ["posix", "gnu"]) {
      const dir = `${tmp}/${format}`;
      await Deno.mkdir(`${dir}/${longDir}`, { recursive: true });
      await run("tar", ["-xf", OCI_FIXTURE, "-C", dir]);
      await Deno.writeTextFile(`${dir}/${longDir}/${"f".repeat(120)}`, "long");
      const out = `${tmp}/${format}.tar`;
      await run("tar", [`--format=${format}`, "-cf", out, "-C", dir, "."]);
      const index = await indexTarFile(out);
      const long = index.get(`${longDir}/${"f".repeat(120)}`);
      assert.equal(long?.size, 4, format);
      assert.ok(index.has("./index.json"));
      const archive = await openImageArchive(out);
      assert.equal(archive.images[0].id, FIXTURE_ID);
      assert.equal(await sha256OfStream(archive.images[0].layers[1].open()), OCI_BLOB_DIGESTS[1]);
      archive.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("openImageArchive names OCI images from io.containerd.image.name before ref.name, and unnamed without either", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const named = await editedFixture(
      tmp,
      OCI_FIXTURE,
      "named",
      (dir) =>
        editJson(`${dir}/index.json`, (json) => {
          const index = json as { manifests: Array<{ annotations: Record<string, string> }> };
          index.manifests[0].annotations = {
            "io.containerd.image.name": "docker.io/library/busybox:1.36",
            "org.opencontainers.image.ref.name": "1.36",
          };
        }),
    );
    const unnamed = await editedFixture(
      tmp,
      OCI_FIXTURE,
      "unnamed",
      (dir) =>
        editJson(`${dir}/index.json`, (json) => {
          delete (json as { manifests: Array<{ annotations?: unknown }> }).manifests[0].annotations;
        }),
    );
    const a = await openImageArchive(named);
    assert.deepEqual(a.images[0].names, ["docker.io/library/busybox:1.36"]);
    a.close();
    const b = await openImageArchive(unnamed);
    assert.deepEqual(b.images[0].names, []);
    assert.equal(b.images[0].id, FIXTURE_ID);
    b.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("openImageArchive follows a nested OCI index to the manifest for this host's platform", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const path = await editedFixture(tmp, OCI_FIXTURE, "nested", async (dir) => {
      const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
      const manifest = index.manifests[0];
      const nested = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { ...manifest, annotations: undefined, platform: { os: "linux", architecture: "s390x" } },
          { ...manifest, annotations: undefined, platform: { os: "linux", architecture: "amd64" } },
          { ...manifest, annotations: undefined, platform: { os: "linux", architecture: "arm64" } },
        ],
      }));
      const hex = (await sha256OfStream(new Blob([nested]).stream())).slice(7);
      await Deno.writeFile(`${dir}/blobs/sha256/${hex}`, nested);
      index.manifests[0] = {
        mediaType: "application/vnd.oci.image.index.v1+json",
        digest: `sha256:${hex}`,
        size: nested.length,
        annotations: manifest.annotations,
      };
      await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));
    });
    const archive = await openImageArchive(path);
    try {
      assert.equal(archive.images.length, 1);
      assert.equal(archive.images[0].id, FIXTURE_ID);
      assert.deepEqual(archive.images[0].names, ["localhost/fixture:2"]);
    } finally {
      archive.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("image names are normalised as podman load names them", () => {
  assert.equal(normalizeOciRefName("fixture:2", "t"), "localhost/fixture:2");
  assert.equal(normalizeOciRefName("foo/bar", "t"), "localhost/foo/bar:latest");
  assert.equal(normalizeOciRefName("docker.io/alpine", "t"), "docker.io/library/alpine:latest");
  assert.equal(normalizeOciRefName("localhost:5000/x:3", "t"), "localhost:5000/x:3");
  assert.equal(
    normalizeOciRefName(`quay.io/a/b:1@sha256:${"a".repeat(64)}`, "t"),
    `quay.io/a/b@sha256:${"a".repeat(64)}`,
  );
  assert.equal(normalizeDockerArchiveTag("busybox:1", "t"), "localhost/busybox:1");
  assert.equal(
    normalizeDockerArchiveTag("index.docker.io/busybox:1", "t"),
    "docker.io/library/busybox:1",
  );
  assert.throws(() => normalizeOciRefName("Upper/x:1", "t"), /must be lowercase/);
  assert.throws(() => normalizeOciRefName("a b", "t"), ArchiveError);
  assert.throws(() => normalizeDockerArchiveTag(`x@sha256:${"a".repeat(64)}`, "t"), /not a tag/);
});

Deno.test("serializeImageConfig writes a config that parses back equal, with a stable image ID", () => {
  const config = {
    architecture: "amd64",
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"], WorkingDir: "/srv", Labels: { a: "b" } },
    rootfs: { type: "layers" as const, diff_ids: [FIXTURE_DIFF_IDS[0]] },
    history: [{ created_by: "denopod import" }],
  };
  const bytes = serializeImageConfig(config);
  assert.equal(
    new TextDecoder().decode(bytes),
    `{"created":"2026-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/srv","Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":["${
      FIXTURE_DIFF_IDS[0]
    }"]},"history":[{"created_by":"denopod import"}]}`,
  );
  assert.deepEqual(parseImageConfig(bytes, "t"), config);
  assert.equal(imageIdOf(serializeImageConfig({ ...config })), imageIdOf(bytes));
});

Deno.test("parseImageConfig reads Docker's null fields as absent and refuses wrong types", () => {
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const base = { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } };
  const parsed = parseImageConfig(
    encode({ ...base, config: { Cmd: null, Entrypoint: null, Env: ["A=1"] } }),
    "t",
  );
  assert.deepEqual(parsed.config, { Env: ["A=1"] });
  assert.throws(
    () => parseImageConfig(encode({ ...base, config: { Cmd: "sh" } }), "cfg"),
    /^ArchiveError: archive: cfg: config\.Cmd is not an array of strings$/,
  );
  assert.throws(
    () => parseImageConfig(encode({ ...base, rootfs: { type: "layers", diff_ids: ["x"] } }), "cfg"),
    /diff_ids\[0\] "x" is not a sha256 digest/,
  );
});

Deno.test("an archive with both layouts (Docker 25+) is read as OCI when its index holds one image, else as docker-archive", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const addDockerManifest = async (dir: string) => {
      await Deno.writeTextFile(
        `${dir}/manifest.json`,
        JSON.stringify([{
          Config: `blobs/sha256/${FIXTURE_ID}`,
          RepoTags: ["fixture:2"],
          Layers: OCI_BLOB_DIGESTS.map((digest) => `blobs/sha256/${digest.slice(7)}`),
        }]),
      );
      await editJson(`${dir}/index.json`, (json) => {
        const index = json as { manifests: Array<{ annotations: Record<string, string> }> };
        index.manifests[0].annotations = {
          "io.containerd.image.name": "docker.io/library/fixture:2",
          "org.opencontainers.image.ref.name": "2",
        };
      });
    };
    const single = await editedFixture(tmp, OCI_FIXTURE, "single", addDockerManifest);
    const double = await editedFixture(tmp, OCI_FIXTURE, "double", async (dir) => {
      await addDockerManifest(dir);
      await editJson(`${dir}/index.json`, (json) => {
        const index = json as { manifests: unknown[] };
        index.manifests.push(index.manifests[0]);
      });
    });
    const a = await openImageArchive(single);
    assert.equal(a.format, "oci-archive");
    assert.deepEqual(a.images.map((i) => [i.id, i.names]), [[
      FIXTURE_ID,
      ["docker.io/library/fixture:2"],
    ]]);
    a.close();
    const b = await openImageArchive(double);
    assert.equal(b.format, "docker-archive");
    assert.deepEqual(b.images.map((i) => [i.id, i.names]), [[FIXTURE_ID, ["localhost/fixture:2"]]]);
    assert.equal(
      b.images[0].layers[0].mediaType,
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
    assert.equal(
      await sha256OfStream(decompressedStream(b.images[0].layers[0].open())),
      FIXTURE_DIFF_IDS[0],
    );
    b.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
