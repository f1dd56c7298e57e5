/**
 * `image exists` and `container exists`: exit 0 when the object is in the store, 1 when not
 * (podman's codes), printing nothing.
 * @module
 */
import { exitStatus, withRuntime } from "./common.ts";
import type { Invocation } from "./table/spec.ts";

/** `image exists IMAGE`. */
export async function imageExists(this: Invocation, name: string) {
  await withRuntime(this, (runtime) => {
    exitStatus.code = runtime.images.find(name) ? 0 : 1;
  });
}

/** `container exists CONTAINER`. */
export async function containerExists(this: Invocation, name: string) {
  await withRuntime(this, (runtime) => {
    exitStatus.code = runtime.containers.find(name) ? 0 : 1;
  });
}
