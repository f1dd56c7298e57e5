/** IDs, random names, podman's name rule and image reference normalisation. */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import {
  formatImageReference,
  generateId,
  isFullId,
  isIdPrefix,
  parseImageReference,
  randomName,
  shortId,
  validateName,
} from "../lib/util/names.ts";

Deno.test("generateId gives 64 lowercase hex characters, different each time", () => {
  const ids = new Set(Array.from({ length: 200 }, () => generateId()));
  assert.equal(ids.size, 200);
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok(isFullId(id));
    assert.equal(shortId(id), id.slice(0, 12));
    assert.equal(shortId(id).length, 12);
  }
});

Deno.test("randomName is adjective_surname, valid as a name, and never boring_wozniak", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const name = randomName();
    assert.match(name, /^[a-z]+_[a-z]+$/);
    assert.notEqual(name, "boring_wozniak");
    validateName(name);
    seen.add(name);
  }
  assert.ok(seen.size > 1000, `only ${seen.size} distinct names in 5000`);
});

Deno.test("validateName accepts podman's pattern and refuses the rest with its wording", () => {
  for (const good of ["web", "a", "0day", "my_app.v2-1", "A.B"]) validateName(good);
  for (const bad of ["", "_x", "-x", ".x", "bad name", "x/y", "x\ny", "café"]) {
    assert.throws(
      () => validateName(bad),
      (err: unknown) =>
        err instanceof InvalidArgError &&
        err.message ===
          `invalid container name ${
            JSON.stringify(bad)
          }: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
    );
  }
});

Deno.test("isIdPrefix accepts 1 to 64 lowercase hex characters only", () => {
  assert.ok(isIdPrefix("a"));
  assert.ok(isIdPrefix("3f9c0a1b2c3d"));
  assert.ok(isIdPrefix("f".repeat(64)));
  assert.ok(!isIdPrefix(""));
  assert.ok(!isIdPrefix("f".repeat(65)));
  assert.ok(!isIdPrefix("ABC"));
  assert.ok(!isIdPrefix("web"));
  assert.ok(!isFullId("f".repeat(63)));
});

Deno.test("parseImageReference normalises local names like podman", () => {
  const cases: [string, string, string | null, string | null][] = [
    ["busybox", "localhost/busybox", "latest", null],
    ["busybox:1.36", "localhost/busybox", "1.36", null],
    ["localhost/fixture:2", "localhost/fixture", "2", null],
    ["library/busybox", "localhost/library/busybox", "latest", null],
    ["docker.io/library/x:1", "docker.io/library/x", "1", null],
    ["docker.io/x", "docker.io/library/x", "latest", null],
    ["quay.io/org/app", "quay.io/org/app", "latest", null],
    ["registry.example.com:5000/team/app:v1.2", "registry.example.com:5000/team/app", "v1.2", null],
    [`busybox@sha256:${"a".repeat(64)}`, "localhost/busybox", null, `sha256:${"a".repeat(64)}`],
    [`busybox:1@sha256:${"b".repeat(64)}`, "localhost/busybox", "1", `sha256:${"b".repeat(64)}`],
  ];
  for (const [input, name, tag, digest] of cases) {
    const ref = parseImageReference(input);
    assert.deepEqual([ref.name, ref.tag, ref.digest], [name, tag, digest], input);
  }
  assert.equal(formatImageReference(parseImageReference("busybox")), "localhost/busybox:latest");
  assert.equal(
    formatImageReference(parseImageReference("registry.example.com:5000/a:1")),
    "registry.example.com:5000/a:1",
  );
  const ref = parseImageReference("registry.example.com:5000/team/app");
  assert.equal(ref.domain, "registry.example.com:5000");
  assert.equal(ref.path, "team/app");
});

Deno.test("parseImageReference refuses malformed references", () => {
  for (
    const bad of [
      "",
      "BusyBox",
      "busybox:",
      "busybox:-x",
      "busybox@sha256:short",
      "busybox@md5:" + "a".repeat(32),
      "a//b",
      "-a",
      "a b",
      "a".repeat(64).replace(/a/g, "f"),
      "x:" + "t".repeat(129),
    ]
  ) {
    assert.throws(
      () => parseImageReference(bad),
      (err: unknown) =>
        err instanceof InvalidArgError && err.message.startsWith("invalid reference format"),
      bad,
    );
  }
});
