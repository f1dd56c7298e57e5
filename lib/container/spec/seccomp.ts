/**
 * podman's seccomp profile, converted for runc: `/usr/share/containers/seccomp.json` (Debian's
 * golang-github-containers-common) is in the docker/moby format (`defaultAction`, `archMap`,
 * `syscalls[]` with `includes`/`excludes` by `caps`, `arches`, `minKernel`); runc takes the OCI
 * `linux.seccomp` with the rules already chosen. {@linkcode convertSeccompProfile} chooses them
 * for one architecture, one capability set and one kernel, as containers/common's
 * `seccomp.setupSeccomp` does. {@linkcode loadSeccomp} caches the result on disk per (file
 * mtime and size, architecture, capability set), so a container does not pay the parse and the
 * filtering each time.
 *
 * @example
 * ```ts
 * const seccomp = await loadSeccomp({ profilePath: DEFAULT_SECCOMP_PROFILE, cacheDir: "/var/lib/denopod/cache/seccomp",
 *   capabilities: ["CAP_CHOWN"] });
 * spec.linux.seccomp = seccomp;
 * ```
 * @module
 */
import { join } from "../../util/path.ts";
import { InvalidArgError } from "../../errors.ts";

/** Where podman's profile lives (Debian: golang-github-containers-common). */
export const DEFAULT_SECCOMP_PROFILE = "/usr/share/containers/seccomp.json";

/**
 * The default profile's path: `DENOPOD_SECCOMP_PROFILE` when set (as containers.conf's
 * `seccomp_profile`), else {@linkcode DEFAULT_SECCOMP_PROFILE}.
 */
export function defaultSeccompProfile(): string {
  return Deno.env.get("DENOPOD_SECCOMP_PROFILE") || DEFAULT_SECCOMP_PROFILE;
}

/** One argument condition, as both formats spell it. */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** One rule of the OCI `linux.seccomp`. */
export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp`. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSeccompSyscall[];
}

/** A filter on a rule of the moby format. */
interface MobyFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

/** One rule of the moby format. */
interface MobySyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: MobyFilter;
  excludes?: MobyFilter;
}

/** The moby-format profile podman ships. */
export interface MobySeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: MobySyscall[];
}

/** Go's architecture names (the profile's `arches`) for Deno's. */
const GO_ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
/** libseccomp's names for Deno's architectures. */
const SCMP_ARCH: Record<string, string> = {
  x86_64: "SCMP_ARCH_X86_64",
  aarch64: "SCMP_ARCH_AARCH64",
};

/** `[major, minor]` of a kernel release such as `6.1.0-13-amd64`. */
export function kernelVersion(release: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function kernelAtLeast(kernel: [number, number], min: string): boolean {
  const [major, minor] = kernelVersion(min);
  return kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
}

/** True when a rule's includes and excludes let it apply here. */
function applies(
  rule: MobySyscall,
  goArch: string,
  caps: ReadonlySet<string>,
  kernel: [number, number],
): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.includes(goArch)) return false;
  if (exc.arches?.length && exc.arches.includes(goArch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
  if (exc.caps?.length && exc.caps.some((c) => caps.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  return true;
}

/** What {@linkcode convertSeccompProfile} converts for. */
export interface SeccompTarget {
  /** Deno's architecture name (`Deno.build.arch`). */
  arch: string;
  /** The container's capabilities (`CAP_...`). */
  capabilities: readonly string[];
  /** The kernel's `[major, minor]`. */
  kernel: [number, number];
}

/**
 * Converts a moby-format profile into the OCI `linux.seccomp` for one architecture, capability
 * set and kernel: keeps the rules whose `includes` all hold and whose `excludes` none holds,
 * lists the architecture with its sub-architectures from `archMap`. Throws
 * {@linkcode InvalidArgError} on a profile without `defaultAction`.
 */
export function convertSeccompProfile(
  profile: MobySeccompProfile,
  target: SeccompTarget,
): OciSeccomp {
  if (typeof profile.defaultAction !== "string") {
    throw new InvalidArgError("seccomp profile has no defaultAction");
  }
  const goArch = GO_ARCH[target.arch] ?? target.arch;
  const scmpArch = SCMP_ARCH[target.arch];
  const architectures: string[] = [];
  if (profile.archMap) {
    const entry = profile.archMap.find((a) => a.architecture === scmpArch);
    if (entry) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
  } else if (profile.architectures) {
    architectures.push(...profile.architectures);
  }
  const caps = new Set(target.capabilities);
  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!applies(rule, goArch, caps, target.kernel)) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (names.length === 0) continue;
    const out: OciSeccompSyscall = { names, action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args && rule.args.length > 0) {
      out.args = rule.args.map((a) => ({
        index: a.index,
        value: a.value,
        valueTwo: a.valueTwo ?? 0,
        op: a.op,
      }));
    }
    syscalls.push(out);
  }
  const seccomp: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined) seccomp.defaultErrnoRet = profile.defaultErrnoRet;
  return seccomp;
}

/** Raised when the default profile is missing and the user did not ask for `unconfined`. */
export class SeccompProfileMissingError extends InvalidArgError {}

/** What {@linkcode loadSeccomp} needs. */
export interface LoadSeccompOptions {
  /** The moby-format profile (podman's, or `--security-opt seccomp=PATH`). */
  profilePath: string;
  /** Where converted profiles are cached (under `--root`); none: no cache. */
  cacheDir?: string;
  capabilities: readonly string[];
  /** Defaults to `Deno.build.arch`. */
  arch?: string;
  /** Defaults to this kernel's. */
  kernel?: [number, number];
}

/** Two 32-bit FNV-1a hashes of `text` (different offsets), as 16 hex digits: a file name. */
function cacheKey(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/**
 * The OCI seccomp for a profile file: from the cache when a conversion for the same file
 * (mtime, size), architecture, kernel and capability set is there, else converted and cached
 * (written to a temporary file and renamed, so a reader never sees half of one). A missing
 * profile throws {@linkcode SeccompProfileMissingError} naming it; a malformed one
 * {@linkcode InvalidArgError}.
 */
export async function loadSeccomp(options: LoadSeccompOptions): Promise<OciSeccomp> {
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(options.profilePath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SeccompProfileMissingError(
        `seccomp profile ${options.profilePath} not found: install golang-github-containers-common, or run with --security-opt seccomp=unconfined`,
        { cause: err },
      );
    }
    throw err;
  }
  const arch = options.arch ?? Deno.build.arch;
  const kernel = options.kernel ?? kernelVersion(Deno.osRelease());
  const caps = [...new Set(options.capabilities)].sort();
  let cachePath: string | undefined;
  if (options.cacheDir) {
    const key = cacheKey(
      [options.profilePath, stat.mtime?.getTime() ?? 0, stat.size, arch, kernel.join("."), ...caps]
        .join("\0"),
    );
    cachePath = join(options.cacheDir, `${key}.json`);
    try {
      return JSON.parse(Deno.readTextFileSync(cachePath)) as OciSeccomp;
    } catch {
      // not cached yet (or unreadable): convert again
    }
  }
  let profile: MobySeccompProfile;
  try {
    profile = JSON.parse(await Deno.readTextFile(options.profilePath));
  } catch (err) {
    throw new InvalidArgError(
      `loading seccomp profile ${options.profilePath}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const seccomp = convertSeccompProfile(profile, { arch, capabilities: caps, kernel });
  if (cachePath && options.cacheDir) {
    await Deno.mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${cachePath}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(seccomp), { mode: 0o600 });
    await Deno.rename(tmp, cachePath);
  }
  return seccomp;
}
