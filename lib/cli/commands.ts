/**
 * denopod's command table: every command, its aliases, flags, arguments, help text and examples,
 * and where its action lives (loaded only when the command runs). Parsing, `--help` and
 * `completion` all read this table; see `lib/cli/table/spec.ts` for how to add a command.
 * Help texts follow podman 4.3's wording where denopod does the same thing.
 * @module
 */
import type { CommandSpec, FlagSpec } from "./table/spec.ts";
import { parseSize } from "../util/size.ts";
import { SYSTEMD_RESTART_POLICIES } from "../generate/restart_policies.ts";
import {
  CONTAINERS,
  f,
  IMAGES,
  images,
  inspect,
  PROGRAM_SHORT,
  ps,
  version,
} from "./common_commands.ts";

/** `stop`/`rm --cidfile`. */
const CIDFILE_READ: FlagSpec = {
  name: "cidfile",
  type: "string",
  repeatable: true,
  help: "Read the container ID from the file",
};

/** The flags `create` and `run` share. */
const CREATE_FLAGS: FlagSpec[] = [
  {
    name: "add-host",
    type: "string",
    repeatable: true,
    valueName: "host:ip",
    help: "Add a custom host-to-IP mapping (host:ip) (default [])",
  },
  { name: "cidfile", type: "string", help: "Write the container ID to the file" },
  { name: "dns", type: "string", repeatable: true, help: "Set custom DNS servers" },
  { name: "dns-option", type: "string", repeatable: true, help: "Set custom DNS options" },
  { name: "dns-search", type: "string", repeatable: true, help: "Set custom DNS search domains" },
  { name: "entrypoint", type: "string", help: "Overwrite the default ENTRYPOINT of the image" },
  {
    name: "env",
    short: "e",
    type: "string",
    repeatable: true,
    help: "Set environment variables in container",
  },
  {
    name: "detach-keys",
    type: "string",
    help:
      'Override the key sequence for detaching a container. Format is a single character [a-Z] or a comma separated sequence of `ctrl-<value>`, where `<value>` is one of: `a-z`, `@`, `^`, `[`, `\\`, `]`, `^` or `_` (default "ctrl-p,ctrl-q")',
  },
  { name: "hostname", short: "h", type: "string", help: "Set container hostname" },
  {
    name: "interactive",
    short: "i",
    type: "bool",
    help: "Keep STDIN open even if not attached",
  },
  {
    name: "label",
    short: "l",
    type: "string",
    repeatable: true,
    help: "Set metadata on container",
  },
  { name: "name", type: "string", help: "Assign a name to the container" },
  {
    name: "replace",
    type: "bool",
    help: "If a container with the same name exists, replace it",
  },
  {
    name: "network",
    type: "string",
    help:
      "Connect a container to a network: none, host, private (the default), bridge, or NAME[,NAME]",
    complete: ["none", "host", "private", "bridge"],
  },
  {
    name: "no-hosts",
    type: "bool",
    key: "hosts",
    negates: true,
    help: "Do not create /etc/hosts within the container, instead use the version from the image",
  },
  { name: "ip", type: "string", help: "Specify a static IPv4 address for the container" },
  {
    name: "mac-address",
    type: "string",
    help: "Container MAC address (e.g. 92:d0:c6:0a:29:33)",
  },
  {
    name: "publish",
    short: "p",
    type: "string",
    repeatable: true,
    valueName: "strings",
    help: "Publish a container's port, or a range of ports, to the host (implies --network bridge)",
  },
  {
    name: "publish-all",
    short: "P",
    type: "bool",
    help: "Publish all exposed ports to random ports on the host interfaces",
  },
  { name: "rm", type: "bool", help: "Remove container (and pod if created) after exit" },
  {
    name: "shm-size",
    type: "string",
    parse: parseSize,
    help: "Size of /dev/shm (format: <number>[<unit>], where unit = b, k, m or g)",
  },
  { name: "stop-signal", type: "string", help: "Signal to stop a container. Default is SIGTERM" },
  { name: "tty", short: "t", type: "bool", help: "Allocate a pseudo-TTY for container" },
  {
    name: "stop-timeout",
    type: "uint",
    help:
      "Timeout (in seconds) that containers stopped by user command have to exit. If exceeded, the container will be forcibly stopped via SIGKILL.",
  },
  {
    name: "user",
    short: "u",
    type: "string",
    help: "Username or UID (format: <name|uid>[:<group|gid>])",
  },
  {
    name: "volume",
    short: "v",
    type: "string",
    repeatable: true,
    help: "Bind mount a volume into the container (SOURCE:DEST[:ro|rw])",
    complete: "files",
  },
  { name: "workdir", short: "w", type: "string", help: "Working directory inside the container" },
  ...confinementFlags(),
];

/**
 * The resource, security and mount flags of `create` and `run` (issue 11); their values are
 * checked in lib/container/confinement.ts and mount_flags.ts, at create.
 */
