import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { FailedPreconditionError, InternalError, NotFoundError } from '../../src/errdefs/index.ts';
import { openConnection } from '../../src/metadata/database.ts';
import { busyTimeoutMs, openMetadata, schemaVersion } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const target = {
  mediaType: 'application/vnd.oci.image.index.v1+json',
  digest: `sha256:${'a'.repeat(64)}`,
  size: 123,
};

/** A second, raw connection to the file, to look at what berth wrote. */
function raw(path: string): DatabaseSync {
  return new DatabaseSync(path, { readOnly: true });
}

function pragma(db: DatabaseSync, name: string): unknown {
  return Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
}

test('a fresh database is in WAL mode with the schema version set', (t) => {
  const root = join(tempDir(t, 'metadata'), 'nested', 'root');
  using m = openMetadata(root);
  assert.equal(m.path, join(root, 'metadata.db'));
  const db = raw(m.path);
  t.after(() => db.close());
  assert.equal(pragma(db, 'journal_mode'), 'wal');
  assert.equal(pragma(db, 'user_version'), schemaVersion);
  assert.ok(schemaVersion >= 1);
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all();
  assert.deepEqual(
    tables.map((r) => r.name).filter((n) => n !== 'sqlite_sequence'),
    ['containers', 'content_labels', 'images', 'lease_resources', 'leases', 'pods', 'snapshots'],
  );
});

test('the connection has foreign keys on, synchronous NORMAL and the busy timeout', (t) => {
  // Per-connection settings: read them on the connection berth opens, not on a second one.
  const { db } = openConnection(join(tempDir(t, 'metadata'), 'metadata.db'));
  t.after(() => db.close());
  assert.equal(pragma(db, 'foreign_keys'), 1);
  assert.equal(pragma(db, 'synchronous'), 1); // NORMAL
  assert.equal(pragma(db, 'busy_timeout'), busyTimeoutMs);
  assert.equal(pragma(db, 'journal_mode'), 'wal');
});

test('foreign keys are enforced through the stores', (t) => {
  using m = openMetadata(tempDir(t, 'metadata'));
  // lease_resources.lease references leases.id: only the foreign key catches this.
  assert.throws(() => m.leases.addResource('nope', { type: 'content', id: target.digest }), NotFoundError);
});

test('reopening applies no migration twice and keeps the data', (t) => {
  const root = tempDir(t, 'metadata');
  const first = openMetadata(root);
  first.images.create({ name: 'docker.io/library/busybox:latest', target });
  first.close();
  first.close(); // closing twice is harmless
  for (let i = 0; i < 3; i++) {
    using again = openMetadata(root);
    assert.equal(again.images.list().length, 1);
  }
  const db = raw(join(root, 'metadata.db'));
  t.after(() => db.close());
  assert.equal(pragma(db, 'user_version'), schemaVersion);
});

test('a database from a newer berth is refused, not downgraded', (t) => {
  const root = tempDir(t, 'metadata');
  openMetadata(root).close();
  const db = new DatabaseSync(join(root, 'metadata.db'));
  db.exec(`PRAGMA user_version = ${schemaVersion + 1}`);
  db.close();
  assert.throws(
    () => openMetadata(root),
    (err: unknown) => {
      assert.ok(err instanceof FailedPreconditionError);
      assert.match(err.message, /schema version \d+ is newer than this berth's \d+/);
      return true;
    },
  );
});

test('a transaction that throws leaves no partial rows', (t) => {
  using m = openMetadata(tempDir(t, 'metadata'));
  const boom = new Error('boom');
  assert.throws(
    () =>
      m.transaction(() => {
        m.images.create({ name: 'a.example/one:1', target });
        m.leases.create({ id: 'pull-1' });
        m.leases.addResource('pull-1', { type: 'content', id: target.digest });
        m.content.set(target.digest, { 'containerd.io/gc.ref.content.l.0': target.digest });
        throw boom;
      }),
    (err) => err === boom,
  );
  assert.deepEqual(m.images.list(), []);
  assert.deepEqual(m.leases.list(), []);
  assert.deepEqual(m.content.list(), []);
  // The connection is usable (not left inside a transaction).
  m.images.create({ name: 'a.example/one:1', target });
  assert.equal(m.images.list().length, 1);
});

test('a transaction commits all of its writes and returns the callback value', (t) => {
  using m = openMetadata(tempDir(t, 'metadata'));
  const n = m.transaction(() => {
    m.images.create({ name: 'a.example/one:1', target });
    m.images.create({ name: 'a.example/two:1', target });
    return 2;
  });
  assert.equal(n, 2);
  assert.equal(m.images.list().length, 2);
});

test('a nested transaction that throws undoes only its own writes', (t) => {
  using m = openMetadata(tempDir(t, 'metadata'));
  m.transaction(() => {
    m.images.create({ name: 'a.example/outer:1', target });
    assert.throws(() =>
      m.transaction(() => {
        m.images.create({ name: 'a.example/inner:1', target });
        throw new Error('inner');
      }),
    );
    m.images.create({ name: 'a.example/after:1', target });
  });
  assert.deepEqual(
    m.images.list().map((i) => i.name),
    ['a.example/after:1', 'a.example/outer:1'],
  );
});

test('an async transaction callback is refused and rolled back', (t) => {
  using m = openMetadata(tempDir(t, 'metadata'));
  assert.throws(
    () =>
      m.transaction(() => {
        m.images.create({ name: 'a.example/one:1', target });
        return Promise.resolve(1);
      }),
    InternalError,
  );
  assert.deepEqual(m.images.list(), []);
});
