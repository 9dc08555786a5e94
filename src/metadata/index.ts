// berth's metadata store: images, snapshot rows, leases and blob labels in one SQLite database,
// `<root>/metadata.db`, shared by the daemon and every CLI invocation (see database.ts for how).
// The stores are synchronous: node:sqlite is, and a statement takes microseconds; a process waits
// at most busyTimeoutMs for another one's write lock.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerStore } from './containers.ts';
import { containerStore } from './containers.ts';
import type { ContentLabelStore } from './content-labels.ts';
import { contentLabelStore } from './content-labels.ts';
import type { Transaction } from './database.ts';
import { databaseFile, openConnection } from './database.ts';
import type { ImageStore } from './images.ts';
import { imageStore } from './images.ts';
import type { LeaseStore } from './leases.ts';
import { leaseStore } from './leases.ts';
import { migrate } from './migrations.ts';
import type { PodStore } from './pods.ts';
import { podStore } from './pods.ts';
import type { SnapshotStore } from './snapshots.ts';
import { snapshotStore } from './snapshots.ts';

export type {
  ContainerRow,
  ContainerRowStatus,
  ContainerRowUpdate,
  ContainerStore,
  NewContainerRow,
} from './containers.ts';
export { containerStatuses } from './containers.ts';
export type { ContentLabel, ContentLabelStore } from './content-labels.ts';
export { gcRefContentPrefix } from './content-labels.ts';
export type { Constraint, Transaction } from './database.ts';
export { busyTimeoutMs, databaseFile } from './database.ts';
export type { Image, ImageFilter, ImageStore, ImageTarget, ImageUpdate, NewImage } from './images.ts';
export type { Lease, LeaseResource, LeaseResourceType, LeaseStore, NewLease } from './leases.ts';
export { schemaVersion } from './migrations.ts';
export type { NewPodRow, PodRow, PodRowStatus, PodRowUpdate, PodStore } from './pods.ts';
export { podStatuses } from './pods.ts';
export type { Labels } from './rows.ts';
export { maxLabelLength } from './rows.ts';
export type { CommitChanges, NewSnapshot, SnapshotKind, SnapshotRecord, SnapshotStore } from './snapshots.ts';

export interface Metadata extends Disposable {
  readonly path: string;
  readonly images: ImageStore;
  readonly snapshots: SnapshotStore;
  readonly leases: LeaseStore;
  readonly content: ContentLabelStore;
  readonly containers: ContainerStore;
  readonly pods: PodStore;
  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE … COMMIT); if it throws, every write it made
   * is rolled back and the error rethrown. `fn` must be synchronous. Calls nest (as savepoints).
   */
  readonly transaction: Transaction;
  close(): void;
}

/** Opens `<root>/metadata.db`, creating the directory and the schema if needed. */
export function openMetadata(root: string): Metadata {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const path = join(root, databaseFile);
  const connection = openConnection(path);
  try {
    migrate(connection.db, connection.transaction, path);
  } catch (err) {
    connection.db.close();
    throw err;
  }
  const close = (): void => {
    // close() twice would throw "database is not open"; a `using` block after an explicit close is fine.
    if (connection.db.isOpen) connection.db.close();
  };
  return {
    path,
    images: imageStore(connection),
    snapshots: snapshotStore(connection),
    leases: leaseStore(connection),
    content: contentLabelStore(connection),
    containers: containerStore(connection),
    pods: podStore(connection),
    transaction: connection.transaction,
    close,
    [Symbol.dispose]: close,
  };
}
export { recordOf, TypedRecords, typedRecord, type VersionedRecord, type WithRow } from './typed-records.ts';
