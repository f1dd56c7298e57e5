/**
 * The side-by-side table: one scenario (images and containers made the same way in podman and in
 * denopod) and the command lines whose answers must agree, with how to compare each. podman
 * 4.3.1's answers are recorded once by `test/fixtures/podman/record.ts` into
 * `test/fixtures/podman/outputs.json`; `test/compat_test.ts` runs denopod through the same
 * scenario and compares field by field, ignoring IDs, times, sizes and paths
 * ({@linkcode normalizeText}, {@linkcode normalizeJson}), and allowing only the differences
 * listed in {@linkcode KNOWN_DIFFERENCES} (the README lists them with their reasons).
 * @module
 */

/** `{TAR}` in a step or case is the busybox rootfs tarball. */
export const TAR = "{TAR}";

/** The scenario, in order, for both programs. */
export const SCENARIO: readonly string[][] = [
  ["import", TAR, "busybox"],
  ["tag", "busybox", "other/box:1"],
  ["import", "--change", "LABEL a=b", TAR, "labeled:1"],
  ["create", "--name", "web", "-l", "app=web", "-l", "tier=front", "busybox", "sleep", "1000"],
  ["run", "-d", "--name", "db", "-l", "app=db", "busybox", "sleep", "1000"],
  ["run", "--name", "done", "busybox", "sh", "-c", "exit 3"],
  ["run", "--name", "echo", "busybox", "sh", "-c", "echo one; echo two >&2"],
  ["create", "--name", "lab", "labeled:1", "true"],
];

/** How a case's output is compared. */
export type CompareMode =
  /** Normalized text, line by line, columns compared without their padding. */
  | "text"
  /** JSON: the same keys in the same order, the same types, the same normalized values. */
  | "json"
  /** JSON: the same keys and types only (values are the host's, e.g. `info`). */
  | "json-shape";

/** One command line of the table. */
export interface CompatCase {
  name: string;
  args: string[];
  mode: CompareMode;
  /**
   * Compare lines (or array elements) as sets: images imported within the same second sort
   * either way by creation time.
   */
  unordered?: boolean;
}

const PS_FIELDS = [
  "ID",
  "Image",
  "ImageID",
  "Command",
  "CreatedHuman",
  "Created",
  "CreatedAt",
  "Status",
  "State",
  "RunningFor",
  "Ports",
  "Names",
  "Labels",
  "Mounts",
  "Pid",
  "ExitCode",
  "Exited",
  "ExitedAt",
  "StartedAt",
  "AutoRemove",
  "Networks",
  "Pod",
  "PodName",
  "IsInfra",
  "Namespaces",
].map((f) => `${f}={{.${f}}}`).join("|");

const IMAGE_FIELDS = [
  "ID",
  "Repository",
  "Tag",
  "Digest",
  "CreatedSince",
  "CreatedAt",
  "Created",
  "Size",
  "ReadOnly",
  "History",
  "Containers",
  "Labels",
  "Dangling",
  "Names",
  "RepoTags",
  "ParentId",
].map((f) => `${f}={{.${f}}}`).join("|");

const ps = (name: string, ...args: string[]): CompatCase => ({
  name: `ps ${name}`,
  args: ["ps", ...args],
  mode: args.includes("json") ? "json" : "text",
});
const names = ["--format", "{{.Names}}"];

