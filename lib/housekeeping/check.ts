/**
 * `system check`: the full sweep for what no intent recorded. It compares the container rows with
 * runc's state directories, the monitor processes, `/proc/self/mountinfo`, the layer and
 * container directories, lockfiles and exit files; reports intents whose writer died; runs
 * `PRAGMA quick_check`; and, unless `quick`, re-hashes every image layer (replaying its
 * tar-split) against its diff ID. Each problem is a {@linkcode Finding}: one line for a human, a
 * kind and a subject for scripts, and (where one exists) the repair `lib/housekeeping/repair.ts`
 * runs. A container whose lock another process holds, and whatever a live intent covers, is
 * skipped: it is in someone's hands. A container running as recorded is never touched.
 *
 * @example
 * ```ts
 * const findings = await checkStore(runtime, { quick: true, maxAgeMs: 24 * 3600_000 });
 * for (const f of findings) console.log(`${f.kind}: ${f.message}`);
 * ```
 * @module
 */
import { join } from "../util/path.ts";
import { LINK_DIR, linkDir } from "../storage/layer_links.ts";
import type { RuntimeContext } from "../container/context.ts";
import { Container } from "../container/container.ts";
import { isActive, runtimeKnows } from "../container/status.ts";
import { observeContainer } from "../container/lifecycle/sync.ts";
import { type Intent, IntentLog, isStale } from "../state/intents.ts";
import { mountPoints } from "../sys/mount.ts";
import { overlayVolumeSource } from "../container/overlay_volumes.ts";
import { volumeDataDir } from "../container/volume_binds.ts";
import { tryLock } from "../sys/lockfile.ts";
import { containerLayerPaths } from "../storage/overlay.ts";
import { describeIntent } from "./replay.ts";
import { findMonitors, waitGone } from "./processes.ts";
import * as repair from "./repair.ts";

/** The classes of problem `system check` finds. */
export type FindingKind =
  | "database"
  | "intent"
  | "runc-state"
  | "monitor"
  | "mount"
  | "container"
  | "layer"
  | "image"
  | "network"
  | "leftover";

/** One problem found; `fix` is absent when it cannot be repaired. */
export interface Finding {
  kind: FindingKind;
  /** What it is about: an ID or a path. */
  subject: string;
  /** One line saying what is wrong. */
  message: string;
  /** The repair; `needsForce` repairs run only with `--force` (they remove images). */
  fix?: () => Promise<void>;
  needsForce?: boolean;
}

/** Options of {@linkcode checkStore}. */
export interface CheckOptions {
  /** Skip the slow check (re-hashing every image layer). */
  quick: boolean;
  /** Layers no image uses that are older than this are cancelled imports (podman's `--max`). */
  maxAgeMs: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

function listNames(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Counts, per mount point, how many mounts `/proc/self/mountinfo` has there. */
function mountCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of mountPoints()) counts.set(m.mountPoint, (counts.get(m.mountPoint) ?? 0) + 1);
  return counts;
}

