// The rows a snapshotter keeps about its snapshots (containerd's snapshots/storage/bolt.go): a key, a
// parent chain, a kind, labels, and a numeric id that names the snapshot's directory (keys can be
// long and contain '/', ids cannot). The snapshotter owns the directories; this store owns the rows,
// and a snapshotter changes a row and its directory in that order on create and the reverse on remove.
//
//            create(kind active)                 commit(key, name)
//   (none) ─────────────────────▶ active(key) ─────────────────────▶ committed(name)
//            create(kind view)                        │
//   (none) ─────────────────────▶ view(key)           │ remove(name): only without children
//                                    │ remove(key)    ▼
//                                    └──────────▶ (none)
//
// Only a committed snapshot can be a parent, so an active snapshot never has children and renaming it
// at commit breaks no reference.

import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../errdefs/index.ts';
import type { Connection } from './database.ts';
import { violatedConstraint } from './database.ts';
import type { Labels, Row } from './rows.ts';
import { checkName, integer, labelsJson, now, oneOf, optionalText, quote, stringMap, text } from './rows.ts';

export type SnapshotKind = 'active' | 'view' | 'committed';
const kinds: readonly SnapshotKind[] = ['active', 'view', 'committed'];

export interface SnapshotRecord {
  /** Unique across snapshotters and never reused; names the snapshot's directory. */
  id: number;
  snapshotter: string;
  key: string;
  parent?: string;
  kind: SnapshotKind;
  labels: Labels;
  created: string;
  updated: string;
}

export interface NewSnapshot {
  snapshotter: string;
  key: string;
  /** A committed snapshot of the same snapshotter. */
  parent?: string;
  kind: 'active' | 'view';
  labels?: Labels;
}

export interface CommitChanges {
  labels?: Labels;
  /** Sets the parent now rather than at create (see snapshot/types.ts CommitOptions.parent). */
  parent?: string;
}

export interface SnapshotStore {
  get(snapshotter: string, key: string): SnapshotRecord;
  /** The snapshotter's snapshots in creation order (a parent before its children). */
  list(snapshotter: string, filter?: { parent?: string; kind?: SnapshotKind }): SnapshotRecord[];
  create(snapshot: NewSnapshot): SnapshotRecord;
  /** Turns the active snapshot `key` into the committed snapshot `name`, keeping its id. */
  commit(snapshotter: string, key: string, name: string, changes?: CommitChanges): SnapshotRecord;
  setLabels(snapshotter: string, key: string, labels: Labels): SnapshotRecord;
  /** Deletes the row and returns it, so the caller can remove the directory named by its id. */
  remove(snapshotter: string, key: string): SnapshotRecord;
}

const columns = 'id, snapshotter, key, parent, kind, labels, created, updated';

