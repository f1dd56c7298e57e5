/**
 * The command table's entries for the commands whose start-up is measured against podman's:
 * `ps`, `inspect`, `images`, `version`; and the flag helpers the whole table shares. A command
 * line that runs one of them is parsed against {@linkcode COMMON_PROGRAM_SPEC}, these alone
 * (`app.ts`), so it never loads the whole table (`commands.ts`, ~60 KB of help text and flags,
 * which includes these entries): a few milliseconds of every such command's start-up.
 * @module
 */
import type { CommandSpec, FlagSpec } from "./table/spec.ts";

/** The program's one-line description (its help's first line). */
export const PROGRAM_SHORT = "Manage containers and images, without a daemon";

/** Flags many commands share, with podman's help texts. */
export const f = {
  format: (help = "Change the output format to JSON or a Go template"): FlagSpec => ({
    name: "format",
    type: "string",
    help,
  }),
  noTrunc: (help = "Do not truncate output"): FlagSpec => ({
    name: "no-trunc",
    type: "bool",
    key: "trunc",
    negates: true,
    help,
  }),
  time: (): FlagSpec => ({
    name: "time",
    short: "t",
    type: "uint",
    help: "Seconds to wait for stop before killing the container",
  }),
  quiet: (help: string): FlagSpec => ({ name: "quiet", short: "q", type: "bool", help }),
  filter: (help: string): FlagSpec => ({
    name: "filter",
    short: "f",
    type: "string",
    repeatable: true,
    valueName: "strings",
    help,
  }),
};

/** Completion of an argument or flag value from the store's container names. */
export const CONTAINERS = "containers" as const;
/** Completion from the store's image names. */
export const IMAGES = "images" as const;

/** `ps`. */
export const ps: CommandSpec = {
  name: "ps",
  short: "List containers",
  long: "Prints out information about the containers",
  usage: "[options]",
  examples: [
    "denopod ps -a",
    'denopod ps -a --format "{{.ID}}  {{.Image}}  {{.Labels}}  {{.Mounts}}"',
    "denopod ps --filter status=exited --filter name=web",
  ],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help: "Show all the containers, default is only running containers",
    },
    f.filter("Filter output based on conditions given"),
    f.format("Pretty-print containers to JSON or using a Go template"),
    {
      name: "last",
      short: "n",
      type: "int",
      help: "Print the n last created containers (all states)",
    },
    {
      name: "latest",
      short: "l",
      type: "bool",
      help: "Act on the latest container denopod is aware of",
    },
    f.noTrunc("Display the extended information"),
    { name: "noheading", type: "bool", help: "Do not print headers" },
    f.quiet("Print the numeric IDs of the containers only"),
    { name: "size", short: "s", type: "bool", help: "Display the total file sizes" },
    {
      name: "sort",
      type: "string",
      valueName: "choice",
      help: "Sort output by: command, created, id, image, names, runningfor, size, status",
      complete: ["command", "created", "id", "image", "names", "runningfor", "size", "status"],
    },
  ],
  action: () => import("./listing.ts").then((m) => m.ps),
};

/** `inspect`. */
export const inspect: CommandSpec = {
  name: "inspect",
  short: "Display the configuration of object denoted by ID",
  long: "Displays the low-level information on an object identified by name or ID.\n" +
    "For more inspection options, see:\n\n    denopod container inspect\n    denopod image inspect",
  usage: "[options] {CONTAINER|IMAGE} [...]",
  examples: [
    "denopod inspect fedora",
    "denopod inspect --type image fedora",
    "denopod inspect CtrID ImgID",
    'denopod inspect --format "imageId: {{.Id}} size: {{.Size}}" fedora',
  ],
  args: [{ name: "name", variadic: true, required: true, complete: CONTAINERS }],
  flags: [
    {
      name: "format",
      short: "f",
      type: "string",
      default: "json",
      help: "Format the output to a Go template or json",
    },
    { name: "size", short: "s", type: "bool", help: "Display total file size" },
    {
      name: "type",
      short: "t",
      type: "string",
      default: "all",
      help: "Specify inspect-object type",
      complete: ["all", "container", "image"],
    },
  ],
  action: () => import("./listing.ts").then((m) => m.inspect),
};

/** `images`. */
export const images: CommandSpec = {
  name: "images",
  short: "List images in local storage",
  long: "Lists images previously pulled to the system or created on the system.",
  usage: "[options] [IMAGE]",
  examples: [
    "denopod images --format json",
    'denopod images --sort repository --format "table {{.ID}} {{.Repository}} {{.Tag}}"',
    "denopod images --filter dangling=true",
  ],
  args: [{ name: "image", complete: IMAGES }],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help: "Show all images (default hides intermediate images)",
    },
    { name: "digests", type: "bool", help: "Show digests" },
    f.filter("Filter output based on conditions provided (default [])"),
    f.format(),
    f.noTrunc(),
    { name: "noheading", short: "n", type: "bool", help: "Do not print column headings" },
    f.quiet("Display only image IDs"),
    {
      name: "sort",
      type: "string",
      default: "created",
      help: "Sort by size, tag, created, id, repository",
      complete: ["created", "id", "repository", "size", "tag"],
    },
  ],
  action: () => import("./images.ts").then((m) => m.images),
};

/** `version`. */
export const version: CommandSpec = {
  name: "version",
  short: "Display the denopod version information",
  long: "Displays denopod version information.",
  usage: "[options]",
  examples: [
    "denopod version",
    "denopod version --format json",
    "denopod version --format {{.Client.Version}}",
  ],
  flags: [{ ...f.format(), short: "f" }],
  action: () => import("./system.ts").then((m) => m.version),
};

/**
 * The program with only the common commands: a command line that runs one of them parses
 * against it exactly as against the whole table (the global flags are the same, and everything
 * after the command's name is the command's own); anything else is left to the whole table.
 */
export const COMMON_PROGRAM_SPEC: CommandSpec = {
  name: "denopod",
  short: PROGRAM_SHORT,
  subcommands: [images, inspect, ps, version],
};