function confinementFlags(): FlagSpec[] {
  const str = (name: string, help: string, short?: string): FlagSpec => ({
    name,
    type: "string",
    help,
    ...(short ? { short } : {}),
  });
  const list = (name: string, help: string): FlagSpec => ({
    name,
    type: "string",
    repeatable: true,
    help,
  });
  const bool = (name: string, help: string): FlagSpec => ({ name, type: "bool", help });
  return [
    list("annotation", "Add annotations to container (key=value)"),
    list("cap-add", "Add capabilities to the container"),
    list("cap-drop", "Drop capabilities from the container (ALL: every one)"),
    str("cpu-shares", "CPU shares (relative weight)", "c"),
    str("cpus", "Number of CPUs. The default is 0.000 which means no limit"),
    str("cpuset-cpus", "CPUs in which to allow execution (0-3, 0,1)"),
    list("device", "Add a host device to the container (HOST[:CTR[:PERMS]])"),
    { ...list("env-file", "Read in a file of environment variables"), complete: "files" },
    bool("init", "Run an init binary (catatonit) inside the container"),
    str("memory", "Memory limit (format: <number>[<unit>], where unit = b, k, m or g)", "m"),
    str("memory-reservation", "Memory soft limit (format: <number>[<unit>])"),
    str("memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    list("mount", "Attach a filesystem mount to the container (type=bind|tmpfs|volume,...)"),
    str("pids-limit", "Tune container pids limit (set -1 for unlimited)"),
    bool("privileged", "Give extended privileges to container"),
    bool("read-only", "Make containers root filesystem read-only"),
    str(
      "restart",
      "Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)",
    ),
    bool(
      "read-only-tmpfs",
      "When running containers in read-only mode mount a read-write tmpfs on /run, /tmp and /var/tmp (default true)",
    ),
    list("security-opt", "Security Options"),
    list("tmpfs", "Mount a temporary filesystem (tmpfs) into a container"),
    list("ulimit", "Ulimit options"),
    str("umask", "Set umask in container (default 0022)"),
  ];
}

/** `--sig-proxy` of the attaching commands. */
const SIG_PROXY: FlagSpec = {
  name: "sig-proxy",
  type: "bool",
  default: true,
  help: "Proxy received signals to the process (non-TTY mode only)",
};

/** `--detach-keys` of the attaching commands (create's is in CREATE_FLAGS). */
const DETACH_KEYS: FlagSpec = {
  name: "detach-keys",
  type: "string",
  help:
    'Select the key sequence for detaching a container. Format is a single character [a-Z] or ctrl-<value> where <value> is one of: a-z, @, ^, [, , or _ (default "ctrl-p,ctrl-q")',
};

const containerArgs = [{ name: "container", variadic: true, required: true, complete: CONTAINERS }];

const create: CommandSpec = {
  name: "create",
  short: "Create but do not start a container",
  long:
    "Creates a new container from the given image and prepares it for running the specified command.\n\n" +
    "The container ID is then printed to stdout. You can then start it at any time with the denopod start <container_id> command. The container will be created with the initial state 'created'.",
  usage: "[options] IMAGE [COMMAND [ARG...]]",
  examples: ["denopod create alpine ls", "denopod create --name myctr -e A=1 alpine sleep 100"],
  args: [{ name: "image", required: true, complete: IMAGES }, { name: "command", variadic: true }],
  flags: CREATE_FLAGS,
  interspersed: false,
  action: () => import("./containers.ts").then((m) => m.create),
};

const mount: CommandSpec = {
  name: "mount",
  short: "Mount a working container's root filesystem",
  long:
    "denopod mount\n  Lists all mounted containers mount points if no container is specified\n\n" +
    "denopod mount CONTAINER-NAME-OR-ID\n  Mounts the specified container and outputs the mountpoint",
  usage: "[options] [CONTAINER...]",
  examples: ["denopod mount", "denopod mount ctrID"],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [f.noTrunc()],
  action: () => import("./containers.ts").then((m) => m.mount),
};

const umount: CommandSpec = {
  name: "unmount",
  aliases: ["umount"],
  short: "Unmounts working container's root filesystem",
  long: "Container storage increments a mount counter each time a container is mounted.\n\n" +
    "When a container is unmounted, the mount counter is decremented. The container's root filesystem is physically unmounted only when the mount counter reaches zero indicating no other processes are using the mount.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: ["denopod unmount ctrID", "denopod unmount --all"],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help: "Unmount all of the currently mounted containers",
    },
    {
      name: "force",
      short: "f",
      type: "bool",
      help: "Force the complete unmount of the specified mounted containers",
    },
  ],
  action: () => import("./containers.ts").then((m) => m.umount),
};

const exportCommand: CommandSpec = {
  name: "export",
  short: "Export container's filesystem contents as a tar archive",
  long:
    "Exports container's filesystem contents as a tar archive and saves it on the local machine.",
  usage: "[options] CONTAINER",
  examples: ["denopod export ctrID > myCtr.tar", 'denopod export --output="myCtr.tar" ctrID'],
  args: [{ name: "container", required: true, complete: CONTAINERS }],
  flags: [
    {
      name: "output",
      short: "o",
      type: "string",
      help: "Write to a specified file (default: stdout, which must be redirected)",
      complete: "files",
    },
  ],
  action: () => import("./containers.ts").then((m) => m.exportContainer),
};

const rm: CommandSpec = {
  name: "rm",
  short: "Remove one or more containers",
  long: "Removes one or more containers from the host. The container name or ID can be used.\n\n" +
    "Command does not remove images. Running or unusable containers will not be removed without the -f option.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: [
    "denopod rm imageID",
    "denopod rm mywebserver myflaskserver 860a4b23",
    "denopod rm --force --all",
    "denopod rm -f c684f0d469f2",
  ],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [
    { name: "all", short: "a", type: "bool", help: "Remove all containers" },
    CIDFILE_READ,
    {
      name: "force",
      short: "f",
      type: "bool",
      help: "Force removal of a running or unusable container",
    },
    {
      name: "ignore",
      short: "i",
      type: "bool",
      help: "Ignore errors when a specified container is missing",
    },
    f.time(),
    {
      name: "volumes",
      short: "v",
      type: "bool",
      help: "Remove anonymous volumes associated with the container",
    },
  ],
  action: () => import("./containers.ts").then((m) => m.rm),
};

const importCommand: CommandSpec = {
  name: "import",
  short: "Import a tarball to create a filesystem image",
  long:
    "Create a container image from the contents of the specified tarball (.tar, .tar.gz, .tgz, .tar.zst).\n\n" +
    "Optionally tag the image. You can specify the instructions using the --change option.",
  usage: "[options] PATH [REFERENCE]",
  examples: [
    "denopod import rootfs.tar.gz busybox:1 --change 'CMD [\"sh\"]'",
    'cat ctr.tar | denopod import --message "importing the ctr.tar tarball" - image-imported',
    "cat ctr.tar | denopod import -",
  ],
  args: [
    { name: "file", required: true, complete: "files" },
    { name: "reference" },
  ],
  flags: [
    {
      name: "change",
      short: "c",
      type: "string",
      repeatable: true,
      help:
        "Apply the following possible instructions to the created image (default []): CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | STOPSIGNAL | USER | VOLUME | WORKDIR",
    },
    { name: "message", short: "m", type: "string", help: "Set commit message for imported image" },
    f.quiet("Suppress output"),
  ],
  action: () => import("./images.ts").then((m) => m.importTarball),
};