/** Runs the sweep; see the module doc. Changes nothing. */
export async function checkStore(ctx: RuntimeContext, options: CheckOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { paths } = ctx;

  const quick = ctx.db.all<{ quick_check: string }>("PRAGMA quick_check");
  if (quick.length !== 1 || quick[0].quick_check !== "ok") {
    findings.push({
      kind: "database",
      subject: paths.stateDb,
      message: `the state database fails its integrity check: ${
        quick.map((r) => r.quick_check).slice(0, 3).join("; ")
      }`,
    });
  }

  // intents: stale ones are findings; live ones mark what is in someone's hands
  const busy = new Set<string>();
  for (const intent of new IntentLog(ctx.db).list()) {
    busy.add(intent.target);
    if (typeof intent.detail.aside === "string") busy.add(intent.detail.aside);
    if (!isStale(intent) || containerLocked(ctx, intent)) continue;
    findings.push(intentFinding(ctx, intent));
  }

  const mounts = mountCounts();
  const expectedMounts = new Set<string>();
  const records = ctx.containers.list();
  const rows = new Set(records.map((r) => r.config.id));

  for (const record of records) {
    const ctr = new Container(ctx, record);
    const id = ctr.id;
    const merged = containerLayerPaths(paths, id).merged;
    if (busy.has(id) || !ctr.tryLock()) {
      busy.add(id);
      expectedMounts.add(merged).add(ctr.shmDir);
      continue;
    }
    try {
      await checkContainer(ctx, ctr, mounts, findings);
      expectedMounts.add(merged).add(ctr.shmDir);
    } finally {
      ctr.unlock();
    }
  }

  // a container whose storage is mounted holds its `:O` overlays and its volumes' mounts
  for (const { config, state } of records) {
    if (!state.mounted) continue;
    config.volumes.forEach((v, index) => {
      if (v.overlay) expectedMounts.add(overlayVolumeSource(paths, config.id, index));
      if (v.volumeName !== undefined) expectedMounts.add(volumeDataDir(paths, v.volumeName));
    });
  }

  // mounts under the roots that no container accounts for
  for (const root of [paths.root, paths.runRoot]) {
    const prefix = `${root}/`;
    for (const [point] of mounts) {
      if (!point.startsWith(prefix) || expectedMounts.has(point)) continue;
      if (point.startsWith(`${paths.runcRoot}/`)) continue; // runc's own
      findings.push({
        kind: "mount",
        subject: point,
        message: `${point} is mounted but no container's state records it`,
        fix: () => Promise.resolve(repair.unmountAll(point)),
      });
    }
  }

  // runc state and monitors that no row accounts for
  for (const id of listNames(paths.runcRoot)) {
    if (rows.has(id) || busy.has(id) || !HEX64.test(id)) continue;
    findings.push({
      kind: "runc-state",
      subject: id,
      message: `runc has state for ${id.slice(0, 12)}, which is no container of this store`,
      fix: () => repair.endStrayProcesses(ctx, id),
    });
  }
  const rowStatus = new Map(records.map((r) => [r.config.id, r.state.status]));
  const runcIds = new Set(listNames(paths.runcRoot));
  for (const monitor of findMonitors(paths)) {
    if (busy.has(monitor.id)) continue;
    const status = rowStatus.get(monitor.id);
    if (status !== undefined && runtimeKnows(status)) continue;
    if (status === undefined && runcIds.has(monitor.id)) continue; // its runc state is reported
    if (status === "exited" && await waitGone(monitor.pid, 1000)) continue; // finishing its exit
    findings.push({
      kind: "monitor",
      subject: String(monitor.pid),
      message: `monitor process ${monitor.pid} holds ${monitor.id.slice(0, 12)}, which is ${
        status === undefined ? "no container of this store" : `recorded as ${status}`
      }`,
      fix: () => repair.endStrayProcesses(ctx, monitor.id),
    });
  }

  checkLayers(ctx, rows, busy, options, findings);
  for (const finding of checkLeftovers(ctx, rows, busy)) findings.push(finding);
  if (!options.quick) await checkLayerContent(ctx, findings);
  return findings;
}

/** True when `intent` is about a container whose lock another process holds (in its hands). */
function containerLocked(ctx: RuntimeContext, intent: Intent): boolean {
  if (!["create", "start", "remove", "export"].includes(intent.kind)) return false;
  const lock = tryLock(ctx.paths.lockPath(intent.target));
  if (lock === null) return true;
  lock.release();
  return false;
}

function intentFinding(ctx: RuntimeContext, intent: Intent): Finding {
  return {
    kind: "intent",
    subject: intent.target,
    message: `${describeIntent(intent)} (process ${intent.pid} is gone)`,
    fix: () => repair.replayIntent(ctx, intent),
  };
}