/** The command lines compared. */
export const CASES: readonly CompatCase[] = [
  ps("-a json", "-a", "--format", "json"),
  ps("json (running only)", "--format", "json"),
  ps("-a default table", "-a"),
  ps("-a every template field", "-a", "--format", PS_FIELDS),
  ps("-a template escapes", "-a", "--format", "{{.Names}}\\t{{.Status}}"),
  ps("-a --noheading table", "-a", "--noheading", "--format", "table {{.Names}} {{.Status}}"),
  ps("-a --sort names", "-a", "--sort", "names", ...names),
  ps("filter without -a", "--filter", "name=web", ...names),
  ps("same key ORs", "-a", "--filter", "name=w", "--filter", "name=d", ...names),
  ps("different keys AND", "-a", "--filter", "name=d", "--filter", "status=exited", ...names),
  ps("labels AND", "-a", "--filter", "label=app", "--filter", "label=tier", ...names),
  ps("label values", "-a", "--filter", "label=app=web", "--filter", "label=app=db", ...names),
  ps("status=stopped", "-a", "--filter", "status=stopped", ...names),
  ps("status=created", "-a", "--filter", "status=created", ...names),
  ps("exited=3", "-a", "--filter", "exited=3", ...names),
  ps("ancestor full name", "-a", "--filter", "ancestor=localhost/busybox:latest", ...names),
  ps("ancestor short name", "-a", "--filter", "ancestor=busybox", ...names),
  ps("before", "-a", "--filter", "before=db", ...names),
  ps("since", "-a", "--filter", "since=web", ...names),
  ps("name regex", "-a", "--filter", "name=^d", ...names),
  ps("until", "-a", "--filter", "until=2000-01-01", ...names),
  ps("volume", "-a", "--filter", "volume=/x", ...names),
  ps("health", "-a", "--filter", "health=healthy", ...names),
  ps("bad status", "-a", "--filter", "status=bogus"),
  ps("unknown filter", "-a", "--filter", "bogus=1"),
  ps("filter without =", "-a", "--filter", "name"),
  ps("since unknown container", "-a", "--filter", "since=nosuch"),
  ps("-q", "-q"),
  { name: "images default", args: ["images"], mode: "text", unordered: true },
  { name: "images REPO", args: ["images", "busybox"], mode: "text" },
  { name: "images last path part", args: ["images", "box"], mode: "text" },
  { name: "images no match", args: ["images", "nosuch"], mode: "text" },
  {
    name: "images every template field",
    args: ["images", "--format", IMAGE_FIELDS],
    mode: "text",
    unordered: true,
  },
  {
    name: "images reference OR",
    args: ["images", "--filter", "reference=busybox", "--filter", "reference=labeled", "-q"],
    mode: "text",
  },
  {
    name: "images reference AND label",
    args: ["images", "--filter", "reference=busybox", "--filter", "label=a", "-q"],
    mode: "text",
  },
  { name: "images label", args: ["images", "--filter", "label=a=b"], mode: "text" },
  { name: "images dangling", args: ["images", "--filter", "dangling=true"], mode: "text" },
  { name: "images --digests", args: ["images", "--digests"], mode: "text", unordered: true },
  {
    name: "images --sort repository",
    args: ["images", "--sort", "repository", "--format", "{{.Repository}}:{{.Tag}}"],
    mode: "text",
  },
  { name: "images json", args: ["images", "--format", "json"], mode: "json", unordered: true },
  { name: "images bad dangling", args: ["images", "--filter", "dangling=maybe"], mode: "text" },
  { name: "images unknown filter", args: ["images", "--filter", "bogus=1"], mode: "text" },
  { name: "images filter without =", args: ["images", "--filter", "dangling"], mode: "text" },
  { name: "inspect running", args: ["inspect", "db"], mode: "json" },
  { name: "inspect created", args: ["inspect", "web"], mode: "json" },
  { name: "inspect exited", args: ["inspect", "done"], mode: "json" },
  {
    name: "inspect template",
    args: [
      "inspect",
      "--format",
      "{{.State.Status}}\\t{{.Config.StopSignal}}\\t{{.State.Health.Status}}\\t{{.HostConfig.AutoRemove}}\\t{{.Config.Tty}}",
      "db",
    ],
    mode: "text",
  },
  { name: "image inspect", args: ["image", "inspect", "labeled:1"], mode: "json" },
  { name: "info json", args: ["info", "--format", "json"], mode: "json-shape" },
  {
    name: "info template",
    args: [
      "info",
      "--format",
      "{{.Host.OCIRuntime.Name}} {{.Store.ContainerStore.Number}} {{.Store.ImageStore.Number}} {{.Host.Security.Rootless}}",
    ],
    mode: "text",
  },
  { name: "version json", args: ["version", "--format", "json"], mode: "json-shape" },
  { name: "version template", args: ["version", "--format", "{{.Client.Os}}"], mode: "text" },
  { name: "logs -t", args: ["logs", "-t", "echo"], mode: "text" },
  { name: "rm no such container", args: ["rm", "nosuch"], mode: "text" },
  { name: "rm running", args: ["rm", "db"], mode: "text" },
  { name: "rmi no such image", args: ["rmi", "nosuch"], mode: "text" },
  { name: "rmi in use", args: ["rmi", "labeled:1"], mode: "text" },
  { name: "rmi --ignore", args: ["rmi", "-i", "nosuch"], mode: "text" },
  { name: "container exists", args: ["container", "exists", "web"], mode: "text" },
  { name: "container exists missing", args: ["container", "exists", "nosuch"], mode: "text" },
  { name: "image exists missing", args: ["image", "exists", "nosuch"], mode: "text" },
];

