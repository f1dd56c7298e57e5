import assert from "node:assert/strict";
import { ArchiveError } from "../lib/errors.ts";
import { openImageArchive } from "../lib/storage/archive/reader.ts";
import { writeDockerArchive, writeOciArchive } from "../lib/storage/archive/writer.ts";
import { indexTarFile } from "../lib/storage/archive/outer_tar.ts";
import {
  BASE_ID,
  DOCKER_FIXTURE,
  FIXTURE_DIFF_IDS,
  FIXTURE_ID,
  MULTI_FIXTURE,
  OCI_FIXTURE,
  PODMAN,
  podmanLoad,
  run,
  saveImagesFrom,
  sha256OfFile,
  sha256OfStream,
  writeArchiveFile,
} from "./helpers/archive_fixtures.ts";

async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir();
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("writeDockerArchive writes the same bytes podman save wrote for the two-image fixture", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(MULTI_FIXTURE);
    const images = await saveImagesFrom(archive, tmp);
    archive.close();
    const out = `${tmp}/out.tar`;
    writeArchiveFile(out, (sink) => writeDockerArchive(images, sink));
    assert.equal(await sha256OfFile(out), await sha256OfFile(MULTI_FIXTURE));
  }));

Deno.test("writeDockerArchive of one image read from the OCI fixture equals podman's docker-archive of it", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(OCI_FIXTURE);
    const images = await saveImagesFrom(archive, tmp);
    archive.close();
    const out = `${tmp}/out.tar`;
    writeArchiveFile(out, (sink) => writeDockerArchive(images, sink));
    assert.equal(
      await run("tar", ["-tvf", out]),
      await run("tar", ["-tvf", DOCKER_FIXTURE]),
    );
    assert.equal(await sha256OfFile(out), await sha256OfFile(DOCKER_FIXTURE));
  }));

Deno.test("writeOciArchive writes an OCI layout that reads back as the same images, shared layers once", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(MULTI_FIXTURE);
    const images = await saveImagesFrom(archive, tmp);
    archive.close();
    const out = `${tmp}/out.tar`;
    writeArchiveFile(out, (sink) => writeOciArchive(images, sink));

    const index = await indexTarFile(out);
    const blobs = index.names().filter((name) => name.startsWith("blobs/sha256/"));
    // 2 layers (one shared) + 2 configs + 2 manifests.
    assert.equal(blobs.length, 6);
    assert.equal(await run("tar", ["-xOf", out, "oci-layout"]), '{"imageLayoutVersion": "1.0.0"}');

    const back = await openImageArchive(out);
    try {
      assert.equal(back.format, "oci-archive");
      assert.deepEqual(
        back.images.map((image) => [image.id, image.names]),
        [[FIXTURE_ID, ["localhost/fixture:2"]], [BASE_ID, ["localhost/fixture-base:1"]]],
      );
      const [top, base] = back.images;
      assert.deepEqual(top.layers.map((layer) => layer.diffId), FIXTURE_DIFF_IDS);
      assert.deepEqual(top.layers.map((layer) => layer.blobDigest), FIXTURE_DIFF_IDS);
      assert.equal(base.layers[0], top.layers[0]);
      for (const layer of top.layers) {
        assert.equal(layer.mediaType, "application/vnd.oci.image.layer.v1.tar");
        assert.equal(await sha256OfStream(layer.open()), layer.diffId);
      }
    } finally {
      back.close();
    }
  }));

Deno.test("writeOciArchive gives an unnamed image an index entry without a name", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(DOCKER_FIXTURE);
    const [image] = await saveImagesFrom(archive, tmp);
    archive.close();
    const out = `${tmp}/out.tar`;
    writeArchiveFile(out, (sink) => writeOciArchive([{ ...image, names: [] }], sink));
    const index = JSON.parse(await run("tar", ["-xOf", out, "index.json"]));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].annotations, undefined);
    const back = await openImageArchive(out);
    assert.deepEqual(back.images.map((i) => [i.id, i.names]), [[FIXTURE_ID, []]]);
    back.close();
  }));

