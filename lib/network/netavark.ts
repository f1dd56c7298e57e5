/**
 * The netavark driver: `netavark setup NETNS` / `netavark teardown NETNS` with the options JSON on
 * stdin, as podman runs them, and aardvark-dns for networks with DNS. The binaries are found where
 * distributions put them (Debian: `/usr/lib/podman/`), or at `DENOPOD_NETAVARK` /
 * `DENOPOD_AARDVARK`. aardvark-dns keeps its files in `--config DIR/aardvark-dns` (a folder under
 * the runroot) and is started and stopped by netavark itself.
 *
 * netavark's child aardvark-dns inherits netavark's stdout and may keep it open for as long as it
 * runs, so the answer is read up to its newline, never to end of file.
 *
 * @example
 * ```ts
 * const driver = new Netavark({ configDir: "/run/denopod/networks" });
 * const status = await driver.setup("/run/denopod/netns/ID", options);
 * await driver.teardown("/run/denopod/netns/ID", options);
 * ```
 * @module
 */
import { DenopodError } from "../errors.ts";
import { lookPath } from "../sys/process.ts";
import { acquireLock } from "../sys/lockfile.ts";
import type { NetworkOptions, StatusBlock } from "./types.ts";

/** netavark is missing, or failed. */
export class NetavarkError extends DenopodError {}

const LIBEXEC_DIRS = [
  "/usr/local/libexec/podman",
  "/usr/local/lib/podman",
  "/usr/libexec/podman",
  "/usr/lib/podman",
];

function findHelper(name: string, envName: string): string | undefined {
  const fromEnv = Deno.env.get(envName);
  if (fromEnv !== undefined && fromEnv !== "") {
    try {
      return Deno.statSync(fromEnv).isFile ? fromEnv : undefined;
    } catch {
      return undefined;
    }
  }
  return lookPath(name, [...LIBEXEC_DIRS, Deno.env.get("PATH") ?? ""].join(":")) ?? undefined;
}

/** Path of netavark; throws NetavarkError saying where it looked. */
export function findNetavark(): string {
  const found = findHelper("netavark", "DENOPOD_NETAVARK");
  if (found === undefined) {
    const where = Deno.env.get("DENOPOD_NETAVARK") || `${LIBEXEC_DIRS.join(", ")} or PATH`;
    throw new NetavarkError(
      `netavark not found (looked in ${where}): install the netavark package for bridge networks`,
    );
  }
  return found;
}

/** Path of aardvark-dns, or undefined (then networks work without container names). */
export function findAardvark(): string | undefined {
  return findHelper("aardvark-dns", "DENOPOD_AARDVARK");
}

/** Where the driver keeps aardvark-dns's files. */
export interface NetavarkOptions {
  /** netavark's `--config`: a folder on the runroot. */
  configDir: string;
  /** The binary; found with {@linkcode findNetavark} when absent. */
  binary?: string;
  /**
   * A lockfile held around each run: netavark itself does not serialise two runs on one network
   * (bridge creation, aardvark-dns's files), so podman locks too.
   */
  lockPath?: string;
}

/** Runs netavark; see the module doc. */
export class Netavark {
  readonly binary: string;
  readonly aardvark: string | undefined;

  constructor(readonly options: NetavarkOptions) {
    this.binary = options.binary ?? findNetavark();
    this.aardvark = findAardvark();
  }

  /** Sets up the namespace at `netns`; returns netavark's status, by network name. */
  async setup(netns: string, options: NetworkOptions): Promise<Record<string, StatusBlock>> {
    const answer = await this.#run("setup", netns, options);
    try {
      return JSON.parse(answer) as Record<string, StatusBlock>;
    } catch {
      throw new NetavarkError(`netavark setup printed no status: ${answer.slice(0, 200)}`);
    }
  }

  /** Undoes {@linkcode setup}: interfaces, firewall rules, DNS entries. */
  async teardown(netns: string, options: NetworkOptions): Promise<void> {
    await this.#run("teardown", netns, options);
  }

  async #run(verb: string, netns: string, options: NetworkOptions): Promise<string> {
    await Deno.mkdir(this.options.configDir, { recursive: true, mode: 0o700 });
    const lock = this.options.lockPath ? await acquireLock(this.options.lockPath) : undefined;
    try {
      return await this.#runLocked(verb, netns, options);
    } finally {
      lock?.release();
    }
  }

  async #runLocked(verb: string, netns: string, options: NetworkOptions): Promise<string> {
    const args = ["--config", this.options.configDir];
    if (this.aardvark) args.push("--aardvark-binary", this.aardvark);
    args.push(verb, netns);
    const child = new Deno.Command(this.binary, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(options)));
    await writer.close();
    const reading = readLine(child.stdout);
    const status = await child.status;
    const answer = await reading;
    if (status.success) return answer;
    let message = answer.trim();
    try {
      const parsed = JSON.parse(message) as { error?: string };
      if (typeof parsed.error === "string") message = parsed.error;
    } catch {
      // not JSON: keep the text
    }
    throw new NetavarkError(
      `netavark ${verb}: ${message.split("\n")[0] || `exit code ${status.code}`}`,
    );
  }
}

/** Reads `stream` up to its first newline (or its end), then lets go of it. */
async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.includes("\n")) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}
