/**
 * What reading an image archive gives: the images it holds, their configs and their layers,
 * each layer a stream opened on demand. Re-exported by `reader.ts`.
 *
 * @module
 */

import type { ChunkSource } from "../tar/source.ts";
import type { ImageConfig } from "./image_config.ts";

/** One layer of an image in an archive. Layers shared by two images are one object. */
export interface ArchiveLayer {
  /** `sha256:<hex>` of the uncompressed layer tar, from the config's `rootfs.diff_ids`. */
  readonly diffId: string;
  /** `sha256:<hex>` the blob is stored under (OCI archives); absent for docker-archive. */
  readonly blobDigest?: string;
  /**
   * Media type from the OCI manifest; for docker-archive, the Docker layer type matching the
   * compression seen in the blob's first bytes (`…rootfs.diff.tar`, `….tar.gzip`, `….tar.zstd`).
   */
  readonly mediaType?: string;
  /** Size of the blob in the archive, in bytes (compressed size for compressed blobs). */
  readonly size: number;
  /**
   * The raw blob bytes, maybe gzip/zstd (`extractLayer` and `decompressedStream` in `../tar/`
   * decompress them). For OCI archives the sha256 is checked as the bytes flow, and the stream
   * errors with an ArchiveError at its end if it does not match `blobDigest` (so read it to the
   * end). Docker-archive blobs carry no digest of their own: the extractor's diff ID check
   * covers them. Each call opens the archive file anew; valid until the archive is closed.
   */
  open(): ReadableStream<Uint8Array>;
  /**
   * The same bytes as {@linkcode open} (digest check included), read into one reused buffer: each
   * chunk is valid until the next read. What `load` extracts from.
   */
  chunks(): ChunkSource;
}

/** One image of an archive. */
export interface ArchiveImage {
  /** The image ID: sha256 hex of `configBytes`, without `sha256:`. */
  readonly id: string;
  /** Names as `podman load` gives them, e.g. `localhost/fixture:2`; may be empty. */
  readonly names: string[];
  /** The config exactly as stored (its sha256 is the ID). */
  readonly configBytes: Uint8Array;
  /** The parsed, checked config. */
  readonly config: ImageConfig;
  /** Layers bottom first; as many as `config.rootfs.diff_ids`, in the same order. */
  readonly layers: ArchiveLayer[];
  /** `sha256:<hex>` of the image manifest, for OCI archives. */
  readonly manifestDigest?: string;
}

/** An opened image archive. Call `close()` when done with it and its layer streams. */
export interface ImageArchive {
  readonly format: "docker-archive" | "oci-archive";
  readonly images: ArchiveImage[];
  /** Removes the temporary decompressed copy, if one was made. Idempotent. */
  close(): void;
}