const rmi: CommandSpec = {
  name: "rmi",
  short: "Removes one or more images from local storage",
  long: "Removes one or more previously pulled or locally created images.",
  usage: "[options] IMAGE [IMAGE...]",
  examples: [
    "denopod rmi imageID",
    "denopod rmi --force alpine",
    "denopod rmi c4dfb1609ee2 93fd78260bd1 c0ed59d05ff7",
  ],
  args: [{ name: "image", variadic: true, complete: IMAGES }],
  flags: [
    { name: "all", short: "a", type: "bool", help: "Remove all images" },
    { name: "force", short: "f", type: "bool", help: "Force Removal of the image" },
    {
      name: "ignore",
      short: "i",
      type: "bool",
      help: "Ignore errors if a specified image does not exist",
    },
  ],
  action: () => import("./images.ts").then((m) => m.rmi),
};

const run: CommandSpec = {
  name: "run",
  short: "Run a command in a new container",
  long: "Runs a command in a new container from the given image",
  usage: "[options] IMAGE [COMMAND [ARG...]]",
  examples: [
    "denopod run --rm busybox echo hi",
    "denopod run -d --name bg busybox sleep 1000",
    "denopod run --network host -v /srv:/srv:ro busybox ls /srv",
    "denopod run --rm -it busybox sh",
  ],
  args: create.args,
  flags: [
    ...CREATE_FLAGS,
    {
      name: "detach",
      short: "d",
      type: "bool",
      help: "Run container in background and print container ID",
    },
    SIG_PROXY,
  ],
  interspersed: false,
  action: () => import("./lifecycle.ts").then((m) => m.run),
};

const start: CommandSpec = {
  name: "start",
  short: "Start one or more containers",
  long: "Starts one or more containers.  The container name or ID can be used.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: [
    "denopod start 860a4b231279 5421ab43b45",
    "denopod start --attach ctrID",
    "denopod start -a -i ctrID",
    "denopod start --all --filter restart-policy=always",
  ],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [
    {
      name: "all",
      type: "bool",
      help: "Start all containers regardless of their state or configuration",
    },
    {
      name: "attach",
      short: "a",
      type: "bool",
      help: "Attach container's STDOUT and STDERR",
    },
    DETACH_KEYS,
    f.filter("Filter output based on conditions given"),
    { name: "interactive", short: "i", type: "bool", help: "Keep STDIN open even if not attached" },
    SIG_PROXY,
  ],
  action: () => import("./lifecycle.ts").then((m) => m.start),
};

const attach: CommandSpec = {
  name: "attach",
  short: "Attach to a running container",
  long:
    "The denopod attach command allows you to attach to a running container using the container's ID or name, either to view its ongoing output or to control it interactively.\n\n" +
    "You can detach from the container (and leave it running) using a configurable key sequence. The default sequence is ctrl-p,ctrl-q.",
  usage: "[options] CONTAINER",
  examples: ["denopod attach ctrID", "denopod attach --no-stdin ctrID"],
  args: [{ name: "container", required: true, complete: CONTAINERS }],
  flags: [
    DETACH_KEYS,
    {
      name: "no-stdin",
      type: "bool",
      key: "stdin",
      negates: true,
      help: "Do not attach STDIN. The default is false",
    },
    SIG_PROXY,
  ],
  action: () => import("./lifecycle.ts").then((m) => m.attach),
};

const stop: CommandSpec = {
  name: "stop",
  short: "Stop one or more containers",
  long: "Stops one or more running containers.  The container name or ID can be used.\n\n" +
    "  A timeout to forcibly stop the container can also be set but defaults to 10 seconds otherwise.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: [
    "denopod stop ctrID",
    "denopod stop --time 2 mywebserver 6e534f14da9d",
    "denopod stop --all",
  ],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [
    { name: "all", short: "a", type: "bool", help: "Stop all running containers" },
    CIDFILE_READ,
    {
      name: "ignore",
      short: "i",
      type: "bool",
      help: "Ignore errors when a specified container is missing",
    },
    f.time(),
  ],
  action: () => import("./lifecycle.ts").then((m) => m.stop),
};

const kill: CommandSpec = {
  name: "kill",
  short: "Kill one or more running containers with a specific signal",
  long:
    "The main process inside each container specified will be sent SIGKILL, or any signal specified with option --signal.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: [
    "denopod kill mywebserver",
    "denopod kill 860a4b23",
    "denopod kill --signal TERM ctrID",
  ],
  args: containerArgs,
  flags: [
    {
      name: "signal",
      short: "s",
      type: "string",
      default: "KILL",
      help: "Signal to send to the container",
    },
  ],
  action: () => import("./lifecycle.ts").then((m) => m.kill),
};

const wait: CommandSpec = {
  name: "wait",
  short: "Block on one or more containers",
  long: "Block until one or more containers stop and then print their exit codes.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: ["denopod wait ctrID", "denopod wait mywebserver myftpserver"],
  args: containerArgs,
  action: () => import("./lifecycle.ts").then((m) => m.wait),
};

const logs: CommandSpec = {
  name: "logs",
  short: "Fetch the logs of a container",
  long: "Retrieves logs for a container.",
  usage: "[options] CONTAINER",
  examples: [
    "denopod logs ctrID",
    "denopod logs --tail 2 mywebserver",
    "denopod logs --follow=true --since 10m ctrID",
  ],
  args: [{ name: "container", required: true, complete: CONTAINERS }],
  flags: [
    { name: "follow", short: "f", type: "bool", help: "Follow log output.  The default is false" },
    { name: "since", type: "string", help: "Show logs since TIMESTAMP" },
    {
      name: "tail",
      type: "uint",
      help: "Output the specified number of LINES at the end of the logs.  Defaults to all lines",
    },
    { name: "timestamps", short: "t", type: "bool", help: "Output the timestamps in the log" },
  ],
  action: () => import("./lifecycle.ts").then((m) => m.logs),
};

const exec: CommandSpec = {
  name: "exec",
  short: "Run a process in a running container",
  long: "Execute the specified command inside a running container.",
  usage: "[options] CONTAINER COMMAND [ARG...]",
  examples: [
    "denopod exec ctrID ls",
    "denopod exec -w /tmp myCtr pwd",
    "denopod exec --user root ctrID ls",
    "denopod exec -it ctrID sh",
  ],
  args: [
    { name: "container", required: true, complete: CONTAINERS },
    { name: "command", variadic: true, required: true },
  ],
  flags: [
    {
      name: "detach",
      short: "d",
      type: "bool",
      help: "Run the exec session in detached mode (backgrounded)",
    },
    DETACH_KEYS,
    {
      name: "env",
      short: "e",
      type: "string",
      repeatable: true,
      help: "Set environment variables",
    },
    { name: "interactive", short: "i", type: "bool", help: "Keep STDIN open even if not attached" },
    { name: "tty", short: "t", type: "bool", help: "Allocate a pseudo-TTY. The default is false" },
    {
      name: "user",
      short: "u",
      type: "string",
      help:
        "Sets the username or UID used and optionally the groupname or GID for the specified command",
    },
    { name: "workdir", short: "w", type: "string", help: "Working directory inside the container" },
  ],
  interspersed: false,
  action: () => import("./lifecycle.ts").then((m) => m.exec),
};

