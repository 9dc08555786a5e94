// The collector's work on the content store's files outside blobs/: partial ingests nobody will
// resume, temp files and trash directories left by processes that died, and index.json, which must
// name exactly the images of the metadata image table (the table is the truth; index.json is what
// makes `<root>/content` an OCI layout for skopeo and friends).
import { lstatSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { IngestStatus, WriterOptions } from '../content/index.ts';
import { isErrno, NotFoundError, UnavailableError } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import { AnnotationRefName, type Descriptor, type Index } from '../oci/image/index.ts';

/** The content store as the collector uses it (ContentStore implements it). */
export interface GcContent {
  /** `<root>/content`: an OCI image layout with `blobs/sha256/<hex>`. */
  readonly dir: string;
  /** `<root>/content/ingest`. */
  readonly ingestRoot: string;
  blobPath(digest: string): string;
  ingests(): Promise<IngestStatus[]>;
  abortIngest(ref: string, options?: WriterOptions): Promise<void>;
  readonly layout: {
    updateIndex(fn: (index: Index) => boolean | Promise<boolean>): Promise<void>;
  };
}

/** What a sweep removed (refs or paths) and the bytes that freed. */
export interface Swept {
  names: string[];
  bytes: number;
}

/**
 * Removes partial ingests that no live writer holds, whose blob nothing keeps (`keep`: leased or
 * referenced; a dead pull's lease protects its partial download for pullLeaseLifetimeMs) and that
 * were last written more than `staleMs` ago.
 * Race handled: abortIngest takes the ingest's lock first (waitMs 0), so a writer that came back
 * since the listing makes it fail with UnavailableError, and the ingest is kept. A writer arriving
 * after we took the lock finds the directory gone and starts afresh: only resume progress is lost.
 */
export async function sweepIngests(
  content: GcContent,
  keep: (digest: string) => boolean,
  staleMs: number,
  dryRun: boolean,
): Promise<Swept> {
  const removed: Swept = { names: [], bytes: 0 };
  const now = Date.now();
  for (const ingest of await content.ingests()) {
    if (ingest.lockedBy !== undefined) continue;
    if (ingest.expected !== undefined && keep(ingest.expected.digest)) continue;
    const last = ingest.updatedAt ?? ingest.startedAt;
    if (last !== undefined && now - last.getTime() < staleMs) continue;
    if (!dryRun) {
      try {
        await content.abortIngest(ingest.ref);
      } catch (err) {
        if (err instanceof UnavailableError || err instanceof NotFoundError) continue;
        throw err;
      }
    }
    removed.names.push(ingest.ref);
    removed.bytes += ingest.offset;
  }
  return removed;
}

/**
 * Removes what dead processes left: `.tmp-*` files of one-shot blob writes and index.json updates and
 * `.trash-gc-*` directories of a collection that died before emptying them, in the store directory,
 * when unchanged for `staleMs` (a live writer touches its temp file with every chunk; a live
 * collection fills its trash inside its transaction and empties it right after); and every
 * `ingest/.trash-*` directory: an ingest is renamed there only to be deleted, so removing it beside
 * a live remover (both `rm -rf`, ENOENT ignored) loses nothing.
 */
export function sweepLeftovers(content: GcContent, staleMs: number, dryRun: boolean): Swept {
  const removed: Swept = { names: [], bytes: 0 };
  const now = Date.now();
  const sweep = (dir: string, prefixes: readonly string[], minAgeMs: number): void => {
    for (const name of listDir(dir)) {
      if (!prefixes.some((p) => name.startsWith(p))) continue;
      const path = join(dir, name);
      const st = lstatIfPresent(path);
      if (st === undefined || now - st.mtimeMs < minAgeMs) continue;
      removed.bytes += treeSize(path);
      if (!dryRun) rmSync(path, { recursive: true, force: true });
      removed.names.push(path);
    }
  };
  sweep(content.dir, ['.tmp-', '.trash-gc-'], staleMs);
  sweep(content.ingestRoot, ['.trash-'], 0);
  return removed;
}

/**
 * Makes index.json name exactly the images of the image table: entries whose image was removed go
 * (an `rmi` that died between its two steps, or images the collector pruned), images missing from
 * it are added (a pull that died between its image record and index.json), when their blob is there.
 * Race handled: the table is read *inside* the index lock. Pull, tag and rmi change the table
 * first and index.json second, under the same lock, so whatever we write is what they would.
 */
export async function syncImageIndex(
  content: GcContent,
  metadata: Metadata,
): Promise<{ added: string[]; removed: string[] }> {
  const added: string[] = [];
  const removed: string[] = [];
  await content.layout.updateIndex((index) => {
    const images = new Map(metadata.images.list().map((i) => [i.name, i] as const));
    const before = index.manifests.length;
    index.manifests = index.manifests.filter((d) => {
      const name = d.annotations?.[AnnotationRefName];
      if (name === undefined || images.has(name)) return true;
      removed.push(name);
      return false;
    });
    for (const image of images.values()) {
      const at = index.manifests.findIndex((d) => d.annotations?.[AnnotationRefName] === image.name);
      if (at >= 0 && index.manifests[at]?.digest === image.target.digest) continue;
      // As OciLayout.addManifest: name only a blob that is there with the descriptor's size.
      if (lstatIfPresent(content.blobPath(image.target.digest))?.size !== image.target.size) continue;
      const entry: Descriptor = {
        ...image.target,
        annotations: { ...image.target.annotations, [AnnotationRefName]: image.name },
      };
      if (at >= 0) index.manifests[at] = entry;
      else index.manifests.push(entry);
      added.push(image.name);
    }
    return added.length > 0 || index.manifests.length !== before;
  });
  return { added, removed };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

function lstatIfPresent(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Bytes of the files below `path` (a file's own size); entries vanishing meanwhile count 0. */
function treeSize(path: string): number {
  const st = lstatIfPresent(path);
  if (st === undefined) return 0;
  if (!st.isDirectory()) return st.size;
  return listDir(path).reduce((n, name) => n + treeSize(join(path, name)), 0);
}
