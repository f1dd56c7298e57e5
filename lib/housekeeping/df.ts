/**
 * `system df`: disk usage of images, containers and volumes from kept figures. Image layer sizes
 * were measured once, when each layer was committed (the `layers` table); a container's size is
 * its own RW layer (its upper directory, as `ps --size`). No image layer is walked, and no
 * container lock is taken: the report reads rows, so it never waits behind another command.
 *
 * The summary rows are podman's (`Type`, `Total`, `Active`, `RawSize`, `RawReclaimable`,
 * `TotalCount`, `Size`, `Reclaimable`); the verbose rows too (`Repository`, `Tag`, `ImageID`,
 * `Created`, `Size`, `SharedSize`, `UniqueSize`, `Containers`; `ContainerID`, `Image`, `Command`,
 * `LocalVolumes`, `RWSize`, `Created`, `Status`, `Names`; `VolumeName`, `Links`, `Size`). A
 * volume's size is what its `_data` holds (files, not directories, as podman counts it), measured
 * when the report runs; it is active while a container (in any state) uses it, and reclaimable
 * when none does. Two differences from podman 4.3, on purpose: `Total` counts images, not names
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
import { containersUsingVolume, volumeStore } from "../container/volume_binds.ts";

/** The verbose volume rows. */
export function volumeRowsVerbose(usage: DiskUsage): Record<string, string | number>[] {
  return usage.volumes.map((v) => ({
    VolumeName: v.name,
    Links: v.links,
    Size: humanSize(v.size),
  }));
}

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
  /** Named volumes it uses. */
  localVolumes?: number;
}

/** One named volume's share of the disk. */
export interface VolumeUsage {
  name: string;
  /** Containers using it. */
  links: number;
  size: number;
}

/** The whole report. */
export interface DiskUsage {
  images: ImageUsage[];
  /** Bytes of every layer images use, each counted once. */
  imagesSize: number;
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
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
  const store = volumeStore(ctx.paths);
  const volumes = store.list().map((v): VolumeUsage => ({
    name: v.name,
    links: containersUsingVolume(records, v.name).length,
    size: treeSize(store.dataDir(v.name), { directories: false }),
  }));
  const volumesOf = (r: (typeof records)[number]) =>
    new Set(r.config.volumes.flatMap((v) => v.volumeName ?? [])).size;
  for (const [i, r] of records.entries()) containers[i].localVolumes = volumesOf(r);
  return { images: imageUsage, imagesSize, containers, volumes };
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
    summary(
      "Local Volumes",
      usage.volumes.length,
      usage.volumes.filter((v) => v.links > 0).length,
      usage.volumes.reduce((n, v) => n + v.size, 0),
      usage.volumes.filter((v) => v.links === 0).reduce((n, v) => n + v.size, 0),
    ),
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
    LocalVolumes: c.localVolumes ?? 0,
    RWSize: humanSize(c.rwSize),
    Created: humanDuration((now.getTime() - Date.parse(c.created)) / 1000),
    Status: c.status,
    Names: c.name,
  }));
}
