// The on-disk form of a partial ingest (after containerd's content/local store):
//
//   <content>/ingest/<sha256 of the ref>/
//     data        the bytes received so far, in order
//     ref         the ref string (the directory is named by its hash, so any ref is a safe name)
//     expected    {"digest": …, "size": …} the blob these bytes must become
//     startedat   ISO 8601 time the ingest began
//     updatedat   ISO 8601 time a writer last opened, closed or committed it
//     lock        held while a writer has it open (ingest-lock.ts)
//
// Everything here except `data` is written with replaceFile (temp + fsync + rename), so a crash
// leaves either the old or the new version of each small file.

import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';
import { isDigest } from '../oci/image/index.ts';
import { replaceFile } from './atomic-file.ts';
import { ingestLockPath } from './ingest-lock.ts';
import { isAlive, readOwner } from './lock-file.ts';
import type { ExpectedBlob, IngestStatus } from './types.ts';

export const ingestDirName = 'ingest';
export const dataFile = 'data';
const refFile = 'ref';
const expectedFile = 'expected';
const startedFile = 'startedat';
const updatedFile = 'updatedat';

/** The directory of the ingest `ref` under the ingest root. */
export function ingestDirFor(ingestRoot: string, ref: string): string {
  return join(ingestRoot, createHash('sha256').update(ref).digest('hex'));
}

export interface IngestMeta {
  ref: string | undefined;
  expected: ExpectedBlob | undefined;
  startedAt: Date | undefined;
  updatedAt: Date | undefined;
}

export async function readMeta(dir: string): Promise<IngestMeta> {
  const [ref, expected, started, updated] = await Promise.all(
    [refFile, expectedFile, startedFile, updatedFile].map((name) => readText(join(dir, name))),
  );
  return {
    ref,
    expected: parseExpected(expected),
    startedAt: parseTime(started),
    updatedAt: parseTime(updated),
  };
}

/** Records a new ingest's ref, expected blob and start time. */
export async function writeNewMeta(dir: string, ref: string, expected: ExpectedBlob): Promise<void> {
  const json: ExpectedBlob = { digest: expected.digest };
  if (expected.size !== undefined) json.size = expected.size;
  await replaceFile(dir, refFile, ref);
  await replaceFile(dir, expectedFile, JSON.stringify(json));
  await replaceFile(dir, startedFile, new Date().toISOString());
}

export async function touchUpdated(dir: string): Promise<void> {
  await replaceFile(dir, updatedFile, new Date().toISOString());
}

/**
 * Deletes an ingest directory. It is first renamed to a hidden name, atomically: from then on no
 * writer can see a half-deleted ingest (data gone but `expected` still there), and the lock inside
 * it disappears with it, which is what lets the next writer in (ingest-lock.ts). Only the holder of
 * the lock calls this.
 */
export async function removeIngestDir(ingestRoot: string, dir: string): Promise<void> {
  const trash = join(ingestRoot, `.trash-${randomBytes(8).toString('hex')}`);
  try {
    await rename(dir, trash);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

/** The status of the ingest in `dir`; undefined while it has no ref file yet (or was just removed). */
export async function readStatus(dir: string): Promise<IngestStatus | undefined> {
  const meta = await readMeta(dir);
  if (meta.ref === undefined) return undefined;
  let offset = 0;
  try {
    offset = (await stat(join(dir, dataFile))).size;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  const owner = await readOwner(ingestLockPath(dir));
  const lockedBy = owner && (await isAlive(owner)) ? owner.pid : undefined;
  return {
    ref: meta.ref,
    offset,
    expected: meta.expected,
    startedAt: meta.startedAt,
    updatedAt: meta.updatedAt,
    lockedBy,
  };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** The recorded expected blob; undefined when missing or malformed (the ingest then starts over). */
function parseExpected(text: string | undefined): ExpectedBlob | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const v = value as { digest?: unknown; size?: unknown } | null;
  if (typeof v?.digest !== 'string' || !isDigest(v.digest)) return undefined;
  if (v.size === undefined) return { digest: v.digest };
  return Number.isSafeInteger(v.size) ? { digest: v.digest, size: v.size as number } : undefined;
}

function parseTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text.trim());
  return Number.isNaN(date.getTime()) ? undefined : date;
}
