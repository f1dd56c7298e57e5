/**
 * Container IDs and names, and image reference parsing: 64-hex random IDs, docker-style
 * `adjective_surname` names, podman's name rule, and references normalised the way podman
 * does for local images (`busybox` → `localhost/busybox:latest`).
 *
 * @example
 * ```ts
 * const id = generateId();          // "3f9c…" (64 lowercase hex)
 * shortId(id);                      // "3f9c…" (12)
 * randomName();                     // "eloquent_hopper"
 * parseImageReference("busybox");   // { name: "localhost/busybox", tag: "latest", digest: null, … }
 * ```
 * @module
 */
import { InvalidArgError } from "../errors.ts";

/** podman's rule for container names. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Returns a new 64-character lowercase hex ID from the system's secure random source. */
export function generateId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when `s` is a full 64-character lowercase hex ID. */
export function isFullId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/** True when `s` could be a (prefix of an) ID: 1 to 64 lowercase hex characters. */
export function isIdPrefix(s: string): boolean {
  return /^[0-9a-f]{1,64}$/.test(s);
}

/** The 12-character short form of an ID, as `ps` shows it. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/**
 * Throws {@linkcode InvalidArgError} unless `name` matches `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`.
 * The message keeps podman's words: `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`.
 */
export function validateName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgError(
      `invalid container name ${JSON.stringify(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
    );
  }
}

// deno-fmt-ignore
const ADJECTIVES = [
  "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "blissful",
  "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent",
  "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy",
  "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "fervent",
  "festive", "focused", "friendly", "frosty", "gallant", "gifted", "goofy", "gracious",
  "happy", "hopeful", "hungry", "inspiring", "intelligent", "jolly", "keen", "kind",
  "laughing", "loving", "lucid", "magical", "modest", "musing", "nervous", "nice",
  "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pensive", "practical",
  "priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic", "serene", "sharp",
  "silly", "sleepy", "stoic", "strange", "sweet", "tender", "thirsty", "trusting",
  "upbeat", "vibrant", "vigilant", "wizardly", "wonderful", "youthful", "zealous", "zen",
];

// deno-fmt-ignore
const SURNAMES = [
  "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata",
  "austin", "babbage", "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha",
  "bhaskara", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta", "brattain",
  "brown", "carson", "cerf", "chandrasekhar", "chaplygin", "chatelet", "clarke", "colden",
  "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison",
  "einstein", "elion", "engelbart", "euclid", "euler", "fermat", "fermi", "feynman",
  "franklin", "galileo", "gates", "goldberg", "goldstine", "goldwasser", "golick", "goodall",
  "hamilton", "hawking", "heisenberg", "hermann", "herschel", "hertz", "hodgkin", "hoover",
  "hopper", "hugle", "hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot",
  "jones", "kalam", "kapitsa", "kare", "keller", "kepler", "khorana", "kilby", "kirch",
  "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lederberg",
  "lehmann", "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira", "margulis",
  "matsumoto", "maxwell", "mayer", "mccarthy", "mcclintock", "mclean", "meitner", "mendel",
  "mestorf", "minsky", "mirzakhani", "montalcini", "moore", "morse", "murdock", "napier",
  "nash", "neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce",
  "panini", "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras",
  "ptolemy", "raman", "ramanujan", "ride", "ritchie", "robinson", "roentgen", "rosalind",
  "rubin", "saha", "sammet", "shannon", "shaw", "shirley", "shockley", "sinoussi", "snyder",
  "spence", "stallman", "stonebraker", "swanson", "swartz", "swirles", "tesla", "thompson",
  "torvalds", "turing", "varahamihira", "visvesvaraya", "volhard", "wescoff", "wiles",
  "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
];

function pick<T>(list: readonly T[]): T {
  const [r] = crypto.getRandomValues(new Uint32Array(1));
  return list[r % list.length];
}

/**
 * Returns a random `adjective_surname` name, as docker's namesgenerator does; never
 * `boring_wozniak` (Steve Wozniak is not boring).
 */
export function randomName(): string {
  for (;;) {
    const name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
    if (name !== "boring_wozniak") return name;
  }
}

/** An image reference split into its parts, normalised like podman for local images. */
export interface ImageReference {
  /** The full repository name with its registry, e.g. `localhost/busybox`, `docker.io/library/x`. */
  name: string;
  /** The registry part, e.g. `localhost`, `docker.io`, `registry.example.com:5000`. */
  domain: string;
  /** The repository path inside the registry, e.g. `busybox`, `library/x`. */
  path: string;
  /** The tag: the given one, `latest` when neither tag nor digest is given, else null. */
  tag: string | null;
  /** The digest (`sha256:` + 64 hex), or null. */
  digest: string | null;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Parses and normalises an image reference: a name without a registry gets `localhost/` (podman
 * looks local images up so), `docker.io/x` becomes `docker.io/library/x`, a missing tag
 * becomes `latest` unless a digest is given. Throws {@linkcode InvalidArgError}
 * (`invalid reference format`) on a malformed reference or a bare 64-hex ID.
 *
 * @example
 * ```ts
 * parseImageReference("busybox").name;                 // "localhost/busybox"
 * parseImageReference("docker.io/library/x:1").tag;    // "1"
 * formatImageReference(parseImageReference("a/b"));    // "localhost/a/b:latest"
 * ```
 */
export function parseImageReference(ref: string): ImageReference {
  const bad = (why?: string): never => {
    throw new InvalidArgError(
      `invalid reference format${why ? `: ${why}` : ""}: ${JSON.stringify(ref)}`,
    );
  };
  if (ref === "" || ref.length > 4096) bad();
  if (/^[0-9a-f]{64}$/.test(ref)) {
    bad("repository name cannot be a 64-byte hexadecimal string");
  }
  let rest = ref;
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad("bad digest");
  }
  let tag: string | null = null;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) bad("bad tag");
  }
  const parts = rest.split("/");
  let domain = "localhost";
  const first = parts[0];
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    domain = first;
    parts.shift();
    if (!DOMAIN.test(domain)) bad("bad registry name");
  }
  if (parts.length === 0) bad();
  for (const component of parts) {
    if (!COMPONENT.test(component)) {
      bad(component.toLowerCase() === component ? undefined : "repository name must be lowercase");
    }
  }
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  const path = parts.join("/");
  const name = `${domain}/${path}`;
  if (name.length > 255) bad("repository name must not be more than 255 characters");
  if (tag === null && digest === null) tag = "latest";
  return { name, domain, path, tag, digest };
}

/** Formats a parsed reference back to text: `name[:tag][@digest]`. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.name}${ref.tag === null ? "" : `:${ref.tag}`}${
    ref.digest === null ? "" : `@${ref.digest}`
  }`;
}
