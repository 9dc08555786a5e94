// Pod sandbox rows (migration 3): the pod service (src/pods) owns the record; the store is the shared
// versioned-row store (versioned-rows.ts). The state machine is drawn in src/pods/status.ts.

import type { Connection } from './database.ts';
import {
  type NewVersionedRow,
  type VersionedRow,
  type VersionedRowStore,
  type VersionedRowUpdate,
  versionedRowStore,
} from './versioned-rows.ts';

export const podStatuses = ['creating', 'ready', 'notready', 'removing'] as const;
export type PodRowStatus = (typeof podStatuses)[number];
export type PodRow = VersionedRow<PodRowStatus>;
export type NewPodRow = NewVersionedRow<PodRowStatus>;
export type PodRowUpdate = VersionedRowUpdate<PodRowStatus>;
export type PodStore = VersionedRowStore<PodRowStatus>;

export function podStore(connection: Connection): PodStore {
  return versionedRowStore(connection, {
    table: 'pods',
    statuses: podStatuses,
    noun: 'pod',
    nameTakenHint: 'remove the old pod sandbox first',
  });
}
