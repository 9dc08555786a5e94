// A lifecycle service's view of its versioned rows (versioned-rows.ts): each row's JSON record as the
// service's record type plus the row's status and version, checked for the record version this berth
// reads. Every change goes through `save`, a compare-and-set against the version read, so a change
// made meanwhile by another berth process is never overwritten silently. Containers and pods both
// use it (containers/records.ts, pods/records.ts).

import { DataLossError } from '../errdefs/index.ts';
import type { VersionedRow, VersionedRowStore } from './versioned-rows.ts';

/** A record as stored: it names the version of its own shape. */
export interface VersionedRecord {
  recordVersion: number;
  id: string;
  name: string;
}

/** The record with the row's status and version, as the services hand it around. */
export type WithRow<R, S extends string> = R & { status: S; version: number };

export class TypedRecords<R extends VersionedRecord, S extends string> {
  readonly #store: VersionedRowStore<S>;
  readonly #recordVersion: number;
  readonly #noun: string;

  constructor(store: VersionedRowStore<S>, opts: { recordVersion: number; noun: string }) {
    this.#store = store;
    this.#recordVersion = opts.recordVersion;
    this.#noun = opts.noun;
  }

  fromRow(row: VersionedRow<S>): WithRow<R, S> {
    return typedRecord<R, S>(row, { recordVersion: this.#recordVersion, noun: this.#noun });
  }

  /** By id, name or unique id prefix. */
  find(key: string): WithRow<R, S> {
    return this.fromRow(this.#store.find(key));
  }

  get(id: string): WithRow<R, S> {
    return this.fromRow(this.#store.get(id));
  }

  list(): WithRow<R, S>[] {
    return this.#store.list().map((row) => this.fromRow(row));
  }

  insert(status: S, record: R): WithRow<R, S> {
    return this.fromRow(
      this.#store.create({
        id: record.id,
        name: record.name,
        status,
        record: record as unknown as Record<string, unknown>,
      }),
    );
  }

  /** Writes `x` with `status` and the changes, if nobody wrote it since `x` was read. */
  save(x: WithRow<R, S>, status: S, changes: Partial<R> = {}): WithRow<R, S> {
    const record = { ...recordOf<R, S>(x), ...changes };
    // JSON drops undefined members, so a change {exitCode: undefined} clears the field.
    return this.fromRow(
      this.#store.update(x.id, x.version, { status, record: record as unknown as Record<string, unknown> }),
    );
  }

  delete(id: string): void {
    this.#store.delete(id);
  }
}

/** A row as the service's record, checked for the record version this berth reads. */
export function typedRecord<R extends VersionedRecord, S extends string>(
  row: VersionedRow<S>,
  opts: { recordVersion: number; noun: string },
): WithRow<R, S> {
  const record = row.record as unknown as R;
  if (record.recordVersion !== opts.recordVersion) {
    throw new DataLossError(
      `${opts.noun} ${row.name}: record version ${String(record.recordVersion)} is not one this berth reads`,
      { hint: 'use the berth version that created it, or a newer one' },
    );
  }
  return { ...record, status: row.status, version: row.version };
}

/** The stored record of `x`: without the row's status and version. */
export function recordOf<R, S extends string>(x: WithRow<R, S>): R {
  const { status: _status, version: _version, ...record } = x;
  return record as unknown as R;
}
