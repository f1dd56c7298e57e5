/**
 * The container's rundir files — `resolv.conf`, `hosts`, `hostname` — in one import. The
 * builders are pure (inputs in, file text out); `rundir/host.ts` finds the host's address.
 *
 * @example
 * ```ts
 * import { buildHostname, buildHosts, buildResolvConf, primaryHostIp } from "./rundir.ts";
 * ```
 * @module
 */
export {
  buildResolvConf,
  type DnsFlags,
  type NetworkMode,
  parseResolvConf,
  renderResolvConf,
  type ResolvConf,
  type ResolvInputs,
  type ResolvResult,
  SYSTEMD_RESOLVED_STUB,
  validateDnsFlags,
} from "./rundir/resolv.ts";
export {
  buildHosts,
  formatHostsLine,
  HOST_CONTAINERS_INTERNAL,
  type HostEntry,
  type HostsInputs,
  parseAddHost,
  parseHostsFile,
} from "./rundir/hosts.ts";
export {
  buildHostname,
  defaultHostname,
  HOST_NAME_MAX,
  validateHostname,
} from "./rundir/hostname.ts";
export { primaryHostIp } from "./rundir/host.ts";
export { assertNoControlChars, isIpAddress } from "./rundir/validate.ts";
