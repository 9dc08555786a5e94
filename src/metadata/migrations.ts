// The metadata schema, as an ordered list of migrations. `PRAGMA user_version` holds the number of
// migrations applied; opening the database applies the missing ones in one transaction. Never edit a
// released migration: append a new one (a database written by an older berth only runs the new ones).
//
// Tables are STRICT (a value of the wrong type is an error, not silently stored) and times are ISO
// 8601 UTC strings from Date.toISOString(), which sort as text in time order.

import type { DatabaseSync } from 'node:sqlite';
import { FailedPreconditionError } from '../errdefs/index.ts';
import type { Transaction } from './database.ts';

const v1 = `
CREATE TABLE images (
  name TEXT PRIMARY KEY,
  media_type TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  annotations TEXT,
  labels TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL,
  updated TEXT NOT NULL
) STRICT;
CREATE INDEX images_by_digest ON images (digest);

-- AUTOINCREMENT so that an id is never handed out twice: the id names the snapshot's directory, and a
-- directory left behind by a crash between the row's delete and the directory's removal must not be
-- adopted by a new snapshot.
CREATE TABLE snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  snapshotter TEXT NOT NULL,
  key TEXT NOT NULL,
  parent TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
  labels TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  UNIQUE (snapshotter, key),
  -- No ON DELETE action: deleting a snapshot that still has children fails (a parent chain must stay
  -- whole while any child is mounted from it). A NULL parent is not checked.
  FOREIGN KEY (snapshotter, parent) REFERENCES snapshots (snapshotter, key)
) STRICT;
CREATE INDEX snapshots_by_parent ON snapshots (snapshotter, parent);

CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  labels TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL,
  expires TEXT
) STRICT;
CREATE INDEX leases_by_expiry ON leases (expires) WHERE expires IS NOT NULL;

CREATE TABLE lease_resources (
  lease TEXT NOT NULL REFERENCES leases (id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('content', 'snapshot', 'image')),
  id TEXT NOT NULL,
  PRIMARY KEY (lease, type, id)
) STRICT, WITHOUT ROWID;
-- The garbage collector asks "does any lease hold this blob?".
CREATE INDEX lease_resources_by_resource ON lease_resources (type, id);

-- One row per label rather than a JSON column: the garbage collector follows
-- containerd.io/gc.ref.* labels and looks blobs up by label value.
CREATE TABLE content_labels (
  digest TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (digest, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX content_labels_by_value ON content_labels (value, key);

-- Containers and pod sandboxes get their tables in a later migration, when the lifecycle services
-- (layer 4) define what they persist; their rows will reference images(name) and snapshots(id).
`;

// Containers (issue 4). The lifecycle service owns the record's shape (a versioned JSON document in
// `record`); the columns are what lookups and guards need. `version` rises by one on every write, so
// two processes changing one container never both win (compare-and-set in ContainerStore.update).
const v2 = `
CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('creating', 'created', 'running', 'stopped', 'removing', 'unknown')),
  version INTEGER NOT NULL CHECK (version >= 1),
  record TEXT NOT NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
) STRICT;
`;

// Pod sandboxes (issue 5). As with containers, the pod service owns the record's shape (a versioned
// JSON document in `record`: namespaces, CNI result, DNS, ...); the columns are what lookups and the
// compare-and-set need. `name` is unique: the CRI layer makes it from the pod's metadata (name,
// namespace, uid, attempt), so a second RunPodSandbox for the same attempt is refused.
const v3 = `
CREATE TABLE pods (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('creating', 'ready', 'notready', 'removing')),
  version INTEGER NOT NULL CHECK (version >= 1),
  record TEXT NOT NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
) STRICT;
`;

/** Migration n (1-based) brings the schema from user_version n-1 to n. */
export const migrations: readonly string[] = [v1, v2, v3];

/** The schema version this code reads and writes. */
export const schemaVersion = migrations.length;

/**
 * Applies the migrations the database lacks. Two processes opening a fresh file at once both get
 * here; BEGIN IMMEDIATE (inside `transaction`) makes the second wait for the first's commit, and it
 * re-reads user_version inside the transaction, so it finds nothing left to do.
 */
export function migrate(db: DatabaseSync, transaction: Transaction, path: string): void {
  if (userVersion(db) === schemaVersion) return; // the common case: no write lock needed
  transaction(() => {
    const current = userVersion(db);
    if (current > schemaVersion) {
      throw new FailedPreconditionError(
        `metadata database ${path}: schema version ${current} is newer than this berth's ${schemaVersion}`,
        { hint: 'use the berth version that wrote it, or a newer one' },
      );
    }
    for (let v = current; v < schemaVersion; v++) db.exec(migrations[v]!);
    // PRAGMA takes no bound parameters; the value is an integer we computed.
    db.exec(`PRAGMA user_version = ${schemaVersion}`);
  });
}

export function userVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get();
  const v = row?.user_version;
  return typeof v === 'number' ? v : Number(v ?? 0);
}
