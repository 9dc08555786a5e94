// Reading the layout's small JSON documents (oci-layout, index.json, an ingest's `expected`) with the
// project's error classes: a missing file is NotFound, a malformed one DataLoss.

import { readFile } from 'node:fs/promises';
import { DataLossError, isErrno, NotFoundError } from '../errdefs/index.ts';
import type { Index } from '../oci/image/index.ts';

/** Parses a JSON file: NotFoundError (with `missing` as message) when absent, DataLossError when malformed. */
export async function readJson(path: string, missing: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(missing, { cause: err });
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new DataLossError(`${path}: not valid JSON`, { cause: err });
    throw err;
  }
}

export function isIndex(value: unknown): value is Index {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { schemaVersion?: unknown; manifests?: unknown };
  return v.schemaVersion === 2 && Array.isArray(v.manifests);
}
