// Leases (containerd's core/metadata/leases.go): a lease holds resources so that the garbage collector
// leaves them alone while an operation is under way. A pull creates a lease, adds every blob and
// snapshot it writes, creates the image record (which then references them), and deletes the lease;
// if the pull dies, the lease expires and what it held becomes collectable.
//
// Resource ids: a blob's digest for `content`, `<snapshotter>/<key>` for `snapshot`, the image name for
// `image`. Deleting a lease deletes its resource rows (ON DELETE CASCADE), not the resources.

import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import type { Connection } from './database.ts';
import { violatedConstraint } from './database.ts';
import type { Labels, Row } from './rows.ts';
import { checkName, labelsJson, now, oneOf, optionalText, quote, stringMap, text } from './rows.ts';

export type LeaseResourceType = 'content' | 'snapshot' | 'image';
const resourceTypes: readonly LeaseResourceType[] = ['content', 'snapshot', 'image'];

export interface LeaseResource {
  type: LeaseResourceType;
  id: string;
}

export interface Lease {
  id: string;
  labels: Labels;
  created: string;
  /** When the lease stops protecting its resources; absent: until deleted. */
  expires?: string;
}

export interface NewLease {
  id: string;
  labels?: Labels;
  expires?: Date;
}

export interface LeaseStore {
  get(id: string): Lease;
  list(): Lease[];
  /** Leases whose expiry is at or before `at` (now by default), for the garbage collector to delete. */
  expired(at?: Date): Lease[];
  create(lease: NewLease): Lease;
  /**
   * Moves the lease's expiry to `expires` (earlier or later): how a long operation keeps its lease
   * from expiring under it (a pull renews its lease while it runs, src/images/pull.ts).
   */
  renew(id: string, expires: Date): Lease;
  /** Deletes the lease and its resource rows. */
  delete(id: string): void;
  /** Adds a resource to the lease; adding one it already holds does nothing. */
  addResource(id: string, resource: LeaseResource): void;
  /** Removes a resource from the lease; removing one it does not hold does nothing. */
  removeResource(id: string, resource: LeaseResource): void;
  resources(id: string): LeaseResource[];
  /** The ids of the leases holding `resource`. */
  holders(resource: LeaseResource): string[];
}

const columns = 'id, labels, created, expires';

export function leaseStore({ db }: Connection): LeaseStore {
  const getStmt = db.prepare(`SELECT ${columns} FROM leases WHERE id = ?`);
  const listStmt = db.prepare(`SELECT ${columns} FROM leases ORDER BY created, id`);
  const expiredStmt = db.prepare(`SELECT ${columns} FROM leases WHERE expires <= ? ORDER BY expires, id`);
  const insertStmt = db.prepare(`INSERT INTO leases (${columns}) VALUES (?, ?, ?, ?) RETURNING ${columns}`);
  const deleteStmt = db.prepare('DELETE FROM leases WHERE id = ?');
  const renewStmt = db.prepare(`UPDATE leases SET expires = ? WHERE id = ? RETURNING ${columns}`);
  const addStmt = db.prepare(
    'INSERT INTO lease_resources (lease, type, id) VALUES (?, ?, ?) ON CONFLICT (lease, type, id) DO NOTHING',
  );
  const removeStmt = db.prepare('DELETE FROM lease_resources WHERE lease = ? AND type = ? AND id = ?');
  const resourcesStmt = db.prepare('SELECT type, id FROM lease_resources WHERE lease = ? ORDER BY type, id');
  const holdersStmt = db.prepare(
    'SELECT lease FROM lease_resources WHERE type = ? AND id = ? ORDER BY lease',
  );

  const get = (id: string): Lease => {
    const row = getStmt.get(id);
    if (row === undefined) throw notFound(id);
    return decode(row);
  };

  return {
    get,
    list: () => listStmt.all().map(decode),
    expired: (at = new Date()) => expiredStmt.all(iso(at, 'expired leases')).map(decode),
    create(lease) {
      checkName(lease.id, 'lease');
      const what = `lease ${quote(lease.id)}`;
      const expires = lease.expires === undefined ? null : iso(lease.expires, what);
      try {
        return decode(insertStmt.get(lease.id, labelsJson(lease.labels, what), now(), expires)!);
      } catch (err) {
        if (violatedConstraint(err) === 'unique') {
          throw new AlreadyExistsError(`${what}: already exists`, { cause: err });
        }
        throw err;
      }
    },
    renew(id, expires) {
      const row = renewStmt.get(iso(expires, `lease ${quote(id)}`), id);
      if (row === undefined) throw notFound(id);
      return decode(row);
    },
    delete(id) {
      if (deleteStmt.run(id).changes === 0) throw notFound(id);
    },
    addResource(id, resource) {
      checkResource(resource);
      try {
        addStmt.run(id, resource.type, resource.id);
      } catch (err) {
        // The only foreign key of lease_resources is the lease: a missing lease is the caller's
        // NotFound, not a precondition of some other object.
        if (violatedConstraint(err) === 'foreign-key') throw notFound(id, err);
        throw err;
      }
    },
    removeResource(id, resource) {
      if (removeStmt.run(id, resource.type, resource.id).changes === 0) get(id);
    },
    resources(id) {
      get(id);
      return resourcesStmt.all(id).map((row) => ({
        type: oneOf(row, 'type', resourceTypes, `lease ${quote(id)}`),
        id: text(row, 'id', `lease ${quote(id)}`),
      }));
    },
    holders(resource) {
      return holdersStmt.all(resource.type, resource.id).map((row) => text(row, 'lease', 'lease resource'));
    },
  };
}

function checkResource(r: LeaseResource): void {
  if (!resourceTypes.includes(r.type)) {
    throw new InvalidArgumentError(
      `lease resource type ${quote(String(r.type))}: not one of ${resourceTypes.join(', ')}`,
    );
  }
  if (typeof r.id !== 'string' || r.id === '')
    throw new InvalidArgumentError(`lease ${r.type} resource: id is empty`);
}

function iso(date: Date, what: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(`${what}: expiry is not a valid date`);
  }
  return date.toISOString();
}

function notFound(id: string, cause?: unknown): NotFoundError {
  return new NotFoundError(`lease ${quote(id)}: not found`, { cause });
}

function decode(row: Row): Lease {
  const id = text(row, 'id', 'lease');
  const what = `lease ${quote(id)}`;
  const lease: Lease = { id, labels: stringMap(row, 'labels', what), created: text(row, 'created', what) };
  const expires = optionalText(row, 'expires', what);
  if (expires !== undefined) lease.expires = expires;
  return lease;
}