/** Checks one container (its lock held): runc, storage, rundir, mounts. */
async function checkContainer(
  ctx: RuntimeContext,
  ctr: Container,
  mounts: Map<string, number>,
  findings: Finding[],
): Promise<void> {
  const { paths } = ctx;
  const id = ctr.id;
  const short = `${ctr.name} (${id.slice(0, 12)})`;
  const status = ctr.state.status;
  const hasRuncState = exists(join(paths.runcRoot, id));
  if (runtimeKnows(status)) {
    const seen = await observeContainer(ctr);
    if (seen?.exited) {
      findings.push({
        kind: "container",
        subject: id,
        message: `container ${short} is recorded as ${status} but its process has ended`,
        fix: () => repair.syncContainerState(ctx, id),
      });
      return;
    }
  } else if (hasRuncState) {
    findings.push({
      kind: "runc-state",
      subject: id,
      message: `runc has state for container ${short}, which is recorded as ${status}`,
      fix: () => repair.endStrayProcesses(ctx, id),
    });
  }
  const layer = containerLayerPaths(paths, id);
  const missing = [
    [layer.upper, "RW layer"],
    [ctr.bundlePath, "bundle"],
  ].filter(([path]) => !exists(path)).map(([, what]) => what);
  if (missing.length > 0) {
    findings.push({
      kind: "container",
      subject: id,
      message: `container ${short} has no ${missing.join(" and no ")}`,
      fix: () => repair.removeBrokenContainer(ctx, id),
    });
    return;
  }
  if (!exists(ctr.runDir)) {
    findings.push({
      kind: "container",
      subject: id,
      message: `container ${short} has no run directory`,
      fix: () => repair.remakeRundir(ctx, id),
    });
  }
  if (!isActive(status) && status !== "created" && (ctr.state.netNs || ctr.state.networkStatus)) {
    findings.push({
      kind: "network",
      subject: id,
      message: `container ${short} is ${status} but its network is still set up`,
      fix: () => repair.teardownNetworkOf(ctx, id),
    });
  }
  if (isActive(status)) return; // running as recorded: its mounts are its own
  const want = ctr.state.mounted || runtimeKnows(status) ? 1 : 0;
  const mergedCount = mounts.get(layer.merged) ?? 0;
  const shmCount = mounts.get(ctr.shmDir) ?? 0;
  if (ctr.state.mounted && mergedCount === 0) {
    findings.push({
      kind: "mount",
      subject: id,
      message:
        `container ${short} is recorded as mounted (${ctr.state.mountCount} users) but ${layer.merged} is not mounted`,
      fix: () => repair.forgetMount(ctx, id),
    });
  }
  for (const [point, count] of [[layer.merged, mergedCount], [ctr.shmDir, shmCount]] as const) {
    if (count <= want) continue;
    findings.push({
      kind: "mount",
      subject: point,
      message: want === 0
        ? `${point} is mounted but container ${short}'s state says it is not`
        : `${point} is mounted ${count} times where the state records one mount`,
      fix: () => Promise.resolve(repair.unmountAll(point, want)),
    });
  }
}

/** Layer directories without a row, rows without a directory, unused and incomplete layers. */
function checkLayers(
  ctx: RuntimeContext,
  rows: Set<string>,
  busy: Set<string>,
  options: CheckOptions,
  findings: Finding[],
): void {
  const { paths } = ctx;
  const layerRows = ctx.db.all<{ id: string; complete: number; created: string }>(
    "SELECT id, complete, created FROM layers",
  );
  const known = new Map(layerRows.map((r) => [r.id, r]));
  const used = new Set(
    ctx.db.all<{ id: string }>(
      "SELECT DISTINCT json_each.value AS id FROM images, json_each(images.layers)",
    ).map((r) => r.id),
  );
  const dirs = new Set(listNames(paths.layersDir));
  dirs.delete(LINK_DIR);
  checkLayerLinks(ctx, findings);
  for (const name of dirs) {
    if (busy.has(name) || rows.has(name)) continue;
    const row = known.get(name);
    if (row?.complete === 1) continue;
    if (row || name.startsWith("tmp-") && !name.startsWith("tmp-del-")) {
      const lock = tryLock(paths.lockPath(`layer-${name}`));
      if (lock === null) continue; // being written
      lock.release();
      findings.push({
        kind: "layer",
        subject: name,
        message: `layers/${name} is an incomplete layer nobody is writing`,
        fix: () => repair.removeIncompleteLayer(ctx, name),
      });
      continue;
    }
    findings.push({
      kind: "layer",
      subject: name,
      message: name.startsWith("tmp-del-")
        ? `layers/${name} is a deleted layer's directory that was never removed`
        : `layers/${name} is a layer directory without a row`,
      fix: () => repair.removeLayerDir(ctx, name),
    });
  }
  const now = Date.now();
  for (const row of layerRows) {
    if (busy.has(row.id)) continue;
    if (row.complete === 0) {
      if (dirs.has(row.id)) continue; // reported above
      const lock = tryLock(paths.lockPath(`layer-${row.id}`));
      if (lock === null) continue;
      lock.release();
      findings.push({
        kind: "layer",
        subject: row.id,
        message: `layer row ${row.id} is incomplete and has no directory`,
        fix: () => repair.removeIncompleteLayer(ctx, row.id),
      });
      continue;
    }
    if (!exists(paths.layerDiff(row.id))) {
      const images = imagesUsing(ctx, row.id);
      findings.push({
        kind: images.length > 0 ? "image" : "layer",
        subject: row.id,
        message: images.length > 0
          ? `layer ${row.id.slice(0, 12)} has no directory: images ${
            images.map((i) => i.slice(0, 12)).join(", ")
          } are damaged`
          : `layer row ${row.id.slice(0, 12)} has no directory`,
        fix: () => repair.dropLayer(ctx, row.id),
        needsForce: images.length > 0,
      });
      continue;
    }
    const age = now - Date.parse(row.created);
    if (!used.has(row.id) && age > options.maxAgeMs) {
      findings.push({
        kind: "layer",
        subject: row.id,
        message: `layer ${row.id.slice(0, 12)} is used by no image (a cancelled import or load)`,
        fix: () => repair.dropLayer(ctx, row.id),
      });
    }
  }
}