const pause: CommandSpec = {
  name: "pause",
  short: "Pause all the processes in one or more containers",
  long: "Pauses one or more running containers.  The container name or ID can be used.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: ["denopod pause mywebserver", "denopod pause 860a4b23"],
  args: containerArgs,
  action: () => import("./lifecycle.ts").then((m) => m.pause),
};

const unpause: CommandSpec = {
  name: "unpause",
  short: "Unpause the processes in one or more containers",
  long: "Unpauses one or more previously paused containers.  The container name or ID can be used.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: ["denopod unpause ctrID", "denopod unpause mywebserver 860a4b23"],
  args: containerArgs,
  action: () => import("./lifecycle.ts").then((m) => m.unpause),
};

const restart: CommandSpec = {
  name: "restart",
  short: "Restart one or more containers",
  long: "Restarts one or more running containers. The container ID or name can be used.\n\n" +
    "A timeout before forcibly stopping can be set, but defaults to 10 seconds.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: ["denopod restart ctrID", "denopod restart --time 2 ctrID"],
  args: containerArgs,
  flags: [f.time()],
  action: () => import("./lifecycle.ts").then((m) => m.restart),
};

const load: CommandSpec = {
  name: "load",
  short: "Load image(s) from a tar archive",
  long: "Loads an image from a locally stored archive (tar file) into container storage.",
  usage: "[options]",
  examples: ["denopod load -i images.tar", "denopod load < images.tar"],
  flags: [
    {
      name: "input",
      short: "i",
      type: "string",
      help: "Read from specified archive file (default: stdin)",
      complete: "files",
    },
    f.quiet("Suppress the output"),
  ],
  action: () => import("./transport.ts").then((m) => m.load),
};

const save: CommandSpec = {
  name: "save",
  short: "Save image(s) to an archive",
  long:
    "Save an image to docker-archive or oci-archive on the local machine. Default is docker-archive.",
  usage: "[options] IMAGE [IMAGE...]",
  examples: [
    "denopod save --quiet -o myimage.tar imageID",
    "denopod save --format docker-archive -o ubuntu.tar ubuntu",
    "denopod save -m -o both.tar busybox:1 alpine:3",
  ],
  args: [{ name: "image", variadic: true, required: true, complete: IMAGES }],
  flags: [
    {
      name: "compress",
      type: "bool",
      help: "Accepted for podman compatibility; archives are uncompressed",
    },
    {
      name: "format",
      type: "string",
      default: "docker-archive",
      help: "Save image to oci-archive or docker-archive",
      complete: ["docker-archive", "oci-archive"],
    },
    {
      name: "multi-image-archive",
      short: "m",
      type: "bool",
      help:
        "Interpret additional arguments as images not tags and create a multi-image-archive (only for docker-archive)",
    },
    {
      name: "output",
      short: "o",
      type: "string",
      help: "Write to a specified file (default: stdout, which must be redirected)",
      complete: "files",
    },
    f.quiet("Suppress the output"),
  ],
  action: () => import("./transport.ts").then((m) => m.save),
};

const tag: CommandSpec = {
  name: "tag",
  short: "Add an additional name to a local image",
  long: "Adds one or more additional names to locally-stored image.",
  usage: "IMAGE TARGET_NAME [TARGET_NAME...]",
  examples: ["denopod tag 0e3bbc2 fedora:latest", "denopod tag imageID:latest myNewImage:newTag"],
  args: [
    { name: "image", required: true, complete: IMAGES },
    { name: "name", variadic: true, required: true },
  ],
  action: () => import("./transport.ts").then((m) => m.tag),
};

const untag: CommandSpec = {
  name: "untag",
  short: "Remove a name from a local image",
  long: "Removes one or more names from a locally-stored image.",
  usage: "IMAGE [IMAGE...]",
  examples: ["denopod untag 0e3bbc2", "denopod untag imageID:latest otherImageName:latest"],
  args: [{ name: "image", required: true, complete: IMAGES }, { name: "name", variadic: true }],
  action: () => import("./transport.ts").then((m) => m.untag),
};

const history: CommandSpec = {
  name: "history",
  short: "Show history of a specified image",
  long: "Displays the history of an image.\n\n" +
    "The information can be printed out in an easy to read, or user specified format, and can be truncated.",
  usage: "[options] IMAGE",
  examples: ["denopod history busybox:1"],
  args: [{ name: "image", required: true, complete: IMAGES }],
  flags: [
    f.format("Change the output to JSON or a Go template"),
    {
      name: "human",
      short: "H",
      type: "bool",
      default: true,
      help: "Display sizes and dates in human readable format",
    },
    f.noTrunc("Do not truncate the output"),
    f.quiet("Display the numeric IDs only"),
  ],
  action: () => import("./transport.ts").then((m) => m.history),
};

const imageInspect: CommandSpec = {
  name: "inspect",
  short: "Display the configuration of an image",
  long: "Displays the low-level information of an image identified by name or ID.",
  usage: "[options] IMAGE [IMAGE...]",
  examples: [
    "denopod image inspect alpine",
    'denopod image inspect --format "imageId: {{.Id}} size: {{.Size}}" alpine',
  ],
  args: [{ name: "image", variadic: true, required: true, complete: IMAGES }],
  flags: [{
    name: "format",
    short: "f",
    type: "string",
    default: "json",
    help: "Format the output to a Go template or json",
  }],
  action: () => import("./transport.ts").then((m) => m.imageInspect),
};

const imageExists: CommandSpec = {
  name: "exists",
  short: "Check if an image exists in local storage",
  long:
    "If the named image exists in local storage, denopod image exists exits with 0, otherwise the exit code will be 1.",
  usage: "IMAGE",
  examples: ["denopod image exists ID", "denopod image exists IMAGE || denopod load -i IMAGE.tar"],
  args: [{ name: "image", required: true, complete: IMAGES }],
  action: () => import("./exists.ts").then((m) => m.imageExists),
};

