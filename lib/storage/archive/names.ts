/**
 * Image names as `podman load` (4.3, checked by hand) gives them: the Docker reference grammar
 * and podman's `NormalizeName`, for docker-archive `RepoTags` and OCI `ref.name` annotations
 * alike (`fixture:2` → `localhost/fixture:2`, `docker.io/alpine` →
 * `docker.io/library/alpine:latest`).
 *
 * @example
 * ```ts
 * normalizeDockerArchiveTag("busybox:1", "manifest.json"); // "localhost/busybox:1"
 * normalizeOciRefName("fixture:2", "index.json"); // "localhost/fixture:2"
 * normalizeOciRefName("quay.io/a/b", "index.json"); // "quay.io/a/b:latest"
 * ```
 * @module
 */

import { ArchiveError } from "../../errors.ts";
import { quoteForMessage } from "./message.ts";

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const MAX_NAME_LENGTH = 255;
const DEFAULT_DOMAIN = "docker.io";

/** A parsed image reference: `[domain/]path[:tag][@digest]`. */
interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/**
 * A docker-archive `RepoTags` entry normalised as podman's `load` names the image (the same
 * rule as {@linkcode normalizeOciRefName}: `busybox:1` → `localhost/busybox:1`,
 * `docker.io/busybox:1` → `docker.io/library/busybox:1`). A missing tag reads as `latest`
 * (podman refuses such an entry; Docker never writes one). Throws an ArchiveError naming `what`
 * for a digest reference or anything else that is not a valid tag reference.
 */
export function normalizeDockerArchiveTag(tag: string, what: string): string {
  if (tag.includes("@")) {
    throw new ArchiveError(`archive: ${what}: ${quoteForMessage(tag)} is not a tag`);
  }
  return normalizeOciRefName(tag, what);
}

/**
 * An OCI `org.opencontainers.image.ref.name` (or `io.containerd.image.name`) annotation
 * normalised as podman's `load` names the image: a name whose first component is not a
 * registry (no `.` or `:`, not `localhost`) goes under `localhost/`; `docker.io` names get
 * `library/` when they have one component; a missing tag reads as `latest`; a tag next to a
 * digest is dropped. Throws an ArchiveError naming `what` when the value is not a valid
 * reference (e.g. has upper case in the repository).
 */
export function normalizeOciRefName(name: string, what: string): string {
  const parsed = parseReference(name, what);
  let text = name;
  if (!isRegistry(parsed.domain)) {
    text = `localhost/${format(parsed).replace(/^\/+/, "")}`;
  }
  const reference = parseNormalizedNamed(text, what);
  if (reference.digest !== undefined) return format({ ...reference, tag: undefined });
  return format({ ...reference, tag: reference.tag ?? "latest" });
}

function isRegistry(domain: string): boolean {
  return domain.includes(".") || domain.includes(":") || domain === "localhost";
}

function parseReference(text: string, what: string): Reference {
  const match = REFERENCE.exec(text);
  if (match === null) {
    throw new ArchiveError(
      `archive: ${what}: ${quoteForMessage(text)} is not a valid image reference`,
    );
  }
  const [, domain = "", path, tag, digest] = match;
  const nameLength = (domain === "" ? 0 : domain.length + 1) + path.length;
  if (nameLength > MAX_NAME_LENGTH) {
    throw new ArchiveError(
      `archive: ${what}: ${quoteForMessage(text)} is longer than ${MAX_NAME_LENGTH} characters`,
    );
  }
  return { domain, path, tag, digest };
}

function parseNormalizedNamed(text: string, what: string): Reference {
  if (/^[0-9a-f]{64}$/.test(text)) {
    throw new ArchiveError(
      `archive: ${what}: ${quoteForMessage(text)} is an image ID, not a name`,
    );
  }
  const slash = text.indexOf("/");
  let domain = DEFAULT_DOMAIN;
  let remainder = text;
  if (slash !== -1) {
    const first = text.slice(0, slash);
    if (isRegistry(first) || first.toLowerCase() !== first) {
      domain = first;
      remainder = text.slice(slash + 1);
    }
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = `library/${remainder}`;
  const colon = remainder.indexOf(":");
  const repository = colon === -1 ? remainder : remainder.slice(0, colon);
  if (repository.toLowerCase() !== repository) {
    throw new ArchiveError(
      `archive: ${what}: ${quoteForMessage(text)}: repository name must be lowercase`,
    );
  }
  const reference = parseReference(`${domain}/${remainder}`, what);
  return reference;
}

function format(reference: Reference): string {
  let text = reference.domain === "" ? reference.path : `${reference.domain}/${reference.path}`;
  if (reference.tag !== undefined) text += `:${reference.tag}`;
  if (reference.digest !== undefined) text += `@${reference.digest}`;
  return text;
}