/** The IDs of the images that use layer `id`. */
export function imagesUsing(ctx: RuntimeContext, id: string): string[] {
  return ctx.db.all<{ id: string }>(
    "SELECT DISTINCT images.id AS id FROM images, json_each(images.layers) WHERE json_each.value = ?",
    id,
  ).map((r) => r.id);
}

/** Container directories, run directories, lockfiles and exit files of containers that are gone. */
function checkLeftovers(ctx: RuntimeContext, rows: Set<string>, busy: Set<string>): Finding[] {
  const { paths } = ctx;
  const found: Finding[] = [];
  const stray = (dir: string, what: string, filter = (name: string) => HEX64.test(name)) => {
    for (const name of listNames(dir)) {
      if (!filter(name)) continue;
      const id = name.replace(/\.lock$/, "");
      if (rows.has(id) || busy.has(id)) continue;
      const path = join(dir, name);
      if (what === "lockfile") {
        const lock = tryLock(path);
        if (lock === null) continue;
        lock.release();
      }
      found.push({
        kind: "leftover",
        subject: path,
        message: `${path} is the ${what} of a container that no longer exists`,
        fix: () => repair.removeLeftover(path),
      });
    }
  };
  stray(join(paths.root, "containers"), "directory");
  stray(join(paths.runRoot, "containers"), "run directory");
  stray(paths.exitsDir, "exit file");
  stray(paths.locksDir, "lockfile", (name) => /^[0-9a-f]{64}\.lock$/.test(name));
  stray(paths.netnsDir, "network namespace");
  for (
    const { container_id: id } of ctx.db.all<{ container_id: string }>(
      `SELECT container_id FROM network_leases UNION SELECT container_id FROM published_ports`,
    )
  ) {
    if (rows.has(id) || busy.has(id)) continue;
    found.push({
      kind: "network",
      subject: id,
      message: `addresses or host ports are held for container ${id}, which no longer exists`,
      fix: () => repair.releaseNetworkRows(ctx, id),
    });
  }
  return found;
}

/** Re-hashes every image layer with a tar-split against its diff ID (the slow check). */
async function checkLayerContent(ctx: RuntimeContext, findings: Finding[]): Promise<void> {
  const rows = ctx.db.all<{ id: string }>("SELECT id FROM layers WHERE complete = 1");
  for (const { id } of rows) {
    if (!exists(ctx.paths.layerDiff(id)) || !ctx.layers.hasTarSplit(id)) continue;
    try {
      await ctx.layers.writeLayerTar(id, () => {});
    } catch (err) {
      const images = imagesUsing(ctx, id);
      findings.push({
        kind: images.length > 0 ? "image" : "layer",
        subject: id,
        message: `layer ${id.slice(0, 12)} is damaged on disk (${
          err instanceof Error ? err.message : String(err)
        })${images.length > 0 ? `: images ${images.map((i) => i.slice(0, 12)).join(", ")}` : ""}`,
        fix: () => repair.dropLayer(ctx, id),
        needsForce: images.length > 0,
      });
    }
  }
}

/**
 * The short names overlay mounts use (`layers/l/NAME` -> `../ID/diff`): a link whose layer is
 * gone is a leftover (the layer's removal was cut short); repaired by removing the link.
 */
function checkLayerLinks(ctx: RuntimeContext, findings: Finding[]): void {
  const dir = linkDir(ctx.paths);
  for (const name of listNames(dir)) {
    const path = `${dir}/${name}`;
    try {
      Deno.statSync(path); // follows the link: fails when its layer's diff is gone
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      findings.push({
        kind: "layer",
        subject: `l/${name}`,
        message: `layers/l/${name} is a short link to a layer that is gone`,
        fix: () => Deno.remove(path),
      });
    }
  }
}