export function snapshotStore({ db, transaction }: Connection): SnapshotStore {
  const getStmt = db.prepare(`SELECT ${columns} FROM snapshots WHERE snapshotter = ? AND key = ?`);
  const childStmt = db.prepare('SELECT key FROM snapshots WHERE snapshotter = ? AND parent = ? LIMIT 1');
  const insertStmt = db.prepare(
    `INSERT INTO snapshots (snapshotter, key, parent, kind, labels, created, updated)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${columns}`,
  );
  const commitStmt = db.prepare(
    `UPDATE snapshots SET key = :name, kind = 'committed', parent = coalesce(:parent, parent),
       labels = coalesce(:labels, labels), updated = :now
     WHERE snapshotter = :snapshotter AND key = :key RETURNING ${columns}`,
  );
  const labelsStmt = db.prepare(
    `UPDATE snapshots SET labels = ?, updated = ? WHERE snapshotter = ? AND key = ? RETURNING ${columns}`,
  );
  const deleteStmt = db.prepare(
    `DELETE FROM snapshots WHERE snapshotter = ? AND key = ? RETURNING ${columns}`,
  );

  const get = (snapshotter: string, key: string): SnapshotRecord => {
    const row = getStmt.get(snapshotter, key);
    if (row === undefined) throw new NotFoundError(`${name(snapshotter, key)}: not found`);
    return decode(row);
  };

  /** Throws unless `parent` exists and is committed; called inside the transaction that uses it. */
  const checkParent = (snapshotter: string, parent: string, child: string): void => {
    const row = getStmt.get(snapshotter, parent);
    if (row === undefined) {
      throw new NotFoundError(`${name(snapshotter, parent)} (parent of ${quote(child)}): not found`);
    }
    if (row.kind !== 'committed') {
      throw new FailedPreconditionError(
        `${name(snapshotter, parent)} (parent of ${quote(child)}): is ${String(row.kind)}, not committed`,
      );
    }
  };

  return {
    get,
    list(snapshotter, filter = {}) {
      const where = ['snapshotter = ?'];
      const params = [snapshotter];
      if (filter.parent !== undefined) {
        where.push('parent = ?');
        params.push(filter.parent);
      }
      if (filter.kind !== undefined) {
        where.push('kind = ?');
        params.push(filter.kind);
      }
      const sql = `SELECT ${columns} FROM snapshots WHERE ${where.join(' AND ')} ORDER BY id`;
      return db
        .prepare(sql)
        .all(...params)
        .map(decode);
    },
    create(s) {
      checkName(s.snapshotter, 'snapshotter');
      checkName(s.key, 'snapshot');
      if (s.kind !== 'active' && s.kind !== 'view') {
        throw new InvalidArgumentError(`${name(s.snapshotter, s.key)}: kind must be active or view`);
      }
      const labels = labelsJson(s.labels, name(s.snapshotter, s.key));
      return transaction(() => {
        if (s.parent !== undefined) checkParent(s.snapshotter, s.parent, s.key);
        const t = now();
        return constraints(name(s.snapshotter, s.key), () =>
          decode(insertStmt.get(s.snapshotter, s.key, s.parent ?? null, s.kind, labels, t, t)!),
        );
      });
    },
    commit(snapshotter, key, committed, changes = {}) {
      checkName(committed, 'snapshot');
      const labels = changes.labels === undefined ? null : labelsJson(changes.labels, name(snapshotter, key));
      return transaction(() => {
        const current = get(snapshotter, key);
        if (current.kind !== 'active') {
          throw new FailedPreconditionError(
            `${name(snapshotter, key)}: is ${current.kind}; only active snapshots commit`,
          );
        }
        if (changes.parent !== undefined) checkParent(snapshotter, changes.parent, key);
        const params = {
          snapshotter,
          key,
          name: committed,
          parent: changes.parent ?? null,
          labels,
          now: now(),
        };
        return constraints(name(snapshotter, committed), () => decode(commitStmt.get(params)!));
      });
    },
    setLabels(snapshotter, key, labels) {
      const row = labelsStmt.get(labelsJson(labels, name(snapshotter, key)), now(), snapshotter, key);
      if (row === undefined) throw new NotFoundError(`${name(snapshotter, key)}: not found`);
      return decode(row);
    },
    remove(snapshotter, key) {
      try {
        const row = deleteStmt.get(snapshotter, key);
        if (row === undefined) throw new NotFoundError(`${name(snapshotter, key)}: not found`);
        return decode(row);
      } catch (err) {
        if (violatedConstraint(err) !== 'foreign-key') throw err;
        const child = childStmt.get(snapshotter, key)?.key;
        throw new FailedPreconditionError(
          `${name(snapshotter, key)}: has children${typeof child === 'string' ? ` (${quote(child)})` : ''}`,
          { cause: err, hint: 'remove the child snapshots first' },
        );
      }
    },
  };
}

/** Maps the constraint violations a write can hit to berth errors naming `what`. */
function constraints<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const c = violatedConstraint(err);
    if (c === 'unique') throw new AlreadyExistsError(`${what}: already exists`, { cause: err });
    if (c === 'foreign-key')
      throw new FailedPreconditionError(`${what}: parent does not exist`, { cause: err });
    throw err;
  }
}

function name(snapshotter: string, key: string): string {
  return `${snapshotter} snapshot ${quote(key)}`;
}

function decode(row: Row): SnapshotRecord {
  const what = `snapshot ${quote(String(row.key))}`;
  const record: SnapshotRecord = {
    id: integer(row, 'id', what),
    snapshotter: text(row, 'snapshotter', what),
    key: text(row, 'key', what),
    kind: oneOf(row, 'kind', kinds, what),
    labels: stringMap(row, 'labels', what),
    created: text(row, 'created', what),
    updated: text(row, 'updated', what),
  };
  const parent = optionalText(row, 'parent', what);
  if (parent !== undefined) record.parent = parent;
  return record;
}
