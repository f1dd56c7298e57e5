/**
 * The Runtime: what one denopod invocation opens — the roots, the state database, the image and
 * layer stores and the container table — plus lookups by name or ID prefix. Opening it also does
 * the housekeeping every command relies on: the refresh after a reboot (when the runroot's
 * `alive` marker is missing) and the removal of layers an interrupted command left incomplete.
 *
 * @example
 * ```ts
 * const runtime = await Runtime.open({ root: "/tmp/r", runRoot: "/tmp/rr" });
 * try { console.log(runtime.lookupContainer("web").id); } finally { runtime.close(); }
 * ```
 * @module
 */
import { DenopodError, InvalidArgError } from "./errors.ts";
import { DEFAULT_ROOT, DEFAULT_RUNROOT, Paths } from "./paths.ts";
import { isDiskFull, openStateDb, type StateDb } from "./state/db.ts";
import { ImageStore } from "./storage/images.ts";
import type { LayerStore } from "./storage/layers.ts";
import { type ContainerRecord, ContainerRepo } from "./container/repo.ts";
import type { Container } from "./container/container.ts";
import type { ContainerView } from "./container/view.ts";
import {
  DEFAULT_HOST_FILES,
  type HostFiles,
  type OciContext,
  type RuntimeContext,
} from "./container/context.ts";
import type { Runc } from "./oci/runc.ts";
import type { Monitor } from "./oci/monitor.ts";
import { selfCommand } from "./sys/self.ts";
import { aliveMarkerIsCurrent } from "./container/alive_marker.ts";
import { isAbsolute, join, resolve } from "./util/path.ts";
import { hasLayerLeftovers } from "./storage/layer_leftovers.ts";
import { assertNoControlChars } from "./container/rundir/validate.ts";

/** Where the runtime keeps its data; flags win over the environment, which wins over defaults. */
export interface RuntimeOptions {
  root?: string;
  runRoot?: string;
  hostFiles?: HostFiles;
  /**
   * Replay or undo what interrupted commands left (intents whose writer died); true by default.
   * `system check` opens without it, to report them first.
   */
  replay?: boolean;
  /**
   * The command only reads (`ps`, `inspect`, `images`): image and container rows, and containers
   * as {@linkcode ContainerView}s. When the store has nothing to refresh, replay or clean up, the
   * code that handles containers, runc and layers is not loaded at the open (a few milliseconds of
   * start-up), only when a shown container needs a sync ({@linkcode Runtime.containerForDisplay}).
   */
  light?: boolean;
}

/** The modules that handle containers, runc and layers, loaded by an open that needs them. */
interface StoreCode {
  Container: typeof import("./container/container.ts").Container;
  Runc: typeof import("./oci/runc.ts").Runc;
  LayerStore: typeof import("./storage/layers.ts").LayerStore;
}

let storeCode: StoreCode | undefined;

async function loadStoreCode(): Promise<StoreCode> {
  if (storeCode === undefined) {
    const [container, runc, layers] = await Promise.all([
      import("./container/container.ts"),
      import("./oci/runc.ts"),
      import("./storage/layers.ts"),
    ]);
    storeCode = { Container: container.Container, Runc: runc.Runc, LayerStore: layers.LayerStore };
  }
  return storeCode;
}

/** What shows a container from its row: loaded by the first one shown (never for an empty store). */
let displayCode:
  | Promise<typeof import("./container/view.ts") & typeof import("./container/status.ts")>
  | undefined;

function loadDisplayCode() {
  return displayCode ??= Promise.all([
    import("./container/view.ts"),
    import("./container/status.ts"),
  ]).then(([view, status]) => ({ ...view, ...status }));
}

/** For a light open: true when the store holds nothing that needs the store's code now. */
function nothingToHandle(paths: Paths, db: StateDb): boolean {
  return db.get("SELECT 1 AS one FROM intents LIMIT 1") === undefined &&
    aliveMarkerIsCurrent(paths.aliveMarker) && !hasLayerLeftovers(paths, db);
}

/** The error for a use of the store's code by a light runtime that did not load it. */
function notLoaded(what: string): DenopodError {
  return new DenopodError(`internal error: ${what} used by a light runtime (RuntimeOptions.light)`);
}

/** Resolves `--root`/`--runroot` against `DENOPOD_ROOT`/`DENOPOD_RUNROOT` and the defaults. */
export function resolveRoots(options: RuntimeOptions): { root: string; runRoot: string } {
  const root = options.root || Deno.env.get("DENOPOD_ROOT") || DEFAULT_ROOT;
  const runRoot = options.runRoot || Deno.env.get("DENOPOD_RUNROOT") || DEFAULT_RUNROOT;
  for (const [flag, value] of [["--root", root], ["--runroot", runRoot]]) {
    assertNoControlChars(flag, value);
    if (/[:,]/.test(value)) {
      throw new InvalidArgError(
        `${flag} ${JSON.stringify(value)} must not hold ':', ',' or control characters`,
      );
    }
  }
  return {
    root: isAbsolute(root) ? root : resolve(root),
    runRoot: isAbsolute(runRoot) ? runRoot : resolve(runRoot),
  };
}

/** The marker an attached client writes (its PID) when it will finish the container itself. */
export function attachedMarkerPath(paths: Paths, id: string): string {
  return join(paths.runDir(id), "attached-cleanup");
}

