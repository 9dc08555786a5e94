// Small checkers for parsed JSON documents (manifests, indexes, image configs). Each takes the
// place it is looking at, so that every error names the document and the field path:
// `manifest sha256:…: layers[2].digest: …`. The validators built from these follow the image-spec's
// rule that unknown properties are ignored, never an error (descriptor.md, "Extensibility"), and
// treat an explicit `null` for an optional field as absent: Go encoders write nil slices and maps as
// null (Docker's image configs are full of `"Labels": null`), and Go decoders accept it.

import { InvalidArgumentError } from '../../errdefs/index.ts';
import { parseDigest } from './digest.ts';
import type { Digest } from './types.ts';

export type JsonObject = Record<string, unknown>;

/** A place in a document: its name (`manifest sha256:…`) and the field path (`layers[2].digest`). */
export interface At {
  doc: string;
  path: string;
}

export function fail(at: At, reason: string, cause?: unknown): never {
  const where = at.path === '' ? at.doc : `${at.doc}: ${at.path}`;
  throw new InvalidArgumentError(`${where}: ${reason}`, cause === undefined ? {} : { cause });
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** The place of `key` inside the object at `at`; keys like `os.version` are written `["os.version"]`. */
export function field(at: At, key: string): At {
  if (!identifier.test(key)) return { doc: at.doc, path: `${at.path}[${JSON.stringify(key)}]` };
  return { doc: at.doc, path: at.path === '' ? key : `${at.path}.${key}` };
}

export function item(at: At, index: number): At {
  return { doc: at.doc, path: `${at.path}[${index}]` };
}

/** A short description of a bad value for messages: `number 3`, `string "x"`, `an array`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function object(at: At, v: unknown): JsonObject {
  if (!isObject(v)) fail(at, `expected an object, got ${describe(v)}`);
  return v;
}

export function string(at: At, v: unknown): string {
  if (typeof v !== 'string') fail(at, `expected a string, got ${describe(v)}`);
  return v;
}

export function nonEmptyString(at: At, v: unknown): string {
  if (string(at, v) === '') fail(at, 'must not be empty');
  return v as string;
}

export function boolean(at: At, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(at, `expected true or false, got ${describe(v)}`);
  return v;
}

/** A size or count: an integer in 0 … 2^53-1 (the spec says int64; past 2^53 JSON numbers lose bits). */
export function size(at: At, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(at, `expected a non-negative integer below 2^53, got ${describe(v)}`);
  }
  return v;
}

/** A digest in the canonical form parseDigest accepts (safe to use as a path component). */
export function digest(at: At, v: unknown): Digest {
  const s = string(at, v);
  try {
    parseDigest(s);
  } catch (err) {
    if (err instanceof InvalidArgumentError) fail(at, err.message, err);
    throw err;
  }
  return s;
}

export function array<T>(at: At, v: unknown, each: (at: At, v: unknown) => T): T[] {
  if (!Array.isArray(v)) fail(at, `expected an array, got ${describe(v)}`);
  return v.map((x: unknown, i) => each(item(at, i), x));
}

export function strings(at: At, v: unknown): string[] {
  return array(at, v, string);
}

/** A string → string map, such as `annotations` or `Labels`. */
export function stringMap(at: At, v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(object(at, v))) out[key] = string(field(at, key), value);
  return out;
}

/** A map whose values are objects, such as `ExposedPorts` (`{"80/tcp": {}}`); values are emptied. */
export function setMap(at: At, v: unknown): Record<string, Record<string, never>> {
  const out: Record<string, Record<string, never>> = {};
  for (const [key, value] of Object.entries(object(at, v))) {
    object(field(at, key), value);
    out[key] = {};
  }
  return out;
}

/** Checks `obj[key]` with `check` when it is present and not null; undefined otherwise. */
export function optional<T>(
  obj: JsonObject,
  at: At,
  key: string,
  check: (at: At, v: unknown) => T,
): T | undefined {
  const v = obj[key];
  return v === undefined || v === null ? undefined : check(field(at, key), v);
}

/** Checks `obj[key]` with `check`; missing or null is an error naming the field. */
export function required<T>(obj: JsonObject, at: At, key: string, check: (at: At, v: unknown) => T): T {
  const v = obj[key];
  if (v === undefined || v === null) fail(field(at, key), 'required field is missing');
  return check(field(at, key), v);
}

/** Sets `out[key]` only when `value` is defined, so that results carry no `undefined` properties. */
export function setIf<T extends object, K extends keyof T>(out: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}
