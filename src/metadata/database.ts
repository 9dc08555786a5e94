// Opening berth's one metadata database (`<root>/metadata.db`) and running transactions on it.
//
// Several processes use the file at once: every CLI invocation and the daemon. SQLite makes that safe
// with a file lock per database; the settings below are the ones that make it both safe and fast:
// - WAL journal: readers never block the writer and the writer never blocks readers; only writers
//   queue behind each other (https://sqlite.org/wal.html).
// - busy_timeout: a writer that finds the lock taken waits (SQLite retries) instead of failing at
//   once with SQLITE_BUSY.
// - synchronous=NORMAL: in WAL mode a commit does not fsync; the WAL is synced at checkpoints. A power
//   loss can drop the last commits but never corrupts the database (https://sqlite.org/pragma.html#pragma_synchronous).
//   Everything here can be rebuilt or re-pulled, and the daemon re-reads state at start.
// - foreign_keys=ON: off by default in SQLite, per connection; the schema relies on it.
//
// Every write transaction starts with BEGIN IMMEDIATE, which takes the write lock up front. A plain
// (deferred) BEGIN that reads first and writes later fails with SQLITE_BUSY_SNAPSHOT, without the
// busy handler's retry, when another process committed in between; IMMEDIATE waits instead.

import { DatabaseSync } from 'node:sqlite';
import { InternalError } from '../errdefs/index.ts';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
export const busyTimeoutMs = 10_000;

/** The file name of the metadata database under berth's root directory. */
export const databaseFile = 'metadata.db';

/** Runs `fn` in one transaction: all of its writes commit together, or none do if it throws. */
export type Transaction = <T>(fn: () => T) => T;

export interface Connection {
  readonly db: DatabaseSync;
  readonly transaction: Transaction;
}

/** Opens (creating if needed) the database at `path` with the settings above; no schema yet. */
export function openConnection(path: string): Connection {
  // `timeout` sets busy_timeout before the first statement, so every statement waits for another
  // process's lock; switching to WAL is the one exception (see enableWal).
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  try {
    const wal = enableWal(db);
    // Without WAL (a filesystem that cannot share memory between processes) NORMAL could corrupt the
    // file on power loss; FULL is the safe setting for a rollback journal.
    db.exec(`PRAGMA synchronous = ${wal ? 'NORMAL' : 'FULL'}`);
    db.exec('PRAGMA foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return { db, transaction: transactionOn(db) };
}

/**
 * Switches the file to WAL, returning false when SQLite keeps another mode. Converting a fresh file
 * needs an exclusive lock, and when another process is converting or opening it at the same moment
 * SQLite reports SQLITE_BUSY at once, without calling the busy handler (seen in
 * metadata-multiprocess.test.ts: one of four processes failed about one run in five). So the busy
 * wait is done here, up to busyTimeoutMs, as the busy handler would.
 */
function enableWal(db: DatabaseSync): boolean {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode === 'wal';
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      Atomics.wait(sleeper, 0, 0, busyRetryMs); // a synchronous sleep: opening is synchronous
    }
  }
}

const busyRetryMs = 5;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** SQLITE_BUSY or SQLITE_LOCKED, with any extended code (the low byte is the primary code). */
function isBusy(err: unknown): boolean {
  const errcode = err instanceof Error ? (err as { errcode?: unknown }).errcode : undefined;
  return typeof errcode === 'number' && ((errcode & 0xff) === 5 || (errcode & 0xff) === 6);
}

/**
 * The transaction helper for `db`. Nested calls become savepoints inside the outer transaction, so a
 * store method that needs a transaction also works inside a caller's larger one; a throw inside a
 * nested call undoes only that call's writes and propagates.
 */
export function transactionOn(db: DatabaseSync): Transaction {
  let depth = 0;
  return <T>(fn: () => T): T => {
    const level = depth;
    const savepoint = level === 0 ? undefined : `berth_${level}`;
    db.exec(savepoint === undefined ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    depth = level + 1;
    try {
      const result = fn();
      if (isThenable(result)) {
        // node:sqlite is synchronous; awaiting inside would keep the write lock across the event
        // loop and let unrelated statements on this connection join the transaction.
        throw new InternalError(
          'metadata transaction: the callback returned a Promise; it must be synchronous',
        );
      }
      db.exec(savepoint === undefined ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (err) {
      rollback(db, savepoint);
      throw err;
    } finally {
      depth = level;
    }
  };
}

function rollback(db: DatabaseSync, savepoint: string | undefined): void {
  // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR, …); a second ROLLBACK
  // would then fail and hide the original error.
  if (!db.isTransaction) return;
  if (savepoint === undefined) db.exec('ROLLBACK');
  else db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

// Extended result codes (https://sqlite.org/rescode.html), which node:sqlite puts in `errcode`.
const constraintCodes = {
  2067: 'unique', // SQLITE_CONSTRAINT_UNIQUE
  1555: 'unique', // SQLITE_CONSTRAINT_PRIMARYKEY
  787: 'foreign-key', // SQLITE_CONSTRAINT_FOREIGNKEY
  275: 'check', // SQLITE_CONSTRAINT_CHECK
} as const;

export type Constraint = (typeof constraintCodes)[keyof typeof constraintCodes];

/** Which constraint a node:sqlite error reports, or undefined for any other error. */
export function violatedConstraint(err: unknown): Constraint | undefined {
  if (!(err instanceof Error)) return undefined;
  const errcode = (err as { errcode?: unknown }).errcode;
  if (typeof errcode !== 'number' || !(errcode in constraintCodes)) return undefined;
  return constraintCodes[errcode as keyof typeof constraintCodes];
}