const containerExists: CommandSpec = {
  name: "exists",
  short: "Check if a container exists in local storage",
  long:
    "If the named container exists in local storage, denopod container exists exits with 0, otherwise the exit code will be 1.",
  usage: "[options] CONTAINER",
  examples: [
    "denopod container exists containerID",
    "denopod container exists myctr || denopod run --name myctr [etc...]",
  ],
  args: [{ name: "container", required: true, complete: CONTAINERS }],
  action: () => import("./exists.ts").then((m) => m.containerExists),
};

const containerInspect: CommandSpec = {
  ...inspect,
  short: "Display the configuration of a container",
  long: "Displays the low-level information on a container identified by name or ID.",
  usage: "[options] CONTAINER [CONTAINER...]",
  examples: [
    "denopod container inspect myCtr",
    'denopod container inspect -f "{{.State.Status}}" myCtr',
  ],
  flags: inspect.flags?.filter((flag) => flag.name !== "type"),
  action: () => import("./listing.ts").then((m) => m.containerInspect),
};

const info: CommandSpec = {
  name: "info",
  short: "Display denopod system information",
  long:
    "Display information pertaining to the host, current storage stats, and build of denopod.\n\n" +
    "Useful for the user and when reporting issues.",
  usage: "[options]",
  examples: ["denopod info", "denopod info --format '{{.Store.GraphRoot}}'"],
  flags: [{ ...f.format(), short: "f" }],
  action: () => import("./system.ts").then((m) => m.info),
};

const completion: CommandSpec = {
  name: "completion",
  short: "Generate shell autocompletions",
  long: "Generate shell autocompletions.\nValid arguments are bash, zsh, and fish.\n" +
    "Container and image names are read from the store when completing.",
  usage: "[options] {bash|zsh|fish}",
  examples: [
    "source <(denopod completion bash)",
    "denopod completion zsh -f _denopod",
    "denopod completion fish | source",
  ],
  args: [{ name: "shell", required: true, complete: ["bash", "zsh", "fish"] }],
  flags: [
    {
      name: "file",
      short: "f",
      type: "string",
      help: "Output the completion to file rather than stdout.",
      complete: "files",
    },
  ],
  action: () => import("./completion.ts").then((m) => m.completion),
};

const completeNames: CommandSpec = {
  name: "__complete",
  short: "Print container or image names for shell completion",
  hidden: true,
  usage: "containers|images",
  args: [{ name: "kind", required: true }],
  action: () => import("./completion.ts").then((m) => m.completeNames),
};

const cleanup: CommandSpec = {
  name: "cleanup",
  short: "Finish an exited container (run by its monitor)",
  hidden: true,
  usage: "CONTAINER",
  args: [{ name: "id", required: true }],
  action: () => import("./lifecycle.ts").then((m) => m.cleanup),
};

const refresh: CommandSpec = {
  name: "refresh",
  short: "Refresh container state",
  long:
    "Performs consistency checks on container state, resetting what a reboot would have reset.\n\n" +
    "It happens by itself on the first command after a reboot.",
  usage: "[options]",
  examples: ["denopod system refresh", "denopod system refresh --force"],
  flags: [{
    name: "force",
    type: "bool",
    help: "On a live boot, stop running containers first (else refused)",
  }],
  action: () => import("./system.ts").then((m) => m.refresh),
};

const PRUNE_FILTER: FlagSpec = {
  name: "filter",
  type: "string",
  repeatable: true,
  help: "Provide filter values (e.g. 'label=<key>=<value>', 'until=24h')",
};
const PRUNE_FORCE: FlagSpec = {
  name: "force",
  short: "f",
  type: "bool",
  help: "Do not prompt for confirmation",
};

const containerPrune: CommandSpec = {
  name: "prune",
  short: "Remove all non running containers",
  long: "Removes all non running containers; prints their IDs.",
  usage: "[options]",
  examples: ["denopod container prune -f", "denopod container prune -f --filter until=24h"],
  flags: [PRUNE_FILTER, PRUNE_FORCE],
  action: () => import("./housekeeping.ts").then((m) => m.containerPrune),
};

const imagePrune: CommandSpec = {
  name: "prune",
  short: "Remove unused images",
  long: "Removes dangling images; with --all, every image no container uses.",
  usage: "[options]",
  examples: ["denopod image prune -f", "denopod image prune -f -a --filter label=tmp"],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help: "Remove all images not in use by containers, not just dangling ones",
    },
    PRUNE_FILTER,
    PRUNE_FORCE,
  ],
  action: () => import("./housekeeping.ts").then((m) => m.imagePrune),
};

const systemPrune: CommandSpec = {
  name: "prune",
  short: "Remove unused data",
  long: "Removes stopped containers, dangling images (all unused ones with --all), and the\n" +
    "layer directories an interrupted image removal left behind.",
  usage: "[options]",
  examples: ["denopod system prune -f", "denopod system prune -f -a --filter until=720h"],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help: "Remove all unused data, not just dangling images",
    },
    PRUNE_FILTER,
    PRUNE_FORCE,
    {
      name: "volumes",
      type: "bool",
      help: "Prune volumes",
    },
  ],
  action: () => import("./housekeeping.ts").then((m) => m.systemPrune),
};

const systemCheck: CommandSpec = {
  name: "check",
  short: "Check storage consistency",
  long:
    "Checks the store for leftovers of interrupted commands and damage: processes, runc state,\n" +
    "mounts, layers, container directories, partial output files, the database. Exits 0 when\n" +
    "clean, 1 when something found is not repaired, 125 when a repair failed.",
  usage: "[options]",
  examples: [
    "denopod system check",
    "denopod system check --quick --repair",
    "denopod system check --format json",
  ],
  flags: [
    {
      name: "force",
      short: "f",
      type: "bool",
      help: "With --repair, also remove images whose layers are damaged",
    },
    { name: "format", type: "string", help: "Change the output format to JSON" },
    {
      name: "max",
      short: "m",
      type: "string",
      default: "24h",
      help: "Unused layers older than this are taken for cancelled imports",
    },
    {
      name: "quick",
      short: "q",
      type: "bool",
      help: "Skip the slow check (re-hashing every image layer)",
    },
    { name: "repair", short: "r", type: "bool", help: "Remove inconsistent images and containers" },
  ],
  action: () => import("./housekeeping_check.ts").then((m) => m.systemCheck),
};