function lazyOci(paths: Paths, storeCode: () => StoreCode | undefined): OciContext {
  let runc: Runc | undefined;
  let monitor: Monitor | undefined;
  return {
    get runc() {
      const code = storeCode();
      if (code === undefined) throw notLoaded("runc");
      runc ??= new code.Runc({ root: paths.runcRoot });
      return runc;
    },
    async monitor() {
      if (monitor) return monitor;
      // only commands that start a container load the monitors' code
      const { selectMonitor } = await import("./oci/monitor.ts");
      monitor ??= selectMonitor();
      return monitor;
    },
    cleanupCommand(id: string) {
      // A client attached to the container (`run`, `start -a`) finishes it itself and says so in
      // a marker holding its PID; then the monitor's exit command is one `kill -0`, not a second
      // denopod competing for the CPU. If that client died, the cleanup runs as usual. The marker
      // is read with the shell's own `read` (no `cat` process while the client cleans up).
      return [
        "/bin/sh",
        "-c",
        'm=$1; shift; p=; { read -r p < "$m"; } 2>/dev/null; [ -n "$p" ] && kill -0 "$p" 2>/dev/null && exit 0; exec "$@"',
        "sh",
        attachedMarkerPath(paths, id),
        ...selfCommand(),
        "--root",
        paths.root,
        "--runroot",
        paths.runRoot,
        "container",
        "cleanup",
        id,
      ];
    },
  };
}

/**
 * Replays or undoes the intents interrupted commands left: one query when there are none (the
 * replay code loads only when there are). On a full disk the replay waits for a later command.
 */
async function replayInterrupted(runtime: Runtime): Promise<void> {
  const { IntentLog } = await import("./state/intents.ts");
  const pending = new IntentLog(runtime.db).list();
  if (pending.length === 0) return;
  const { replayIntents } = await import("./housekeeping/replay.ts");
  try {
    await replayIntents(runtime, pending);
  } catch (err) {
    if (!isDiskFull(err)) throw err;
  }
}

/** One invocation's view of denopod's data; see the module doc. */
export class Runtime implements RuntimeContext {
  #code: StoreCode | undefined;
  #layers: LayerStore | undefined;

  private constructor(
    readonly paths: Paths,
    readonly db: StateDb,
    readonly hostFiles: HostFiles,
    code: StoreCode | undefined,
  ) {
    this.#code = code;
    this.images = new ImageStore(db);
    this.#layers = code && new code.LayerStore(paths, db);
    this.containers = new ContainerRepo(db);
    this.oci = lazyOci(paths, () => this.#code);
  }

  /** runc and the monitor. */
  readonly oci: OciContext;

  /** Image rows. */
  readonly images: ImageStore;
  /** Image layers on disk. */
  get layers(): LayerStore {
    if (this.#layers === undefined) throw notLoaded("the layer store");
    return this.#layers;
  }
  /** Container rows. */
  readonly containers: ContainerRepo;

  /** Opens the roots (creating them), the database, and runs the refresh and layer cleanup. */
  static async open(options: RuntimeOptions = {}): Promise<Runtime> {
    const { root, runRoot } = resolveRoots(options);
    const paths = new Paths(root, runRoot);
    for (const dir of [paths.layersDir, paths.tmpDir, paths.locksDir, paths.exitsDir]) {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    const db = openStateDb(paths.stateDb);
    let code: StoreCode | undefined;
    try {
      if (!options.light || !nothingToHandle(paths, db)) code = await loadStoreCode();
    } catch (err) {
      db.close();
      throw err;
    }
    const runtime = new Runtime(paths, db, options.hostFiles ?? DEFAULT_HOST_FILES, code);
    // a full disk: show what there is, change nothing; a light open found nothing to do
    if (db.readOnly || code === undefined) return runtime;
    try {
      if (!aliveMarkerIsCurrent(paths.aliveMarker)) {
        // the first command since boot: only it loads the refresh
        const { refreshIfRebooted } = await import("./container/refresh.ts");
        await refreshIfRebooted(runtime);
      }
      if (options.replay !== false) await replayInterrupted(runtime);
      await runtime.layers.removeIncomplete();
    } catch (err) {
      if (isDiskFull(err)) return runtime; // the housekeeping waits for space; the command runs
      runtime.close();
      throw err;
    }
    return runtime;
  }

  /**
   * Replays the intents interrupted commands left, as the open does: for a command that held a
   * container's lock while the open's replay ran (and so skipped that container's intents).
   */
  async replayInterrupted(): Promise<void> {
    if (!this.db.readOnly && this.#code !== undefined) await replayInterrupted(this);
  }

  /** Finds a container by name, ID or unique ID prefix; throws NoSuchContainerError. */
  lookupContainer(nameOrId: string): Container {
    const record = this.containers.resolve(nameOrId);
    if (this.#code === undefined) throw notLoaded("a container");
    return new this.#code.Container(this, record);
  }

  /** Every container, newest first. */
  allContainers(): Container[] {
    const code = this.#code;
    if (code === undefined) throw notLoaded("a container");
    return this.containers.list().map((record) => new code.Container(this, record));
  }

  /**
   * A container row (`containers.find`, `containers.list`) brought up to date for display (`ps`,
   * `inspect`): a view of the row when it needs no sync; else (runc knows the container, or its
   * storage was left mounted) the container, synced (`syncForDisplay`), the store's code loaded
   * first in a light runtime. Undefined when the container was removed meanwhile.
   */
  async containerForDisplay(record: ContainerRecord): Promise<ContainerView | undefined> {
    const { ContainerView, needsSyncForDisplay } = await loadDisplayCode();
    if (!needsSyncForDisplay(record.state)) return new ContainerView(this, record);
    const [code, { syncForDisplay }] = await Promise.all([
      this.#code ?? loadStoreCode(),
      import("./container/lifecycle/sync.ts"),
    ]);
    if (this.#code === undefined) {
      this.#code = code;
      this.#layers = new code.LayerStore(this.paths, this.db);
    }
    const ctr = new code.Container(this, record);
    return await syncForDisplay(ctr) ? ctr : undefined;
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
