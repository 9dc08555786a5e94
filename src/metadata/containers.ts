// Container rows. The lifecycle service (src/containers) owns the record's shape and stores it as a
// JSON object; this store keeps the columns it is looked up and guarded by (id, unique name, status)
// and a version for compare-and-set: `update` succeeds only against the version the caller read, so
// when two berth processes change one container at once, one of them gets FailedPrecondition and
// reads again instead of overwriting the other's change.

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

export const containerStatuses = [
  'creating',
  'created',
  'running',
  'stopped',
  'removing',
  'unknown',
] as const;
export type ContainerRowStatus = (typeof containerStatuses)[number];

export interface ContainerRow {
  id: string;
  name: string;
  status: ContainerRowStatus;
  /** Rises by one on every write. */
  version: number;
  /** The lifecycle service's record, as a JSON object. */
  record: Record<string, unknown>;
  created: string;
  updated: string;
}

export interface NewContainerRow {
  id: string;
  name: string;
  status: ContainerRowStatus;
  record: Record<string, unknown>;
}

export interface ContainerRowUpdate {
  status: ContainerRowStatus;
  record: Record<string, unknown>;
}

export interface ContainerStore {
  get(id: string): ContainerRow;
  /** The row whose id or name is `key`, else the one row whose id starts with `key` (docker's prefix). */
  find(key: string): ContainerRow;
  list(): ContainerRow[];
  /** AlreadyExists when the id or the name is taken. */
  create(row: NewContainerRow): ContainerRow;
  /** Writes `change` if the row is still at `version`; FailedPrecondition if another write came first. */
  update(id: string, version: number, change: ContainerRowUpdate): ContainerRow;
  /** Deletes the row; NotFound when it is gone. */
  delete(id: string): void;
}

const columns = 'id, name, status, version, record, created, updated';

export function containerStore({ db }: Connection): ContainerStore {
  const getStmt = db.prepare(`SELECT ${columns} FROM containers WHERE id = ?`);
  const byNameStmt = db.prepare(`SELECT ${columns} FROM containers WHERE name = ?`);
  // `key` is a user's prefix; escape LIKE's wildcards so `a_b` does not match `axb`.
  const byPrefixStmt = db.prepare(
    `SELECT ${columns} FROM containers WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 2`,
  );
  const listStmt = db.prepare(`SELECT ${columns} FROM containers ORDER BY created DESC, id`);
  const insertStmt = db.prepare(
    `INSERT INTO containers (${columns}) VALUES (?, ?, ?, 1, ?, ?, ?) RETURNING ${columns}`,
  );
  const updateStmt = db.prepare(
    `UPDATE containers SET status = ?, record = ?, version = version + 1, updated = ?
     WHERE id = ? AND version = ? RETURNING ${columns}`,
  );
  const deleteStmt = db.prepare('DELETE FROM containers WHERE id = ?');

  const get = (id: string): ContainerRow => {
    const row = getStmt.get(id);
    if (row === undefined) throw notFound(id);
    return decode(row);
  };

  return {
    get,
    find(key) {
      checkName(key, 'container');
      const exact = getStmt.get(key) ?? byNameStmt.get(key);
      if (exact !== undefined) return decode(exact);
      const rows = /^[0-9a-f]+$/.test(key) ? byPrefixStmt.all(`${key.replace(/[\\%_]/g, '\\$&')}%`) : [];
      if (rows.length === 1) return decode(rows[0]!);
      if (rows.length > 1) {
        throw new FailedPreconditionError(`container ${quote(key)}: the prefix matches several containers`, {
          hint: 'give more characters of the id, or the name',
        });
      }
      throw notFound(key);
    },
    list: () => listStmt.all().map(decode),
    create(row) {
      checkName(row.id, 'container');
      checkName(row.name, `container ${quote(row.id)}`);
      const at = now();
      try {
        return decode(insertStmt.get(row.id, row.name, row.status, JSON.stringify(row.record), at, at)!);
      } catch (err) {
        if (violatedConstraint(err) === 'unique') {
          const taken = byNameStmt.get(row.name) !== undefined ? `name ${quote(row.name)}` : `id ${row.id}`;
          throw new AlreadyExistsError(`container ${taken}: already in use`, {
            cause: err,
            hint: 'choose another --name, or remove the old container (berth rm)',
          });
        }
        throw err;
      }
    },
    update(id, version, change) {
      const row = updateStmt.get(change.status, JSON.stringify(change.record), now(), id, version);
      if (row !== undefined) return decode(row);
      get(id); // NotFound if it is gone
      throw new FailedPreconditionError(`container ${id}: changed by another berth process meanwhile`, {
        hint: 'try again',
      });
    },
    delete(id) {
      if (deleteStmt.run(id).changes === 0) throw notFound(id);
    },
  };
}

function notFound(key: string): NotFoundError {
  return new NotFoundError(`container ${quote(key)}: not found`, {
    hint: 'list containers with berth ps -a',
  });
}

function decode(row: Row): ContainerRow {
  const id = text(row, 'id', 'container');
  const what = `container ${quote(id)}`;
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
    status: oneOf(row, 'status', containerStatuses, what),
    version: integer(row, 'version', what),
    record: record as Record<string, unknown>,
    created: text(row, 'created', what),
    updated: text(row, 'updated', what),
  };
}
