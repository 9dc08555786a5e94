import { isAbsolute } from 'node:path';
import { InvalidArgumentError } from '../errdefs/index.ts';
import { type Config, type Field, type Schema, type Section, schema } from './schema.ts';

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkField(source: string, key: string, field: Field, value: unknown): unknown {
  const bad = (expected: string) =>
    new InvalidArgumentError(`${source}: key "${key}": expected ${expected}, got ${describe(value)}`);
  const kind = field.kind;
  switch (kind.type) {
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      if (kind.nonEmpty && value === '') throw bad('a non-empty string');
      return value;
    case 'path':
      if (typeof value !== 'string' || !isAbsolute(value)) throw bad('an absolute path');
      return value;
    case 'integer': {
      // smol-toml returns TOML integers as numbers (or bigint past 2^53, which no key here allows).
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('an integer');
      const range = kind.max === undefined ? `>= ${kind.min}` : `between ${kind.min} and ${kind.max}`;
      if (value < kind.min || (kind.max !== undefined && value > kind.max)) throw bad(`an integer ${range}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) {
        throw bad(`one of ${kind.values.map((v) => JSON.stringify(v)).join(', ')}`);
      }
      return value;
    case 'strings':
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw bad('an array of strings');
      return [...value];
  }
}

function checkSection(source: string, prefix: string, section: Section, input: Table, out: Table): void {
  for (const [key, value] of Object.entries(input)) {
    const field = section.fields[key];
    if (field === undefined) {
      const known = Object.keys(section.fields).join(', ');
      throw new InvalidArgumentError(`${source}: unknown key "${prefix}${key}"`, {
        hint: `known keys here: ${known}`,
      });
    }
    out[key] = checkField(source, prefix + key, field, value);
  }
}

function defaults(section: Section): Table {
  const out: Table = {};
  for (const [key, field] of Object.entries(section.fields)) {
    out[key] = Array.isArray(field.default) ? [...field.default] : field.default;
  }
  return out;
}

/** Builds a Config from a parsed TOML document, naming `source` and the key in every error. */
export function validateConfig(input: unknown, source: string): Config {
  if (!isTable(input)) throw new InvalidArgumentError(`${source}: expected a TOML document`);
  const out: Table = defaults(schema.top);
  const topLevel: Table = {};
  for (const [key, value] of Object.entries(input)) {
    if (key in schema && key !== 'top') {
      const section = schema[key as Exclude<keyof Schema, 'top'>];
      if (!isTable(value)) {
        throw new InvalidArgumentError(`${source}: key "${key}": expected a table, got ${describe(value)}`);
      }
      const values = defaults(section);
      checkSection(source, `${key}.`, section, value, values);
      out[key] = values;
    } else {
      topLevel[key] = value;
    }
  }
  checkSection(source, '', schema.top, topLevel, out);
  for (const [name, section] of Object.entries(schema)) {
    if (name !== 'top' && !(name in out)) out[name] = defaults(section);
  }
  return out as Config;
}

export function defaultConfig(): Config {
  return validateConfig({}, 'defaults');
}
