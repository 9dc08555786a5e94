// Pods as rows of the metadata database (metadata/pods.ts): a record (types.ts) plus the row's status
// and version. Every change goes through `save`, a compare-and-set against the version read, so a
// change made meanwhile by another berth process is never overwritten silently.

import { DataLossError } from '../errdefs/index.ts';
import type { PodRow, PodStore } from '../metadata/index.ts';
import { POD_RECORD_VERSION, type Pod, type PodRecord, type PodStatus } from './types.ts';

export function fromRow(row: PodRow): Pod {
  const record = row.record as unknown as PodRecord;
  if (record.recordVersion !== POD_RECORD_VERSION) {
    throw new DataLossError(
      `pod ${row.name}: record version ${String(record.recordVersion)} is not one this berth reads`,
      { hint: 'use the berth version that created it, or a newer one' },
    );
  }
  return { ...record, status: row.status, version: row.version };
}

export function recordOf(p: Pod): PodRecord {
  const { status: _status, version: _version, ...record } = p;
  return record;
}

export class PodRecords {
  readonly #store: PodStore;

  constructor(store: PodStore) {
    this.#store = store;
  }

  /** By id, name or unique id prefix. */
  find(key: string): Pod {
    return fromRow(this.#store.find(key));
  }

  get(id: string): Pod {
    return fromRow(this.#store.get(id));
  }

  list(): Pod[] {
    return this.#store.list().map(fromRow);
  }

  insert(status: PodStatus, record: PodRecord): Pod {
    return fromRow(
      this.#store.create({
        id: record.id,
        name: record.name,
        status,
        record: record as unknown as Record<string, unknown>,
      }),
    );
  }

  /** Writes `p` with `status` and the changes, if nobody wrote it since `p` was read. */
  save(p: Pod, status: PodStatus, changes: Partial<PodRecord> = {}): Pod {
    const record: PodRecord = { ...recordOf(p), ...changes };
    // JSON drops undefined members, so a change {network: undefined} clears the field.
    return fromRow(
      this.#store.update(p.id, p.version, { status, record: record as unknown as Record<string, unknown> }),
    );
  }

  delete(id: string): void {
    this.#store.delete(id);
  }
}
