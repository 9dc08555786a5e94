// Labels on content-store blobs, by digest. The blobs themselves live in the content store (files);
// their labels live here because they change after the blob is written and must change in the same
// transaction as image records. containerd keeps garbage-collection references this way: a manifest
// blob carries `containerd.io/gc.ref.content.config` and `containerd.io/gc.ref.content.l.<n>` naming
// the blobs it needs, so the collector can walk from an image to every blob it keeps alive
// (containerd core/metadata/gc.go). berth records the same labels when it stores an image.
//
// A digest with no labels has no rows: `get` of an unknown digest is `{}`, not NotFound, since
// whether the blob exists is the content store's question.

import type { Digest } from '../oci/image/index.ts';
import { parseDigest } from '../oci/image/index.ts';
import type { Connection } from './database.ts';
import type { Labels } from './rows.ts';
import { checkLabel, checkLabels, checkStringMap, quote, text } from './rows.ts';

/** The containerd label prefix marking a reference from one blob to another, for the collector. */
export const gcRefContentPrefix = 'containerd.io/gc.ref.content';

export interface ContentLabel {
  digest: Digest;
  key: string;
  value: string;
}

export interface ContentLabelStore {
  /** The blob's labels; `{}` when it has none. */
  get(digest: Digest): Labels;
  /** Replaces all of the blob's labels. */
  set(digest: Digest, labels: Labels): void;
  /** Sets the given labels and removes those given as null; returns the resulting labels. */
  update(digest: Digest, changes: Record<string, string | null>): Labels;
  /** Removes all of the blob's labels (when the blob is deleted). */
  delete(digest: Digest): void;
  /** Every labelled blob with its labels, by digest. */
  list(): { digest: Digest; labels: Labels }[];
  /** Labels whose key starts with `keyPrefix` and, if given, whose value is `value`. */
  find(filter: { keyPrefix?: string; value?: string }): ContentLabel[];
}

export function contentLabelStore({ db, transaction }: Connection): ContentLabelStore {
  const getStmt = db.prepare('SELECT key, value FROM content_labels WHERE digest = ? ORDER BY key');
  const upsertStmt = db.prepare(
    `INSERT INTO content_labels (digest, key, value) VALUES (?, ?, ?)
     ON CONFLICT (digest, key) DO UPDATE SET value = excluded.value`,
  );
  const removeStmt = db.prepare('DELETE FROM content_labels WHERE digest = ? AND key = ?');
  const deleteStmt = db.prepare('DELETE FROM content_labels WHERE digest = ?');
  const listStmt = db.prepare('SELECT digest, key, value FROM content_labels ORDER BY digest, key');

  const get = (digest: Digest): Labels => {
    const labels: Labels = {};
    for (const row of getStmt.all(digest))
      labels[text(row, 'key', what(digest))] = text(row, 'value', what(digest));
    return labels;
  };

  return {
    get,
    set(digest, labels) {
      parseDigest(digest, 'blob digest');
      checkLabels(labels, what(digest));
      transaction(() => {
        deleteStmt.run(digest);
        for (const [key, value] of Object.entries(labels)) upsertStmt.run(digest, key, value);
      });
    },
    update(digest, changes) {
      parseDigest(digest, 'blob digest');
      checkStringMap(
        Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== null)),
        what(digest),
        'labels',
      );
      for (const [key, value] of Object.entries(changes)) checkLabel(key, value ?? '', what(digest));
      return transaction(() => {
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) removeStmt.run(digest, key);
          else upsertStmt.run(digest, key, value);
        }
        return get(digest);
      });
    },
    delete(digest) {
      deleteStmt.run(digest);
    },
    list() {
      const out: { digest: Digest; labels: Labels }[] = [];
      for (const row of listStmt.all()) {
        const digest = text(row, 'digest', 'blob');
        const last = out.at(-1);
        const entry = last?.digest === digest ? last : { digest, labels: {} };
        if (entry !== last) out.push(entry);
        entry.labels[text(row, 'key', what(digest))] = text(row, 'value', what(digest));
      }
      return out;
    },
    find({ keyPrefix = '', value }) {
      const where = ['substr(key, 1, ?) = ?'];
      const params: (string | number)[] = [keyPrefix.length, keyPrefix];
      if (value !== undefined) {
        where.push('value = ?');
        params.push(value);
      }
      const sql = `SELECT digest, key, value FROM content_labels WHERE ${where.join(' AND ')} ORDER BY digest, key`;
      return db
        .prepare(sql)
        .all(...params)
        .map((row) => ({
          digest: text(row, 'digest', 'blob'),
          key: text(row, 'key', 'blob label'),
          value: text(row, 'value', 'blob label'),
        }));
    },
  };
}

function what(digest: Digest): string {
  return `blob ${quote(digest)}`;
}