const systemDf: CommandSpec = {
  name: "df",
  short: "Show denopod disk usage",
  long: "Show disk usage of images, containers and volumes, from the sizes the store keeps.",
  usage: "[options]",
  examples: ["denopod system df", "denopod system df -v", "denopod system df --format json"],
  flags: [
    f.format(),
    { name: "verbose", short: "v", type: "bool", help: "Show detailed information on disk usage" },
  ],
  action: () => import("./housekeeping.ts").then((m) => m.systemDf),
};

const systemReset: CommandSpec = {
  name: "reset",
  short: "Reset denopod storage",
  long: "Removes every container (stopping running ones), image and layer of this store.",
  usage: "[options]",
  examples: ["denopod system reset -f"],
  flags: [PRUNE_FORCE],
  action: () => import("./housekeeping.ts").then((m) => m.systemReset),
};

const systemMetrics: CommandSpec = {
  name: "metrics",
  short: "Print the store's figures for Prometheus",
  long: "Prints gauges and counters in the Prometheus text exposition format (0.0.4), to stdout\n" +
    "or, with --textfile, to a file written atomically (node_exporter's textfile collector).",
  usage: "[options]",
  examples: [
    "denopod system metrics",
    "denopod system metrics --textfile /var/lib/node_exporter/denopod.prom",
  ],
  flags: [{
    name: "textfile",
    type: "string",
    help: "Write the metrics to this file atomically",
    complete: "files",
  }],
  action: () => import("./housekeeping.ts").then((m) => m.systemMetrics),
};

const events: CommandSpec = {
  name: "events",
  short: "Show denopod events",
  long: "Monitor denopod events: every state change of containers and images.\n" +
    "Without --stream=false, new events are printed until interrupted.",
  usage: "[options]",
  examples: [
    "denopod events --stream=false",
    "denopod events --filter event=died --since 1h",
    "denopod events --format json --stream=false",
  ],
  flags: [
    {
      name: "filter",
      short: "f",
      type: "string",
      repeatable: true,
      help: "filter output (type=, event=, container=, image=, label=)",
    },
    f.format(),
    { name: "no-trunc", type: "bool", help: "do not truncate the output", default: true },
    { name: "since", type: "string", help: "show all events created since timestamp" },
    { name: "stream", type: "bool", default: true, help: "stream events and do not exit" },
    { name: "until", type: "string", help: "show all events until timestamp" },
  ],
  action: () => import("./events.ts").then((m) => m.events),
};

const networkCreate: CommandSpec = {
  name: "create",
  short: "Create a network",
  long: "Creates a bridge network (a file in podman's format under --root/networks); netavark\n" +
    "makes its bridge and firewall rules when a container first joins it.",
  usage: "[options] [NAME]",
  examples: [
    "denopod network create --subnet 10.231.0.0/24 web",
    "denopod network create --subnet 10.231.1.0/24 --gateway 10.231.1.254 --disable-dns db",
  ],
  args: [{ name: "name" }],
  flags: [
    { name: "disable-dns", type: "bool", help: "Disable dns plugin" },
    {
      name: "driver",
      short: "d",
      type: "string",
      default: "bridge",
      help: "driver to manage the network",
      complete: ["bridge"],
    },
    { name: "gateway", type: "string", help: "IPv4 or IPv6 gateway for the subnet of its family" },
    { name: "interface-name", type: "string", help: "interface name which is used by the driver" },
    { name: "internal", type: "bool", help: "restrict external access from this network" },
    {
      name: "ipv6",
      type: "bool",
      help: "enable IPv6 (Dual Stack) networking (default: a random unique local /64)",
    },
    { name: "label", type: "string", repeatable: true, help: "set metadata on a network" },
    {
      name: "subnet",
      type: "string",
      repeatable: true,
      help: "subnets in CIDR format, one IPv4 and one IPv6 (default: a free /24 of 10.87.0.0/16)",
    },
  ],
  action: () => import("./network.ts").then((m) => m.networkCreate),
};

const networkLs: CommandSpec = {
  name: "ls",
  aliases: ["list"],
  short: "List networks",
  usage: "[options]",
  examples: ["denopod network ls", "denopod network ls --format json"],
  flags: [
    f.format("Pretty-print networks to JSON or using a Go template"),
    { name: "noheading", type: "bool", help: "Do not print headers" },
    f.noTrunc("Do not truncate the network ID"),
    f.quiet("display only names"),
  ],
  action: () => import("./network.ts").then((m) => m.networkLs),
};

const networkInspect: CommandSpec = {
  name: "inspect",
  short: "Displays the raw network configuration for one or more networks",
  usage: "[options] NETWORK [NETWORK...]",
  examples: ["denopod network inspect web", "denopod network inspect --format '{{.subnets}}' web"],
  args: [{ name: "network", required: true, variadic: true }],
  flags: [f.format("Pretty-print network to JSON or using a Go template")],
  action: () => import("./network.ts").then((m) => m.networkInspect),
};

const networkExists: CommandSpec = {
  name: "exists",
  short: "Check if a network exists",
  long: "If the named network exists, denopod network exists exits with 0, otherwise 1.",
  usage: "NETWORK",
  examples: ["denopod network exists web"],
  args: [{ name: "network", required: true }],
  action: () => import("./network.ts").then((m) => m.networkExists),
};

const networkRm: CommandSpec = {
  name: "rm",
  aliases: ["remove"],
  short: "Remove networks",
  long: "Removes networks. A network a container uses is refused (exit 2) unless -f, which\n" +
    "removes those containers first.",
  usage: "[options] NETWORK [NETWORK...]",
  examples: ["denopod network rm web", "denopod network rm -f web"],
  args: [{ name: "network", required: true, variadic: true }],
  flags: [{
    name: "force",
    short: "f",
    type: "bool",
    help: "remove any containers using network",
  }],
  action: () => import("./network.ts").then((m) => m.networkRm),
};

const networkPrune: CommandSpec = {
  name: "prune",
  short: "Prune unused networks",
  long: "Removes every network no container uses; the default network is never removed.",
  usage: "[options]",
  examples: ["denopod network prune -f"],
  flags: [{ name: "force", short: "f", type: "bool", help: "do not prompt for confirmation" }],
  action: () => import("./network.ts").then((m) => m.networkPrune),
};