/**
 * Differences denopod keeps, by case name and JSON path (`*` any key or index) or `stdout`/
 * `stderr`, each with its reason. Everything else must agree.
 */
export const KNOWN_DIFFERENCES: Record<string, Record<string, string>> = {
  "*": {
    ".GraphDriver.Name": "podman here runs on vfs; denopod always uses overlay",
    ".GraphDriver.Data": "overlay's directories (podman's vfs has none)",
    ".Driver": "podman here runs on vfs; denopod always uses overlay",
    ".State.CgroupPath": "denopod leaves cgroups to runc and does not record their path",
    ".ResolvConfPath":
      "podman's sandbox runs with netns=none (no resolv.conf); denopod's default network is a private namespace with its own resolv.conf",
    ".HostConfig.NetworkMode":
      "podman's sandbox runs with netns=none; denopod's default is a private namespace (`private`)",
    ".EffectiveCaps":
      "denopod grants podman 5's default capabilities: podman 4.3's list less AUDIT_WRITE, MKNOD and NET_RAW",
    ".BoundingCaps": "as EffectiveCaps",
    ".Config.Env":
      "denopod sets container=denopod, HOSTNAME and HOME at create; podman 4.3 adds TERM=xterm and sets HOSTNAME/HOME at start",
    ".Config.Annotations": "denopod writes no podman or CRI-O annotations",
    ".Config.CreateCommand":
      "denopod records its own command line (`denopod --root ... create ...`); podman's starts with /usr/bin/podman and its own flags",
    ".HostConfig.CgroupMode": "denopod does not choose a cgroup namespace mode (runc's default)",
    ".HostConfig.IpcMode":
      "denopod's IPC namespace is private, not shareable with other containers",
    ".HostConfig.PidsLimit": "denopod sets no pids limit (podman: containers.conf's 2048)",
    ".HostConfig.Ulimits":
      "podman's come from the sandbox's containers.conf default_ulimits; denopod sets none",
  },
  "inspect created": {
    ".HostnamePath": "denopod writes the run directory's files at create, podman 4.3 at start",
    ".HostsPath": "denopod writes the run directory's files at create, podman 4.3 at start",
  },
};

/** What a recorded or live run gave. */
export interface CompatOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const HEX64 = /\b[0-9a-f]{64}\b/g;
const HEX12 = /\b[0-9a-f]{12}\b/g;

/** Replaces what legitimately differs between two runs in text: IDs, times, sizes, paths. */
export function normalizeText(text: string): string {
  return text
    .replace(/sha256:[0-9a-f]{64}/g, "<DIGEST>")
    .replace(HEX64, "<ID>")
    .replace(HEX12, "<ID>")
    // Go prints a zone without a name as its offset twice (TZ=Pacific/Chatham: `+1345 +1345`)
    .replace(
      /\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?( ?[+-]\d\d:?\d\d)?( [A-Z]{3,5}| [+-]\d{2,4}|Z)?/g,
      "<TIME>",
    )
    .replace(
      /(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?))( ago)?/g,
      "<AGO>",
    )
    .replace(/-?\d{9,}/g, "<N>")
    .replace(/\b\d+(\.\d+)? ?[kMGT]?B\b/g, "<SIZE>")
    .replace(/(Pid=)\d+/g, "$1<N>")
    .replace(/\/tmp\/[^\s"'|]*/g, "<PATH>")
    .split("\n")
    // columns are padded to the widest value, which differs with the IDs and times
    .map((line) => line.replace(/ {2,}/g, "  ").trimEnd())
    .join("\n");
}

/** Numbers that are the machine's or the moment's: sizes, PIDs, times, memory, counts of bytes. */
const VOLATILE_NUMBERS =
  /^(Size|SizeRw|SizeRootFs|VirtualSize|rootFsSize|rwSize|Pid|ConmonPid|Created|StartedAt|ExitedAt|Built|memFree|memTotal|swapFree|swapTotal|graphRootAllocated|graphRootUsed|cpus|userPercent|systemPercent|idlePercent)$/;

/** A JSON value with IDs, times, sizes, counts of bytes and paths replaced by placeholders. */
export function normalizeJson(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, normalizeJson(v, k)]),
    );
  }
  if (typeof value === "number") return VOLATILE_NUMBERS.test(key) ? "<N>" : value;
  if (typeof value === "string") return normalizeText(value);
  return value;
}
