// Small checkers for a parsed config.json or state document, in the style of oci/image's
// json-fields.ts (layer-1 folders may not import each other, so this is a second, smaller set).
// Each takes the place it is looking at, so every error names the document and the field path:
// `config.json: process.user.uid: …`. As in the image-spec, unknown properties are ignored and an
// explicit `null` for an optional field counts as absent (Go encoders write nil slices as null).

import { InvalidArgumentError } from '../../errdefs/index.ts';

export type JsonObject = Record<string, unknown>;

/** A place in a document: its name (`config.json`) and the field path (`mounts[2].destination`). */
export interface At {
  doc: string;
  path: string;
}

export function fail(at: At, reason: string): never {
  throw new InvalidArgumentError(
    at.path === '' ? `${at.doc}: ${reason}` : `${at.doc}: ${at.path}: ${reason}`,
  );
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** The place of `key` inside the object at `at`; keys like `net.ipv4.ip_forward` are quoted. */
export function field(at: At, key: string): At {
  if (!identifier.test(key)) return { doc: at.doc, path: `${at.path}[${JSON.stringify(key)}]` };
  return { doc: at.doc, path: at.path === '' ? key : `${at.path}.${key}` };
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

export function object(at: At, v: unknown): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail(at, `expected an object, got ${describe(v)}`);
  return v as JsonObject;
}

export function string(at: At, v: unknown): string {
  if (typeof v !== 'string') fail(at, `expected a string, got ${describe(v)}`);
  return v;
}

export function boolean(at: At, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(at, `expected true or false, got ${describe(v)}`);
  return v;
}

/** A string out of a fixed set, such as a namespace type or a seccomp action. */
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

export function array<T>(at: At, v: unknown, each: (at: At, v: unknown) => T): T[] {
  if (!Array.isArray(v)) fail(at, `expected an array, got ${describe(v)}`);
  return v.map((x: unknown, i) => each({ doc: at.doc, path: `${at.path}[${i}]` }, x));
}

export function arrayOf<T>(each: (at: At, v: unknown) => T): (at: At, v: unknown) => T[] {
  return (at, v) => array(at, v, each);
}

export function strings(at: At, v: unknown): string[] {
  return array(at, v, string);
}

export function stringMap(at: At, v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(object(at, v))) out[key] = string(field(at, key), value);
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