const networkConnect: CommandSpec = {
  name: "connect",
  short: "Add container to a network",
  long: "Joins a container to a network; a running one gets the interface at once.",
  usage: "[options] NETWORK CONTAINER",
  examples: ["denopod network connect web ctr1", "denopod network connect --ip 10.89.0.9 web ctr1"],
  args: [{ name: "network", required: true }, {
    name: "container",
    required: true,
    complete: CONTAINERS,
  }],
  flags: [{ name: "ip", type: "string", help: "set a static ipv4 address for this container" }],
  action: () => import("./network.ts").then((m) => m.networkConnect),
};

const networkDisconnect: CommandSpec = {
  name: "disconnect",
  short: "Disconnect a container from a network",
  usage: "[options] NETWORK CONTAINER",
  examples: ["denopod network disconnect web ctr1"],
  args: [{ name: "network", required: true }, {
    name: "container",
    required: true,
    complete: CONTAINERS,
  }],
  flags: [{
    name: "force",
    short: "f",
    type: "bool",
    help: "force removal of container from network",
  }],
  action: () => import("./network.ts").then((m) => m.networkDisconnect),
};

const network: CommandSpec = {
  name: "network",
  short: "Manage networks",
  subcommands: [
    networkConnect,
    networkCreate,
    networkDisconnect,
    networkExists,
    networkInspect,
    networkLs,
    networkPrune,
    networkRm,
  ],
};

const port: CommandSpec = {
  name: "port",
  short: "List port mappings or a specific mapping for the container",
  usage: "[options] CONTAINER [PORT]",
  examples: ["denopod port web", "denopod port web 80", "denopod port -a"],
  args: [{ name: "container", complete: CONTAINERS }, { name: "port" }],
  flags: [{
    name: "all",
    short: "a",
    type: "bool",
    help: "Display port information for all containers",
  }],
  action: () => import("./network.ts").then((m) => m.port),
};

const stats: CommandSpec = {
  name: "stats",
  short: "Display a live stream of container resource usage statistics",
  long:
    "Display percentage of CPU, memory, network I/O, block I/O and PIDs for one or more containers.",
  usage: "[options] [CONTAINER...]",
  examples: [
    "denopod stats --all --no-stream",
    "denopod stats ctrID",
    'denopod stats --no-stream --format "table {{.ID}} {{.Name}} {{.MemUsage}}" ctrID',
  ],
  args: [{ name: "container", variadic: true, complete: CONTAINERS }],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      help:
        "Show all containers (as podman 4.3.1, every container is shown anyway, one not running as zeros)",
    },
    f.format("Pretty-print container statistics to JSON or using a Go template"),
    {
      name: "interval",
      short: "i",
      type: "int",
      default: 5,
      help: "Time in seconds between stats reports",
    },
    { name: "no-reset", type: "bool", help: "Disable resetting the screen between intervals" },
    {
      name: "no-stream",
      type: "bool",
      help: "Disable streaming stats and only pull the first result, default setting is false",
    },
    f.noTrunc(),
  ],
  action: () => import("./stats.ts").then((m) => m.stats),
};

const top: CommandSpec = {
  name: "top",
  short: "Display the running processes of a container",
  long: "Display the running processes of a container, read from /proc. The format descriptors\n" +
    "are ps (1) compatible AIX format descriptors: user pid ppid pcpu etime tty time args\n" +
    "(the default), and comm group rgroup ruser uid nice pgid vsz rss state seccomp hpid huser\n" +
    "huid hgroup.",
  usage: "[options] CONTAINER [FORMAT-DESCRIPTORS...]",
  examples: [
    "denopod top ctrID",
    "denopod top ctrID pid seccomp args %C",
    "denopod top ctrID user,pid,comm",
  ],
  args: [
    { name: "container", required: true, complete: CONTAINERS },
    { name: "descriptors", variadic: true },
  ],
  action: () => import("./stats.ts").then((m) => m.top),
};

/** `spec` under another name (`images` as `image list`); its examples follow lazily. */
function named(spec: CommandSpec, name: string, aliases: string[] = []): CommandSpec {
  return withExamples(
    { ...spec, name, aliases },
    () => spec.examples?.map((e) => e.replace(`denopod ${spec.name}`, `denopod ${name}`)),
  );
}

/** The group's commands, their examples rewritten to `denopod GROUP CMD` when help asks. */
function inGroup(group: string, specs: CommandSpec[]): CommandSpec[] {
  return specs.map((spec) =>
    withExamples(
      { ...spec },
      () =>
        spec.examples?.map((e) =>
          e.startsWith(`denopod ${spec.name}`) && !e.startsWith(`denopod ${group} `)
            ? `denopod ${group}${e.slice("denopod".length)}`
            : e
        ),
    )
  );
}

/** Sets `examples` as a getter: only `--help` pays for computing them. */
function withExamples(
  spec: CommandSpec,
  examples: () => readonly string[] | undefined,
): CommandSpec {
  Object.defineProperty(spec, "examples", { get: examples, enumerable: true });
  return spec;
}

const image: CommandSpec = {
  name: "image",
  short: "Manage images",
  subcommands: inGroup("image", [
    imageExists,
    history,
    importCommand,
    imageInspect,
    named(images, "list", ["ls"]),
    load,
    imagePrune,
    named(rmi, "rm", ["remove"]),
    save,
    tag,
    untag,
  ]),
};

const container: CommandSpec = {
  name: "container",
  short: "Manage containers",
  subcommands: inGroup("container", [
    attach,
    cleanup,
    create,
    exec,
    containerExists,
    exportCommand,
    containerInspect,
    kill,
    named(ps, "list", ["ls", "ps"]),
    logs,
    mount,
    pause,
    port,
    containerPrune,
    restart,
    rm,
    run,
    start,
    stats,
    stop,
    top,
    umount,
    unpause,
    wait,
  ]),
};

const system: CommandSpec = {
  name: "system",
  short: "Manage denopod",
  subcommands: inGroup("system", [
    systemCheck,
    systemDf,
    { ...info, examples: ["denopod system info"] },
    systemMetrics,
    systemPrune,
    refresh,
    systemReset,
  ]),
};

