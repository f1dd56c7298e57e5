/**
 * What `info` reports: the host, the OCI runtime and monitor (with a warning for an old runc),
 * and the stores' paths and counts.
 * @module
 */
import { Runc, runcSecurityWarning } from "./oci/runc.ts";
import { selectMonitor } from "./oci/monitor.ts";
import type { Runtime } from "./runtime.ts";
import { logger } from "./log.ts";
import { VERSION } from "./version.ts";

const log = logger("info");

/** Gathers the `info` data (podman's field names where they exist). */
export async function systemInfo(runtime: Runtime): Promise<Record<string, unknown>> {
  const runc = new Runc({ root: runtime.paths.runcRoot });
  let runcVersion = "";
  try {
    const version = await runc.version();
    runcVersion = version.runc;
    const warning = runcSecurityWarning(version);
    if (warning) log.warn(warning);
  } catch (err) {
    runcVersion = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
  const containers = runtime.allContainers();
  const count = (status: string) => containers.filter((c) => c.state.status === status).length;
  return {
    host: {
      arch: Deno.build.arch === "x86_64" ? "amd64" : Deno.build.arch,
      os: Deno.build.os,
      hostname: Deno.hostname(),
      kernel: Deno.osRelease(),
      cpus: navigator.hardwareConcurrency,
      memTotal: Deno.systemMemoryInfo().total,
      ociRuntime: { name: "runc", path: "runc", version: runcVersion },
      monitor: selectMonitor().name,
    },
    store: {
      graphDriverName: "overlay",
      graphRoot: runtime.paths.root,
      runRoot: runtime.paths.runRoot,
      containerStore: {
        number: containers.length,
        running: count("running"),
        paused: count("paused"),
        stopped: count("exited") + count("stopped"),
      },
      imageStore: { number: runtime.images.list().length },
    },
    version: { Version: VERSION, DenoVersion: Deno.version.deno },
  };
}
