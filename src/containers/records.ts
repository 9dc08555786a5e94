// Containers as rows of the metadata database (metadata/containers.ts): a record (types.ts) plus the
// row's status and version. Every change goes through `save`, a compare-and-set against the version
// read, so a change made meanwhile by another berth process is never overwritten silently.

import { DataLossError } from '../errdefs/index.ts';
import type { ContainerRow, ContainerStore } from '../metadata/index.ts';
import {
  CONTAINER_RECORD_VERSION,
  type Container,
  type ContainerRecord,
  type ContainerStatus,
} from './types.ts';

export function fromRow(row: ContainerRow): Container {
  const record = row.record as unknown as ContainerRecord;
  if (record.recordVersion !== CONTAINER_RECORD_VERSION) {
    throw new DataLossError(
      `container ${row.name}: record version ${String(record.recordVersion)} is not one this berth reads`,
      { hint: 'use the berth version that created it, or a newer one' },
    );
  }
  return { ...record, status: row.status, version: row.version };
}

export function recordOf(c: Container): ContainerRecord {
  const { status: _status, version: _version, ...record } = c;
  return record;
}

export class ContainerRecords {
  readonly #store: ContainerStore;

  constructor(store: ContainerStore) {
    this.#store = store;
  }

  /** By id, name or unique id prefix. */
  find(key: string): Container {
    return fromRow(this.#store.find(key));
  }

  get(id: string): Container {
    return fromRow(this.#store.get(id));
  }

  list(): Container[] {
    return this.#store.list().map(fromRow);
  }

  insert(status: ContainerStatus, record: ContainerRecord): Container {
    return fromRow(
      this.#store.create({
        id: record.id,
        name: record.name,
        status,
        record: record as unknown as Record<string, unknown>,
      }),
    );
  }

  /** Writes `c` with `status` and the changes, if nobody wrote it since `c` was read. */
  save(c: Container, status: ContainerStatus, changes: Partial<ContainerRecord> = {}): Container {
    const record: ContainerRecord = { ...recordOf(c), ...changes };
    // JSON drops undefined members, so a change {exitCode: undefined} clears the field.
    return fromRow(
      this.#store.update(c.id, c.version, { status, record: record as unknown as Record<string, unknown> }),
    );
  }

  delete(id: string): void {
    this.#store.delete(id);
  }
}

/** The image names containers were created from: `rmi` refuses them and `image prune -a` keeps them. */
export function imagesInUse(store: ContainerStore): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of store.list().map(fromRow))
    out.set(c.image.name, [...(out.get(c.image.name) ?? []), c.name]);
  return out;
}
