/**
 * A container as the listings show it (`ps`, `inspect`): its config and state as read, and where
 * its files are. No lock, no storage or runc code: a command that only shows containers whose
 * state needs no sync loads this module, not `container.ts` and what it imports (a few
 * milliseconds of start-up). `Container` (`container.ts`) extends it with the lock and the
 * lifecycle.
 *
 * @example
 * ```ts
 * const view = new ContainerView(runtime, runtime.containers.resolve("web"));
 * console.log(view.name, view.state.status, view.runDir);
 * ```
 * @module
 */
import type { ContainerConfig, ContainerState } from "./config.ts";
import type { RuntimeContext } from "./context.ts";
import type { ContainerRecord } from "./repo.ts";

/** One container's rows and paths; see the module doc. */
export class ContainerView {
  #config: ContainerConfig;
  #state: ContainerState;

  constructor(readonly ctx: RuntimeContext, record: ContainerRecord) {
    this.#config = record.config;
    this.#state = record.state;
  }

  /** The 64-hex ID. */
  get id(): string {
    return this.#config.id;
  }
  /** The container's name. */
  get name(): string {
    return this.#config.name;
  }
  /** The config (a copy is not made: do not change it). */
  get config(): Readonly<ContainerConfig> {
    return this.#config;
  }
  /** The state as last loaded or changed. */
  get state(): ContainerState {
    return this.#state;
  }
  /** The bundle directory (`config.json`, `artifacts/`). */
  get bundlePath(): string {
    return this.ctx.paths.bundleDir(this.id);
  }
  /** The run directory on the runroot. */
  get runDir(): string {
    return this.ctx.paths.runDir(this.id);
  }
  /** Where the shm tmpfs is mounted. */
  get shmDir(): string {
    return this.ctx.paths.shmDir(this.id);
  }

  /** Size of the image's layers (kept figures, never a walk), the seed's rootFsSize. */
  rootFsSize(): number {
    return this.ctx.images.get(this.#config.imageId)?.size ?? 0;
  }

  /** Replaces the rows this object holds (a reload, or a config change under the lock). */
  protected setRecord(config: ContainerConfig, state: ContainerState): void {
    this.#config = config;
    this.#state = state;
  }
}
