// Rows of a lifecycle service (containers, pods). The service owns the record's shape and stores it as
// a JSON object; this store keeps the columns it is looked up and guarded by (id, unique name,
// status) and a version for compare-and-set: `update` succeeds only against the version the caller
// read, so when two berth processes change one object at once, one of them gets FailedPrecondition
// and reads again instead of overwriting the other's change. One implementation serves every such
// table: they share their column layout (migrations v2, v3).

import {
  AlreadyExistsError,
  DataLossError,
  FailedPreconditionError,
  NotFoundError,
} from '../errdefs/index.ts';
import type { Connection } from './database.ts';
import { violatedConstraint } from './database.ts';
import type { Row } from './rows.ts';
import { checkName, integer, now, oneOf, quote, text } from './rows.ts';

export interface VersionedRow<S extends string> {
  id: string;
  name: string;
  status: S;
  /** Rises by one on every write. */
  version: number;
  /** The lifecycle service's record, as a JSON object. */
  record: Record<string, unknown>;
  created: string;
  updated: string;
}

export interface NewVersionedRow<S extends string> {
  id: string;
  name: string;
  status: S;
  record: Record<string, unknown>;
}

export interface VersionedRowUpdate<S extends string> {
  status: S;
  record: Record<string, unknown>;
}

export interface VersionedRowStore<S extends string> {
  get(id: string): VersionedRow<S>;
  /** The row whose id or name is `key`, else the one row whose id starts with `key` (docker's prefix). */
  find(key: string): VersionedRow<S>;
  list(): VersionedRow<S>[];
  /** AlreadyExists when the id or the name is taken. */
  create(row: NewVersionedRow<S>): VersionedRow<S>;
  /** Writes `change` if the row is still at `version`; FailedPrecondition if another write came first. */
  update(id: string, version: number, change: VersionedRowUpdate<S>): VersionedRow<S>;
  /** Deletes the row; NotFound when it is gone. */
  delete(id: string): void;
}

/** Which table, and how messages name its objects. */
export interface VersionedTable<S extends string> {
  table: 'containers' | 'pods';
  /** The schema's CHECK list of statuses. */
  statuses: readonly S[];
  /** `container`, `pod`. */
  noun: string;
  /** The hint when the name is taken. */
  nameTakenHint: string;
  /** The hint when nothing matches. */
  notFoundHint?: string;
}

const columns = 'id, name, status, version, record, created, updated';

export function versionedRowStore<S extends string>(
  { db }: Connection,
  t: VersionedTable<S>,
): VersionedRowStore<S> {
  const getStmt = db.prepare(`SELECT ${columns} FROM ${t.table} WHERE id = ?`);
  const byNameStmt = db.prepare(`SELECT ${columns} FROM ${t.table} WHERE name = ?`);
  // `key` is a person's prefix; escape LIKE's wildcards so `a_b` does not match `axb`.
  const byPrefixStmt = db.prepare(
    `SELECT ${columns} FROM ${t.table} WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 2`,
  );
  const listStmt = db.prepare(`SELECT ${columns} FROM ${t.table} ORDER BY created DESC, id`);
  const insertStmt = db.prepare(
    `INSERT INTO ${t.table} (${columns}) VALUES (?, ?, ?, 1, ?, ?, ?) RETURNING ${columns}`,
  );
  const updateStmt = db.prepare(
    `UPDATE ${t.table} SET status = ?, record = ?, version = version + 1, updated = ?
     WHERE id = ? AND version = ? RETURNING ${columns}`,
  );
  const deleteStmt = db.prepare(`DELETE FROM ${t.table} WHERE id = ?`);
  const notFound = (key: string) =>
    new NotFoundError(
      `${t.noun} ${quote(key)}: not found`,
      t.notFoundHint === undefined ? {} : { hint: t.notFoundHint },
    );
  const decode = (row: Row) => decodeRow(t, row);
  const get = (id: string): VersionedRow<S> => {
    const row = getStmt.get(id);
    if (row === undefined) throw notFound(id);
    return decode(row);
  };

  return {
    get,
    find(key) {
      checkName(key, t.noun);
      const exact = getStmt.get(key) ?? byNameStmt.get(key);
      if (exact !== undefined) return decode(exact);
      const rows = /^[0-9a-f]+$/.test(key) ? byPrefixStmt.all(`${key.replace(/[\\%_]/g, '\\$&')}%`) : [];
      if (rows.length === 1) return decode(rows[0]!);
      if (rows.length > 1) {
        throw new FailedPreconditionError(`${t.noun} ${quote(key)}: the prefix matches several ${t.table}`, {
          hint: 'give more characters of the id, or the name',
        });
      }
      throw notFound(key);
    },
    list: () => listStmt.all().map(decode),
    create(row) {
      checkName(row.id, t.noun);
      checkName(row.name, `${t.noun} ${quote(row.id)}`);
      const at = now();
      try {
        return decode(insertStmt.get(row.id, row.name, row.status, JSON.stringify(row.record), at, at)!);
      } catch (err) {
        if (violatedConstraint(err) === 'unique') {
          const taken = byNameStmt.get(row.name) !== undefined ? `name ${quote(row.name)}` : `id ${row.id}`;
          throw new AlreadyExistsError(`${t.noun} ${taken}: already in use`, {
            cause: err,
            hint: t.nameTakenHint,
          });
        }
        throw err;
      }
    },
    update(id, version, change) {
      const row = updateStmt.get(change.status, JSON.stringify(change.record), now(), id, version);
      if (row !== undefined) return decode(row);
      get(id); // NotFound if it is gone
      throw new FailedPreconditionError(`${t.noun} ${id}: changed by another berth process meanwhile`, {
        hint: 'try again',
      });
    },
    delete(id) {
      if (deleteStmt.run(id).changes === 0) throw notFound(id);
    },
  };
}

function decodeRow<S extends string>(t: VersionedTable<S>, row: Row): VersionedRow<S> {
  const id = text(row, 'id', t.noun);
  const what = `${t.noun} ${quote(id)}`;
  let record: unknown;
  try {
    record = JSON.parse(text(row, 'record', what));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new DataLossError(`${what}: corrupt metadata row: column record is not a JSON object`);
  }
  return {
    id,
    name: text(row, 'name', what),
    status: oneOf(row, 'status', t.statuses, what),
    version: integer(row, 'version', what),
    record: record as Record<string, unknown>,
    created: text(row, 'created', what),
    updated: text(row, 'updated', what),
  };
}
