/**
 * `images` as podman 4.3 lists them: `images REPO` and `--filter reference=` match an image when
 * any of its names matches (a glob on the full name, the name without its domain, without its
 * tag, or its last part), and then every name of the image is listed; filters `dangling`,
 * `label`, `reference`, `before`, `since`, `until`, `id`, `readonly`, `containers` (values of one
 * key OR, different keys AND); `--sort created|id|repository|size|tag`; one row per name (one
 * `<none>` row for an untagged image), as a template row ({@linkcode imageReport}) or podman's
 * JSON element ({@linkcode imageJson}).
 * @module
 */
import { InvalidArgError } from "../errors.ts";
import type { RuntimeContext } from "../container/context.ts";
import type { ImageRecord } from "../storage/images.ts";
import { humanSize, parseTimeInput, timeAgo, UtcDate } from "../util/humanize.ts";
import { matchLabels } from "../container/label_match.ts";

/** One listed name of an image. */
export interface ImageListRow {
  image: ImageRecord;
  repository: string;
  tag: string;
}

/** The `--sort` keys `images` accepts. */
export const IMAGE_SORT_KEYS = ["created", "id", "repository", "size", "tag"] as const;

/** Go's path.Match: `*` and `?` stop at `/`, `[...]` classes. */
function globMatch(pattern: string, text: string): boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) return false;
      source += `[${pattern.slice(i + 1, end).replace(/^\^/, "^").replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) {
      source += `\\${pattern[++i]}`;
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(`^${source}$`).test(text);
  } catch {
    return false;
  }
}

/** Splits `localhost/other/box:1` into domain, path and tag. */
function splitName(name: string): { domain: string; path: string; tag: string } {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const hasDomain = first !== "" && (/[.:]/.test(first) || first === "localhost");
  const rest = hasDomain ? name.slice(slash + 1) : name;
  const colon = rest.lastIndexOf(":");
  const tagged = colon > rest.lastIndexOf("/");
  return {
    domain: hasDomain ? first : "",
    path: tagged ? rest.slice(0, colon) : rest,
    tag: tagged ? rest.slice(colon + 1) : "",
  };
}

/** The forms of a name a reference pattern is tried against (podman's candidates). */
function candidates(name: string): string[] {
  const { domain, path, tag } = splitName(name);
  const trimmed = domain ? `${domain}/${path}` : path;
  const last = path.slice(path.lastIndexOf("/") + 1);
  const withTag = (s: string) => (tag ? `${s}:${tag}` : s);
  return [name, path, withTag(last), trimmed, withTag(path), last];
}

/** True when a `reference=` pattern (or `images REPO`) matches one of the image's names. */
export function matchesReference(image: ImageRecord, pattern: string): boolean {
  return image.names.some((name) => candidates(name).some((c) => globMatch(pattern, c)));
}

function parseBool(key: string, value: string): boolean {
  if (/^(1|t|T|TRUE|true|True)$/.test(value)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(value)) return false;
  // podman 4.3's message, with its arguments the other way round
  throw new InvalidArgError(
    `non-boolean value "${key}" for ${value} filter: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

function createdOf(image: ImageRecord): number {
  return Date.parse(image.config.created ?? image.created);
}

/** Builds the `images --filter` predicate; throws InvalidArgError with podman's messages. */
export function imageFilter(
  ctx: RuntimeContext,
  specs: readonly string[],
  now: Date,
): (image: ImageRecord) => boolean {
  const groups = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) {
      throw new InvalidArgError(
        `invalid image filter ${
          JSON.stringify(spec)
        }: must be in the format "filter=value or filter!=value"`,
      );
    }
    const key = spec.slice(0, eq);
    groups.set(key, [...(groups.get(key) ?? []), spec.slice(eq + 1)]);
  }
  const lookupCreated = (key: string, value: string) => {
    const image = ctx.images.find(value);
    if (!image) {
      throw new InvalidArgError(
        `could not find local image for filter filter "${key}"="${value}": ${value}: image not known`,
      );
    }
    return createdOf(image);
  };
  const predicates = [...groups].map(([key, values]): (image: ImageRecord) => boolean => {
    switch (key) {
      case "dangling": {
        const wanted = values.map((v) => parseBool(key, v));
        return (image) => wanted.includes(image.names.length === 0);
      }
      case "readonly": {
        const wanted = values.map((v) => parseBool(key, v));
        return () => wanted.includes(false);
      }
      case "containers": {
        const wanted = values.map((v) => parseBool(key, v));
        return (image) => wanted.includes(ctx.containers.usersOfImage(image.id).length > 0);
      }
      case "label":
        return (image) => values.some((v) => matchLabels([v], image.config.config?.Labels ?? {}));
      case "reference":
        return (image) => values.some((v) => matchesReference(image, v));
      case "id":
        return (image) => values.some((v) => image.id.startsWith(v.replace(/^sha256:/, "")));
      case "before": {
        const edges = values.map((v) => lookupCreated(key, v));
        return (image) => edges.some((edge) => createdOf(image) < edge);
      }
      case "since": {
        const edges = values.map((v) => lookupCreated(key, v));
        return (image) => edges.some((edge) => createdOf(image) > edge);
      }
      case "until": {
        const edges = values.map((v) => parseTimeInput(v, now).getTime());
        return (image) => edges.some((edge) => createdOf(image) < edge);
      }
    }
    throw new InvalidArgError(`unsupported image filter ${JSON.stringify(key)}`);
  });
  return (image) => predicates.every((p) => p(image));
}

