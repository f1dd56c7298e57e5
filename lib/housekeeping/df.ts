/**
 * `system df`: disk usage of images, containers and volumes from kept figures. Image layer sizes
 * were measured once, when each layer was committed (the `layers` table); a container's size is
 * its own RW layer (its upper directory, as `ps --size`). No image layer is walked, and no
 * container lock is taken: the report reads rows, so it never waits behind another command.
 *
 * The summary rows are podman's (`Type`, `Total`, `Active`, `RawSize`, `RawReclaimable`,
 * `TotalCount`, `Size`, `Reclaimable`); the verbose rows too (`Repository`, `Tag`, `ImageID`,
 * `Created`, `Size`, `SharedSize`, `UniqueSize`, `Containers`; `ContainerID`, `Image`, `Command`,
 * `LocalVolumes`, `RWSize`, `Created`, `Status`, `Names`). denopod has no volumes yet: that row
 * is always empty. Two differences from podman 4.3, on purpose: `Total` counts images, not names
 * (podman counts an image once per tag), and a paused container is active (not reclaimable).
 *
 * @example
 * ```ts
 * const usage = diskUsage(runtime);
 * summaryRows(usage); // [{ Type: "Images", Total: 1, ... }, ...]
 * ```
 * @module
 */
import type { RuntimeContext } from "../container/context.ts";
import { containerLayerPaths } from "../storage/overlay.ts";
import { treeSize } from "../storage/size.ts";
import { isActive, statusName } from "../container/status.ts";
import { humanDuration, humanSize } from "../util/humanize.ts";

/** One image's share of the disk. */
export interface ImageUsage {
  id: string;
  names: string[];
  created: string;
  size: number;
  /** Bytes of its layers that other images use too. */
  sharedSize: number;
  uniqueSize: number;
  containers: number;
}

/** One container's share of the disk. */
export interface ContainerUsage {
  id: string;
  imageId: string;
  command: string[];
  rwSize: number;
  created: string;
  status: string;
  active: boolean;
  name: string;
}

/** The whole report. */
export interface DiskUsage {
  images: ImageUsage[];
  /** Bytes of every layer images use, each counted once. */
  imagesSize: number;
  containers: ContainerUsage[];
}

/** Gathers the report from the database and the containers' RW layers; see the module doc. */
export function diskUsage(ctx: RuntimeContext): DiskUsage {
  const layerSizes = new Map(
    ctx.db.all<{ id: string; size: number }>("SELECT id, size FROM layers WHERE complete = 1")
      .map((r) => [r.id, r.size]),
  );
  const records = ctx.containers.list();
  const usersOf = new Map<string, number>();
  for (const r of records) usersOf.set(r.config.imageId, (usersOf.get(r.config.imageId) ?? 0) + 1);
  const images = ctx.images.list();
  const imagesUsingLayer = new Map<string, number>();
  for (const image of images) {
    for (const id of new Set(image.layers)) {
      imagesUsingLayer.set(id, (imagesUsingLayer.get(id) ?? 0) + 1);
    }
  }
  let imagesSize = 0;
  for (const id of imagesUsingLayer.keys()) imagesSize += layerSizes.get(id) ?? 0;
  const imageUsage = images.map((image): ImageUsage => {
    let size = 0;
    let sharedSize = 0;
    for (const id of new Set(image.layers)) {
      const bytes = layerSizes.get(id) ?? 0;
      size += bytes;
      if ((imagesUsingLayer.get(id) ?? 0) > 1) sharedSize += bytes;
    }
    return {
      id: image.id,
      names: image.names,
      created: image.config.created ?? image.created,
      size,
      sharedSize,
      uniqueSize: size - sharedSize,
      containers: usersOf.get(image.id) ?? 0,
    };
  });
  const containers = records.map((r): ContainerUsage => ({
    id: r.config.id,
    imageId: r.config.imageId,
    command: r.config.command,
    rwSize: treeSize(containerLayerPaths(ctx.paths, r.config.id).upper),
    created: r.config.created,
    status: statusName(r.state.status),
    active: isActive(r.state.status),
    name: r.config.name,
  }));
  return { images: imageUsage, imagesSize, containers };
}

/** One line of the summary, as podman's `dfSummary` (with its JSON fields). */
export interface SummaryRow {
  Type: string;
  Total: number;
  Active: number;
  RawSize: number;
  RawReclaimable: number;
  TotalCount: number;
  Size: string;
  Reclaimable: string;
}

function summary(type: string, total: number, active: number, raw: number, reclaimable: number) {
  const percent = raw > 0 ? Math.round((reclaimable / raw) * 100) : 0;
  return {
    Type: type,
    Total: total,
    Active: active,
    RawSize: raw,
    RawReclaimable: reclaimable,
    TotalCount: total,
    Size: humanSize(raw),
    Reclaimable: `${humanSize(reclaimable)} (${percent}%)`,
  };
}

/** The three summary rows (Images, Containers, Local Volumes), computed as podman does. */
export function summaryRows(usage: DiskUsage): SummaryRow[] {
  const inUse = usage.images.filter((i) => i.containers > 0);
  const usedUnique = inUse.reduce((n, i) => n + i.uniqueSize, 0);
  const ctrSize = usage.containers.reduce((n, c) => n + c.rwSize, 0);
  const ctrReclaimable = usage.containers.filter((c) => !c.active).reduce(
    (n, c) => n + c.rwSize,
    0,
  );
  return [
    summary(
      "Images",
      usage.images.length,
      inUse.length,
      usage.imagesSize,
      usage.imagesSize - usedUnique,
    ),
    summary(
      "Containers",
      usage.containers.length,
      usage.containers.filter((c) => c.active).length,
      ctrSize,
      ctrReclaimable,
    ),
    summary("Local Volumes", 0, 0, 0, 0),
  ];
}

/** The verbose image rows (one per name, `<none>` for an untagged image). */
export function imageRowsVerbose(usage: DiskUsage, now: Date): Record<string, string | number>[] {
  return usage.images.flatMap((image) => {
    const base = {
      ImageID: image.id.slice(0, 12),
      Created: humanDuration((now.getTime() - Date.parse(image.created)) / 1000),
      Size: humanSize(image.size),
      SharedSize: humanSize(image.sharedSize),
      UniqueSize: humanSize(image.uniqueSize),
      Containers: image.containers,
    };
    if (image.names.length === 0) return [{ Repository: "<none>", Tag: "<none>", ...base }];
    return image.names.map((name) => {
      const colon = name.lastIndexOf(":");
      const tagged = colon > name.lastIndexOf("/");
      return {
        Repository: tagged ? name.slice(0, colon) : name,
        Tag: tagged ? name.slice(colon + 1) : "<none>",
        ...base,
      };
    });
  });
}

/** The verbose container rows. */
export function containerRowsVerbose(
  usage: DiskUsage,
  now: Date,
): Record<string, string | number>[] {
  return usage.containers.map((c) => ({
    ContainerID: c.id.slice(0, 12),
    Image: c.imageId.slice(0, 12),
    Command: c.command.join(" "),
    LocalVolumes: 0,
    RWSize: humanSize(c.rwSize),
    Created: humanDuration((now.getTime() - Date.parse(c.created)) / 1000),
    Status: c.status,
    Names: c.name,
  }));
}
