// Pods as rows of the metadata database (metadata/pods.ts): the shared typed-record view
// (metadata/typed-records.ts) with the pod record's shape and version.

import type { PodRow, PodStore } from '../metadata/index.ts';
import { recordOf as recordOfRow, TypedRecords, typedRecord } from '../metadata/index.ts';
import { POD_RECORD_VERSION, type Pod, type PodRecord, type PodStatus } from './types.ts';

export class PodRecords extends TypedRecords<PodRecord, PodStatus> {
  constructor(store: PodStore) {
    super(store, { recordVersion: POD_RECORD_VERSION, noun: 'pod' });
  }
}

export function fromRow(row: PodRow): Pod {
  return typedRecord<PodRecord, PodStatus>(row, { recordVersion: POD_RECORD_VERSION, noun: 'pod' });
}

export function recordOf(p: Pod): PodRecord {
  return recordOfRow<PodRecord, PodStatus>(p);
}
