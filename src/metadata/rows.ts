// Reading typed values out of node:sqlite rows, and the label and time conventions every store shares.
// Rows come back as Record<string, SQLOutputValue>; a value of an unexpected type means the file was
// changed by something other than berth, which is reported as DataLoss naming the object.

import type { SQLOutputValue } from 'node:sqlite';
import { DataLossError, InvalidArgumentError } from '../errdefs/index.ts';

export type Row = Record<string, SQLOutputValue>;
export type Labels = Record<string, string>;

/** containerd's limit on one label (key plus value), so labels copied between the two still fit. */
export const maxLabelLength = 4096;

export function text(row: Row, column: string, what: string): string {
  const v = row[column];
  if (typeof v !== 'string') throw corrupt(what, `column ${column} is ${typeof v}, not text`);
  return v;
}

/** A text column restricted to `values` (the schema's CHECK constraint). */
export function oneOf<T extends string>(row: Row, column: string, values: readonly T[], what: string): T {
  const v = text(row, column, what);
  if (!(values as readonly string[]).includes(v)) throw corrupt(what, `column ${column} is ${quote(v)}`);
  return v as T;
}

export function optionalText(row: Row, column: string, what: string): string | undefined {
  return row[column] === null ? undefined : text(row, column, what);
}

export function integer(row: Row, column: string, what: string): number {
  const v = row[column];
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw corrupt(what, `column ${column} is not a safe integer`);
}

/** Parses a JSON object of strings stored in `column` (labels, annotations). */
export function stringMap(row: Row, column: string, what: string): Labels {
  const raw = text(row, column, what);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    if (err instanceof SyntaxError) throw corrupt(what, `column ${column} is not JSON`, err);
    throw err;
  }
  if (!isStringMap(parsed)) throw corrupt(what, `column ${column} is not an object of strings`);
  return parsed;
}

/** Validates labels given by a caller and returns them as the JSON stored in a column. */
export function labelsJson(labels: Labels | undefined, what: string): string {
  return JSON.stringify(checkLabels(labels ?? {}, what));
}

export function checkLabels(labels: Labels, what: string): Labels {
  checkStringMap(labels, what, 'labels');
  for (const [key, value] of Object.entries(labels)) checkLabel(key, value, what);
  return labels;
}

export function checkLabel(key: string, value: string, what: string): void {
  if (key === '') throw new InvalidArgumentError(`${what}: label key is empty`);
  if (key.length + value.length > maxLabelLength) {
    throw new InvalidArgumentError(
      `${what}: label ${JSON.stringify(key)} is longer than ${maxLabelLength} characters (key and value)`,
    );
  }
}

export function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${what}: name is empty`);
}

/** Throws unless `v` is a plain object of strings (labels, annotations). */
export function checkStringMap(v: unknown, what: string, field: string): asserts v is Labels {
  if (!isStringMap(v)) throw new InvalidArgumentError(`${what}: ${field} must be an object of strings`);
}

function isStringMap(v: unknown): v is Labels {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((x) => typeof x === 'string');
}

function corrupt(what: string, reason: string, cause?: unknown): DataLossError {
  return new DataLossError(`${what}: corrupt metadata row: ${reason}`, { cause });
}

/** The current time as stored: ISO 8601 UTC with milliseconds, which sorts as text. */
export function now(): string {
  return new Date().toISOString();
}

/** `"name"` quoted the way error messages quote object names. */
export function quote(name: string): string {
  return JSON.stringify(name);
}
