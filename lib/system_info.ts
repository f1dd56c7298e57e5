/**
 * What `info` reports, in podman 4.3's shape: {@linkcode systemInfo} gives the JSON object
 * (`host`, `store`, `registries`, `plugins`, `version`, podman's camelCase keys, with empty
 * values where denopod has no such thing, plus denopod's `host.monitor`), and
 * {@linkcode infoTemplateView} the same data under podman's Go field names, which `--format`
 * templates use (`{{.Host.OCIRuntime.Name}}`, `{{.Store.GraphRoot}}`, `{{.Version.Version}}`).
 * A warning is logged for an old runc.
 * @module
 */
import { Runc, runcSecurityWarning } from "./oci/runc.ts";
import { selectMonitor } from "./oci/monitor.ts";
import { lookPath } from "./sys/process.ts";
import type { Runtime } from "./runtime.ts";
import { logger } from "./log.ts";
import { goArch, versionInfo } from "./version.ts";
import { DEFAULT_CAPABILITIES } from "./container/spec.ts";

const log = logger("info");

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** `/etc/os-release` as podman reports it. */
function distribution(): Record<string, string> {
  const fields = new Map<string, string>();
  for (const line of readText("/etc/os-release").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) fields.set(m[1], m[2].replace(/^"(.*)"$/, "$1"));
  }
  return {
    distribution: fields.get("ID") ?? "",
    version: fields.get("VERSION_ID") ?? "",
    codename: fields.get("VERSION_CODENAME") ?? "",
  };
}

/** CPU time shares since boot, from `/proc/stat` (podman's cpuUtilization). */
function cpuUtilization(): Record<string, number> {
  const fields = readText("/proc/stat").split("\n")[0].split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    fields;
  const total = user + nice + system + idle + iowait + irq + softirq + steal || 1;
  const pct = (n: number) => Math.round((n / total) * 10000) / 100;
  return {
    userPercent: pct(user + nice),
    systemPercent: pct(system + irq + softirq),
    idlePercent: pct(idle + iowait),
  };
}

/** `/proc/uptime` as podman prints it: `0h 28m 3.00s`. */
function uptime(): string {
  const seconds = Number(readText("/proc/uptime").split(" ")[0]) || 0;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h}h ${m}m ${(seconds % 60).toFixed(2)}s`;
}

function cgroupVersion(): string {
  try {
    Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
    return "v2";
  } catch {
    return "v1";
  }
}

/** Gathers the `info` data: podman's JSON keys and order. */
export async function systemInfo(runtime: Runtime): Promise<Record<string, unknown>> {
  const runc = new Runc({ root: runtime.paths.runcRoot });
  let runcVersion = "";
  try {
    const version = await runc.version();
    runcVersion = [
      `runc version ${version.runc}`,
      ...(version.commit ? [`commit: ${version.commit}`] : []),
      ...(version.spec ? [`spec: ${version.spec}`] : []),
      ...(version.go ? [`go: ${version.go}`] : []),
      ...(version.libseccomp ? [`libseccomp: ${version.libseccomp}`] : []),
    ].join("\n");
    const warning = runcSecurityWarning(version);
    if (warning) log.warn(warning);
  } catch (err) {
    runcVersion = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
  const path = Deno.env.get("PATH") ??
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const containers = runtime.allContainers();
  const count = (...statuses: string[]) =>
    containers.filter((c) => statuses.includes(c.state.status)).length;
  const running = count("running", "stopping");
  const paused = count("paused");
  const memory = Deno.systemMemoryInfo();
  const monitor = selectMonitor();
  return {
    host: {
      arch: goArch(),
      buildahVersion: "",
      cgroupManager: "cgroupfs",
      cgroupVersion: cgroupVersion(),
      cgroupControllers: [],
      conmon: {
        package: "",
        path: lookPath("conmon", path) ?? "",
        version: "",
      },
      cpus: navigator.hardwareConcurrency,
      cpuUtilization: cpuUtilization(),
      distribution: distribution(),
      eventLogger: "none",
      hostname: Deno.hostname(),
      idMappings: { gidmap: null, uidmap: null },
      kernel: Deno.osRelease(),
      logDriver: "k8s-file",
      memFree: memory.available,
      memTotal: memory.total,
      networkBackend: "",
      ociRuntime: {
        name: "runc",
        package: "",
        path: lookPath("runc", path) ?? "",
        version: runcVersion,
      },
      os: Deno.build.os,
      remoteSocket: { path: "" },
      serviceIsRemote: false,
      security: {
        apparmorEnabled: false,
        capabilities: DEFAULT_CAPABILITIES.join(","),
        rootless: Deno.uid() !== 0,
        seccompEnabled: false,
        seccompProfilePath: "",
        selinuxEnabled: readText("/sys/fs/selinux/enforce") !== "",
      },
      slirp4netns: { executable: "", package: "", version: "" },
      swapFree: memory.swapFree,
      swapTotal: memory.swapTotal,
      uptime: uptime(),
      linkmode: "static",
      monitor: monitor.name,
    },
    store: {
      configFile: "",
      containerStore: {
        number: containers.length,
        paused,
        running,
        stopped: containers.length - running - paused,
      },
      graphDriverName: "overlay",
      graphOptions: {},
      graphRoot: runtime.paths.root,
      graphRootAllocated: 0,
      graphRootUsed: 0,
      graphStatus: {},
      imageCopyTmpDir: runtime.paths.tmpDir,
      imageStore: { number: runtime.images.list().length },
      runRoot: runtime.paths.runRoot,
      volumePath: "",
    },
    registries: {},
    plugins: { volume: [], network: [], log: ["k8s-file"], authorization: null },
    version: versionInfo(),
  };
}

/** podman's Go field names where they are not the JSON key with its first letter raised. */
const GO_NAMES: Record<string, string> = {
  cgroupVersion: "CgroupsVersion",
  cpus: "CPUs",
  cpuUtilization: "CPUUtilization",
  idMappings: "IDMappings",
  gidmap: "GIDMap",
  uidmap: "UIDMap",
  ociRuntime: "OCIRuntime",
  os: "OS",
  apparmorEnabled: "AppArmorEnabled",
  capabilities: "DefaultCapabilities",
  seccompEnabled: "SECCOMPEnabled",
  seccompProfilePath: "SECCOMPProfilePath",
  selinuxEnabled: "SELinuxEnabled",
  slirp4netns: "Slirp4NetNS",
};

/** The `info` data under podman's Go field names, for `--format` templates. */
export function infoTemplateView(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => infoTemplateView(v));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // the registries and the graph options are maps: their keys stay as they are
    const name = key === "registries" || key === "graphOptions" || key === "graphStatus"
      ? k
      : GO_NAMES[k] ?? k[0].toUpperCase() + k.slice(1);
    out[name] = infoTemplateView(v, k);
  }
  return out;
}
