// Small checkers for parsed JSON documents: image manifests, indexes and configs (oci/image) and
// runtime config.json and state (oci/runtime). Each takes the place it is looking at, so that every
// error names the document and the field path: `manifest sha256:…: layers[2].digest: …`,
// `config.json: process.user.uid: …`. The validators built from these follow the specs' rule that
// unknown properties are ignored, never an error (image-spec descriptor.md "Extensibility",
// runtime-spec config.md), and treat an explicit `null` for an optional field as absent: Go
// encoders write nil slices and maps as null (Docker's image configs are full of `"Labels": null`),
// and Go decoders accept it.

import { InvalidArgumentError } from '../errdefs/index.ts';

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

export function array<T>(at: At, v: unknown, each: (at: At, v: unknown) => T): T[] {
  if (!Array.isArray(v)) fail(at, `expected an array, got ${describe(v)}`);
  return v.map((x: unknown, i) => each(item(at, i), x));
}

export function arrayOf<T>(each: (at: At, v: unknown) => T): (at: At, v: unknown) => T[] {
  return (at, v) => array(at, v, each);
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

export function oneOf<T extends string>(values: readonly T[]): (at: At, v: unknown) => T {
  return (at, v) => {
    const s = string(at, v);
    if (!(values as readonly string[]).includes(s))
      fail(at, `${JSON.stringify(s)} is not one of ${values.join(', ')}`);
    return s as T;
  };
}

/** An absolute path: config.md requires it of `process.cwd`, Linux mount destinations, hook paths. */
export function absolutePath(at: At, v: unknown): string {
  const s = string(at, v);
  if (!s.startsWith('/')) fail(at, `expected an absolute path, got ${JSON.stringify(s)}`);
  return s;
}

/**
 * An integer in [min, max]. The spec's uint64 and int64 fields (rlimits, memory limits) can hold
 * values past 2^53; JSON.parse rounds those to the nearest double, so such values are accepted as
 * the double they became (runc's RLIM_INFINITY, 2^64-1, reads back as 2^64).
 */
export function integer(min: number, max: number, what: string): (at: At, v: unknown) => number {
  return (at, v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(at, `expected ${what}, got ${describe(v)}`);
    }
    return v;
  };
}

export const uint32 = integer(0, 2 ** 32 - 1, 'an integer in 0 … 2^32-1');
export const int32 = integer(-(2 ** 31), 2 ** 31 - 1, 'an integer in -2^31 … 2^31-1');
export const uint64 = integer(0, 2 ** 64, 'an integer in 0 … 2^64-1');
export const int64 = integer(-(2 ** 63), 2 ** 63, 'an integer in -2^63 … 2^63-1');

/** Copies the optional fields `keys` of `obj`, each checked by its checker, into `out`. */
export function copyOptional<T extends object>(
  out: T,
  obj: JsonObject,
  at: At,
  checks: { [K in keyof T]?: (at: At, v: unknown) => T[K] },
): T {
  const target = out as Record<string, unknown>;
  for (const [key, check] of Object.entries(checks) as [string, (at: At, v: unknown) => unknown][]) {
    const value = optional(obj, at, key, check);
    if (value !== undefined) target[key] = value;
  }
  return out;
}