/** One row per name of each image (one `<none>` row for an untagged one), sorted for `--sort`. */
export function imageListRows(images: readonly ImageRecord[], sort: string): ImageListRow[] {
  const rows = images.flatMap((image): ImageListRow[] => {
    if (image.names.length === 0) return [{ image, repository: "<none>", tag: "<none>" }];
    return image.names.map((name) => {
      const colon = name.lastIndexOf(":");
      const tagged = colon > name.lastIndexOf("/");
      return {
        image,
        repository: tagged ? name.slice(0, colon) : name,
        tag: tagged ? name.slice(colon + 1) : "<none>",
      };
    });
  });
  const compare: Record<string, (a: ImageListRow, b: ImageListRow) => number> = {
    created: (a, b) => createdOf(b.image) - createdOf(a.image),
    id: (a, b) => a.image.id.localeCompare(b.image.id),
    repository: (a, b) => a.repository.localeCompare(b.repository),
    size: (a, b) => a.image.size - b.image.size,
    tag: (a, b) => a.tag.localeCompare(b.tag),
  };
  return rows.sort(compare[sort] ?? compare.created);
}

/** The image's digest as podman shows it (denopod keeps no manifest: the config digest). */
function digestOf(image: ImageRecord): string {
  return `sha256:${image.id}`;
}

/** RFC 3339 to the second, as Go marshals a time without fraction. */
function rfc3339Seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

/** podman's `images --format json` element for one row. */
export function imageJson(ctx: RuntimeContext, row: ImageListRow): Record<string, unknown> {
  const { image } = row;
  const repos = [...new Set(image.names.map((n) => splitRepo(n)))];
  const created = createdOf(image);
  const labels = image.config.config?.Labels;
  return {
    Id: image.id,
    ParentId: "",
    RepoTags: null,
    RepoDigests: repos.map((repo) => `${repo}@${digestOf(image)}`),
    Size: image.size,
    SharedSize: 0,
    VirtualSize: image.size,
    Labels: labels && Object.keys(labels).length > 0 ? labels : null,
    Containers: ctx.containers.usersOfImage(image.id).length,
    Names: [...image.names],
    Digest: digestOf(image),
    History: [...image.names].reverse(),
    Created: Math.floor(created / 1000),
    CreatedAt: rfc3339Seconds(created),
  };
}

function splitRepo(name: string): string {
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}

/** go-units with a space before the unit, as podman's `images` prints sizes (`2.13 MB`). */
function spacedSize(bytes: number): string {
  return humanSize(bytes).replace(/^([0-9.e+-]+)(.*)$/, "$1 $2");
}

/** The fields an `images --format` template reads, podman's values and types. */
export function imageReport(
  ctx: RuntimeContext,
  row: ImageListRow,
  options: { noTrunc: boolean; now: Date },
): Record<string, unknown> {
  const { image } = row;
  const created = new UtcDate(Math.floor(createdOf(image) / 1000) * 1000);
  const since = timeAgo(created, options.now);
  const repos = [...new Set(image.names.map((n) => splitRepo(n)))];
  return {
    ID: options.noTrunc ? `sha256:${image.id}` : image.id.slice(0, 12),
    Id: image.id,
    Repository: row.repository,
    Tag: row.tag,
    Digest: digestOf(image),
    CreatedSince: since,
    CreatedAt: created,
    Created: since,
    CreatedTime: created,
    Size: spacedSize(image.size),
    VirtualSize: image.size,
    SharedSize: 0,
    ReadOnly: false,
    History: [...image.names].reverse().join(", "),
    Containers: ctx.containers.usersOfImage(image.id).length,
    Labels: new Map(Object.entries(image.config.config?.Labels ?? {})),
    Dangling: image.names.length === 0,
    Names: [...image.names],
    RepoDigests: repos.map((repo) => `${repo}@${digestOf(image)}`),
    RepoTags: [...image.names],
    ParentId: "",
    IsReadOnly: false,
  };
}
