// Container rows (migration 2): the lifecycle service (src/containers) owns the record; the store is
// the shared versioned-row store (versioned-rows.ts).

import type { Connection } from './database.ts';
import {
  type NewVersionedRow,
  type VersionedRow,
  type VersionedRowStore,
  type VersionedRowUpdate,
  versionedRowStore,
} from './versioned-rows.ts';

export const containerStatuses = [
  'creating',
  'created',
  'running',
  'stopped',
  'removing',
  'unknown',
] as const;
export type ContainerRowStatus = (typeof containerStatuses)[number];
export type ContainerRow = VersionedRow<ContainerRowStatus>;
export type NewContainerRow = NewVersionedRow<ContainerRowStatus>;
export type ContainerRowUpdate = VersionedRowUpdate<ContainerRowStatus>;
export type ContainerStore = VersionedRowStore<ContainerRowStatus>;

export function containerStore(connection: Connection): ContainerStore {
  return versionedRowStore(connection, {
    table: 'containers',
    statuses: containerStatuses,
    noun: 'container',
    nameTakenHint: 'choose another --name, or remove the old container (berth rm)',
    notFoundHint: 'list containers with berth ps -a',
  });
}
