// Image records: a name (the full normalised reference, `docker.io/library/busybox:latest`) pointing
// at a target descriptor (an index or a manifest in the content store), after containerd's
// core/metadata/images.go. Like containerd, only the target's mediaType, digest, size and annotations
// are kept: the descriptor is a pointer into content, and the rest (platform, urls) lives there.
//
// Each method is one SQL statement, so each is atomic without an explicit transaction; callers that
// change an image together with other rows wrap the calls in `transaction`.

import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import type { Descriptor } from '../oci/image/index.ts';
import { parseDigest } from '../oci/image/index.ts';
import type { Connection } from './database.ts';
import { violatedConstraint } from './database.ts';
import type { Labels, Row } from './rows.ts';
import {
  checkName,
  checkStringMap,
  integer,
  labelsJson,
  now,
  optionalText,
  quote,
  stringMap,
  text,
} from './rows.ts';

export type ImageTarget = Pick<Descriptor, 'mediaType' | 'digest' | 'size' | 'annotations'>;

export interface Image {
  name: string;
  target: ImageTarget;
  labels: Labels;
  created: string;
  updated: string;
}

export interface NewImage {
  name: string;
  target: ImageTarget;
  labels?: Labels;
}

/** Fields to replace; an absent field keeps its value. `labels` replaces the whole set. */
export interface ImageUpdate {
  target?: ImageTarget;
  labels?: Labels;
}

/** All given conditions must hold. */
export interface ImageFilter {
  namePrefix?: string;
  digest?: string;
  /** Each label must be present with exactly this value. */
  labels?: Labels;
}

export interface ImageStore {
  get(name: string): Image;
  list(filter?: ImageFilter): Image[];
  create(image: NewImage): Image;
  update(name: string, changes: ImageUpdate): Image;
  /** Creates the image or replaces its target (and labels, when given), keeping `created`. */
  put(image: NewImage): Image;
  delete(name: string): void;
  /** Returns whether there was an image to delete. */
  deleteIfExists(name: string): boolean;
}

const columns = 'name, media_type, digest, size, annotations, labels, created, updated';

export function imageStore({ db }: Connection): ImageStore {
  const getStmt = db.prepare(`SELECT ${columns} FROM images WHERE name = ?`);
  const insertStmt = db.prepare(
    `INSERT INTO images (${columns}) VALUES (:name, :media_type, :digest, :size, :annotations, coalesce(:labels, '{}'), :now, :now)
     RETURNING ${columns}`,
  );
  const updateStmt = db.prepare(
    `UPDATE images SET media_type = coalesce(:media_type, media_type), digest = coalesce(:digest, digest),
       size = coalesce(:size, size), annotations = iif(:has_target, :annotations, annotations),
       labels = coalesce(:labels, labels), updated = :now
     WHERE name = :name RETURNING ${columns}`,
  );
  const putStmt = db.prepare(
    `INSERT INTO images (${columns}) VALUES (:name, :media_type, :digest, :size, :annotations, coalesce(:labels, '{}'), :now, :now)
     ON CONFLICT (name) DO UPDATE SET media_type = excluded.media_type, digest = excluded.digest,
       size = excluded.size, annotations = excluded.annotations, labels = coalesce(:labels, labels),
       updated = excluded.updated
     RETURNING ${columns}`,
  );
  const deleteStmt = db.prepare('DELETE FROM images WHERE name = ?');

  return {
    get(name) {
      const row = getStmt.get(name);
      if (row === undefined) throw notFound(name);
      return decode(row);
    },
    list(filter = {}) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (filter.namePrefix !== undefined) {
        where.push('substr(name, 1, ?) = ?');
        params.push(filter.namePrefix.length, filter.namePrefix);
      }
      if (filter.digest !== undefined) {
        where.push('digest = ?');
        params.push(filter.digest);
      }
      for (const [key, value] of Object.entries(filter.labels ?? {})) {
        where.push('EXISTS (SELECT 1 FROM json_each(images.labels) AS l WHERE l.key = ? AND l.value = ?)');
        params.push(key, value);
      }
      const sql = `SELECT ${columns} FROM images ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name`;
      return db
        .prepare(sql)
        .all(...params)
        .map(decode);
    },
    create(image) {
      try {
        return decode(insertStmt.get(params(image))!);
      } catch (err) {
        if (violatedConstraint(err) === 'unique') {
          throw new AlreadyExistsError(`image ${quote(image.name)}: already exists`, { cause: err });
        }
        throw err;
      }
    },
    update(name, changes) {
      const p = params({ name, target: changes.target, labels: changes.labels });
      const row = updateStmt.get({ ...p, has_target: changes.target === undefined ? 0 : 1 });
      if (row === undefined) throw notFound(name);
      return decode(row);
    },
    put(image) {
      return decode(putStmt.get(params(image))!);
    },
    delete(name) {
      if (deleteStmt.run(name).changes === 0) throw notFound(name);
    },
    deleteIfExists(name) {
      return deleteStmt.run(name).changes > 0;
    },
  };
}

/** Validated named parameters for the statements above; absent fields are NULL. */
function params(image: { name: string; target?: ImageTarget | undefined; labels?: Labels | undefined }) {
  const what = `image ${quote(image.name)}`;
  checkName(image.name, 'image');
  const t = image.target;
  if (t !== undefined) {
    parseDigest(t.digest, `${what}: target digest`);
    if (typeof t.mediaType !== 'string' || t.mediaType === '') {
      throw new InvalidArgumentError(`${what}: target media type is empty`);
    }
    if (!Number.isSafeInteger(t.size) || t.size < 0) {
      throw new InvalidArgumentError(`${what}: target size ${t.size} is not a non-negative integer`);
    }
  }
  return {
    name: image.name,
    media_type: t?.mediaType ?? null,
    digest: t?.digest ?? null,
    size: t?.size ?? null,
    annotations: t?.annotations === undefined ? null : annotationsJson(t.annotations, what),
    labels: image.labels === undefined ? null : labelsJson(image.labels, what),
    now: now(),
  };
}

function annotationsJson(annotations: unknown, what: string): string {
  checkStringMap(annotations, what, 'target annotations');
  return JSON.stringify(annotations);
}

function decode(row: Row): Image {
  const name = text(row, 'name', 'image');
  const what = `image ${quote(name)}`;
  const target: ImageTarget = {
    mediaType: text(row, 'media_type', what),
    digest: text(row, 'digest', what),
    size: integer(row, 'size', what),
  };
  if (optionalText(row, 'annotations', what) !== undefined)
    target.annotations = stringMap(row, 'annotations', what);
  return {
    name,
    target,
    labels: stringMap(row, 'labels', what),
    created: text(row, 'created', what),
    updated: text(row, 'updated', what),
  };
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`image ${quote(name)}: not found`);
}
