// Containers as rows of the metadata database (metadata/containers.ts): the shared typed-record view
// (metadata/typed-records.ts) with the container record's shape and version.

import type { ContainerRow, ContainerStore } from '../metadata/index.ts';
import { recordOf as recordOfRow, TypedRecords, typedRecord } from '../metadata/index.ts';
import {
  CONTAINER_RECORD_VERSION,
  type Container,
  type ContainerRecord,
  type ContainerStatus,
} from './types.ts';

export class ContainerRecords extends TypedRecords<ContainerRecord, ContainerStatus> {
  constructor(store: ContainerStore) {
    super(store, { recordVersion: CONTAINER_RECORD_VERSION, noun: 'container' });
  }
}

export function fromRow(row: ContainerRow): Container {
  return typedRecord<ContainerRecord, ContainerStatus>(row, {
    recordVersion: CONTAINER_RECORD_VERSION,
    noun: 'container',
  });
}

export function recordOf(c: Container): ContainerRecord {
  return recordOfRow<ContainerRecord, ContainerStatus>(c);
}

/** The image names containers were created from: `rmi` refuses them and `image prune -a` keeps them. */
export function imagesInUse(store: ContainerStore): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of store.list().map(fromRow))
    out.set(c.image.name, [...(out.get(c.image.name) ?? []), c.name]);
  return out;
}