const volumeCreate: CommandSpec = {
  name: "create",
  short: "Create a new volume",
  long: "Creates an empty volume and prepares it to be used by containers. The volume can be\n" +
    "created with a specific name; without one a random name is generated.",
  usage: "[options] [NAME]",
  examples: ["denopod volume create myvol", "denopod volume create --label foo=bar myvol"],
  args: [{ name: "name" }],
  flags: [
    {
      name: "label",
      short: "l",
      type: "string",
      repeatable: true,
      help: "Set metadata for a volume",
    },
    {
      name: "opt",
      short: "o",
      type: "string",
      repeatable: true,
      help: "Set driver specific options",
    },
  ],
  action: () => import("./volumes.ts").then((m) => m.volumeCreate),
};

const volume: CommandSpec = {
  name: "volume",
  short: "Manage volumes",
  subcommands: [
    volumeCreate,
    {
      name: "exists",
      short: "Check if volume exists",
      long: "Check if a volume exists. Exit 0 when it does, 1 when it does not.",
      usage: "VOLUME",
      examples: ["denopod volume exists myvol"],
      args: [{ name: "volume", required: true }],
      action: () => import("./volumes.ts").then((m) => m.volumeExists),
    },
    {
      name: "inspect",
      short: "Display detailed information on one or more volumes",
      long: "Display detailed information on one or more volumes, as a JSON array.",
      usage: "[options] VOLUME [VOLUME...]",
      examples: [
        "denopod volume inspect myvol",
        "denopod volume inspect --format '{{.Mountpoint}}' myvol",
      ],
      args: [{ name: "volume", variadic: true, required: true }],
      flags: [{
        name: "format",
        short: "f",
        type: "string",
        help: "Format volume output using Go template",
      }],
      action: () => import("./volumes.ts").then((m) => m.volumeInspect),
    },
    {
      name: "ls",
      aliases: ["list"],
      short: "List volumes",
      long: "Lists all the volumes that exist.",
      usage: "[options]",
      examples: ["denopod volume ls", "denopod volume ls -q"],
      flags: [
        { name: "format", type: "string", help: "Format volume output using Go template" },
        { name: "quiet", short: "q", type: "bool", help: "Print volume output in quiet mode" },
      ],
      action: () => import("./volumes.ts").then((m) => m.volumeLs),
    },
    {
      name: "prune",
      short: "Remove all unused volumes",
      long: "Remove all volumes not used by at least one container.",
      usage: "[options]",
      examples: ["denopod volume prune -f"],
      flags: [{ name: "force", short: "f", type: "bool", help: "Do not prompt for confirmation" }],
      action: () => import("./volumes.ts").then((m) => m.volumePrune),
    },
    {
      name: "rm",
      aliases: ["remove"],
      short: "Remove one or more volumes",
      long: "Remove one or more volumes. A volume in use by a container is not removed without\n" +
        "--force, which removes those containers first.",
      usage: "[options] VOLUME [VOLUME...]",
      examples: [
        "denopod volume rm myvol",
        "denopod volume rm --force myvol",
        "denopod volume rm -a",
      ],
      args: [{ name: "volume", variadic: true }],
      flags: [
        { name: "all", short: "a", type: "bool", help: "Remove all volumes" },
        {
          name: "force",
          short: "f",
          type: "bool",
          help: "Remove a volume by force, even if it is being used by a container",
        },
      ],
      action: () => import("./volumes.ts").then((m) => m.volumeRm),
    },
  ],
};

const generateSystemd: CommandSpec = {
  name: "systemd",
  short: "Generate systemd units.",
  long: "Generate systemd units for a container.\n" +
    "  The generated units can later be controlled via systemctl(1).",
  usage: "[options] CONTAINER",
  examples: [
    "denopod generate systemd CTR",
    "denopod generate systemd --new --time 10 CTR",
    "denopod generate systemd --files --name CTR",
  ],
  args: [{ name: "container", required: true, complete: CONTAINERS }],
  flags: [
    {
      name: "after",
      type: "string",
      repeatable: true,
      help: "Add dependencies order to the generated unit file",
    },
    {
      name: "container-prefix",
      type: "string",
      default: "container",
      help: "Systemd unit name prefix for containers",
    },
    {
      name: "files",
      short: "f",
      type: "bool",
      help: "Generate .service files instead of printing to stdout",
    },
    f.format("Print the created units in specified format (json)"),
    {
      name: "name",
      short: "n",
      type: "bool",
      help: "Use container/pod names instead of IDs",
    },
    {
      name: "new",
      type: "bool",
      help: "Create a new container or pod instead of starting an existing one",
    },
    { name: "no-header", type: "bool", help: "Skip header generation" },
    {
      name: "requires",
      type: "string",
      repeatable: true,
      help: "Similar to wants, but declares stronger requirement dependencies",
    },
    {
      name: "restart-policy",
      type: "string",
      default: undefined,
      help: 'Systemd restart-policy (default "on-failure")',
      complete: SYSTEMD_RESTART_POLICIES,
    },
    {
      name: "separator",
      type: "string",
      default: "-",
      help: "Systemd unit name separator between name/id and prefix",
    },
    { name: "start-timeout", type: "uint", help: "Start timeout override" },
    { name: "stop-timeout", type: "uint", help: "Stop timeout override (default 10)" },
    {
      name: "time",
      short: "t",
      type: "uint",
      hidden: true,
      help: "Backwards alias for --stop-timeout",
    },
    {
      name: "wants",
      type: "string",
      repeatable: true,
      help: "Add (weak) requirement dependencies to the generated unit file",
    },
  ],
  action: () => import("./generate.ts").then((m) => m.generateSystemd),
};

const generate: CommandSpec = {
  name: "generate",
  short: "Generate structured data based on containers",
  subcommands: [generateSystemd],
};

/** The program: every top-level command and group. */
export const PROGRAM_SPEC: CommandSpec = {
  name: "denopod",
  short: PROGRAM_SHORT,
  subcommands: [
    attach,
    completion,
    completeNames,
    container,
    create,
    events,
    exec,
    exportCommand,
    generate,
    history,
    image,
    images,
    importCommand,
    info,
    inspect,
    kill,
    load,
    logs,
    mount,
    network,
    pause,
    port,
    ps,
    restart,
    rm,
    rmi,
    run,
    save,
    start,
    stats,
    stop,
    system,
    tag,
    top,
    umount,
    unpause,
    untag,
    version,
    volume,
    wait,
  ],
};