Deno.test("the writers refuse a layer file that does not hash to its diff ID, before writing a byte", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(DOCKER_FIXTURE);
    const [image] = await saveImagesFrom(archive, tmp);
    archive.close();
    const top = image.layers[1];
    const bytes = await Deno.readFile(top.tarPath);
    bytes[600] ^= 0x01;
    await Deno.writeFile(top.tarPath, bytes);
    for (const write of [writeDockerArchive, writeOciArchive]) {
      let written = 0;
      assert.throws(
        () => write([image], (chunk) => written += chunk.length),
        (error: unknown) => {
          assert.ok(error instanceof ArchiveError);
          assert.match(
            error.message,
            new RegExp(`but the image config says ${FIXTURE_DIFF_IDS[1]}`),
          );
          return true;
        },
      );
      assert.equal(written, 0);
    }
  }));

Deno.test("the writers refuse layers that do not match the config's diff IDs", () =>
  withTmp(async (tmp) => {
    const archive = await openImageArchive(DOCKER_FIXTURE);
    const [image] = await saveImagesFrom(archive, tmp);
    archive.close();
    const swapped = { ...image, layers: [image.layers[1], image.layers[0]] };
    assert.throws(
      () => writeDockerArchive([swapped], () => {}),
      /layer 0 is sha256:7b47.* but the config says sha256:acc0/,
    );
    const short = { ...image, layers: [image.layers[0]] };
    assert.throws(
      () => writeOciArchive([short], () => {}),
      /1 layers given but the config has 2 diff IDs/,
    );
    const wrongSize = { ...image, layers: [image.layers[0], { ...image.layers[1], size: 1 }] };
    assert.throws(() => writeOciArchive([wrongSize], () => {}), /is 10240 bytes, expected 1/);
  }));

for (
  const [format, write] of [["docker-archive", writeDockerArchive], [
    "oci-archive",
    writeOciArchive,
  ]] as const
) {
  Deno.test({
    name: `podman load accepts our ${format} with the same image ID, names and diff IDs`,
    ignore: PODMAN === undefined || Deno.uid() !== 0,
    fn: () =>
      withTmp(async (tmp) => {
        const archive = await openImageArchive(OCI_FIXTURE);
        const images = await saveImagesFrom(archive, tmp);
        archive.close();
        const out = `${tmp}/out.tar`;
        writeArchiveFile(out, (sink) => write(images, sink));
        const loaded = await podmanLoad(out);
        assert.deepEqual(loaded, [{
          id: FIXTURE_ID,
          names: ["localhost/fixture:2"],
          diffIds: FIXTURE_DIFF_IDS,
        }]);
      }),
  });
}

Deno.test({
  name: "podman load names OCI and docker-archive images as our reader does",
  ignore: PODMAN === undefined || Deno.uid() !== 0,
  fn: () =>
    withTmp(async (tmp) => {
      const archive = await openImageArchive(DOCKER_FIXTURE);
      const [image] = await saveImagesFrom(archive, tmp);
      archive.close();
      const cases: Array<[string, typeof writeDockerArchive]> = [];
      for (const name of ["fixture:2", "foo/bar", "docker.io/alpine", "localhost:5000/x:3"]) {
        cases.push([name, writeOciArchive]);
      }
      for (const name of ["busybox:1", "index.docker.io/busybox:1", "a.b/c:1"]) {
        cases.push([name, writeDockerArchive]);
      }
      for (const [i, [name, write]] of cases.entries()) {
        const out = `${tmp}/case${i}.tar`;
        writeArchiveFile(out, (sink) => write([{ ...image, names: [name] }], sink));
        const ours = await openImageArchive(out);
        const [podman] = await podmanLoad(out);
        assert.deepEqual(ours.images[0].names, podman.names, `${write.name} ${name}`);
        ours.close();
      }
    }),
});
