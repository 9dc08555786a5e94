// Validator for the image configuration (image-spec 1.1 config.md; Docker's image JSON, whose
// fields berth reads are the same). Only the fields a runtime uses are kept; Docker-only fields
// (container_config, docker_version, Healthcheck, …) are ignored as the spec requires of unknown
// properties.

import {
  type At,
  array,
  boolean,
  digest,
  fail,
  field,
  nonEmptyString,
  object,
  optional,
  required,
  setIf,
  setMap,
  string,
  stringMap,
  strings,
} from './json-fields.ts';
import type { Digest, History, ImageConfig, ImageRunConfig } from './types.ts';

// config.md: `created` and history's `created` are RFC 3339 date-times (section 5.6). Go's
// time.Time, which containerd decodes them into, refuses anything else.
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function dateTime(at: At, v: unknown): string {
  const s = string(at, v);
  if (!rfc3339.test(s)) fail(at, `expected an RFC 3339 date-time, got ${JSON.stringify(s)}`);
  return s;
}

function runConfig(at: At, v: unknown): ImageRunConfig {
  const o = object(at, v);
  const out: ImageRunConfig = {};
  setIf(out, 'User', optional(o, at, 'User', string));
  setIf(out, 'ExposedPorts', optional(o, at, 'ExposedPorts', setMap));
  // config.md says entries are VARNAME=VARVALUE but images with bare names exist; the spec
  // generator decides what to do with those, so they are kept as they are.
  setIf(out, 'Env', optional(o, at, 'Env', strings));
  // A null Entrypoint or Cmd means "none", the same as absent, so both come out as absent.
  setIf(out, 'Entrypoint', optional(o, at, 'Entrypoint', strings));
  setIf(out, 'Cmd', optional(o, at, 'Cmd', strings));
  setIf(out, 'Volumes', optional(o, at, 'Volumes', setMap));
  setIf(out, 'WorkingDir', optional(o, at, 'WorkingDir', string));
  setIf(out, 'Labels', optional(o, at, 'Labels', stringMap));
  setIf(out, 'StopSignal', optional(o, at, 'StopSignal', string));
  setIf(out, 'ArgsEscaped', optional(o, at, 'ArgsEscaped', boolean));
  return out;
}

function history(at: At, v: unknown): History {
  const o = object(at, v);
  const out: History = {};
  setIf(out, 'created', optional(o, at, 'created', dateTime));
  setIf(out, 'created_by', optional(o, at, 'created_by', string));
  setIf(out, 'author', optional(o, at, 'author', string));
  setIf(out, 'comment', optional(o, at, 'comment', string));
  setIf(out, 'empty_layer', optional(o, at, 'empty_layer', boolean));
  return out;
}

function rootfs(at: At, v: unknown): { type: 'layers'; diff_ids: Digest[] } {
  const o = object(at, v);
  const type = required(o, at, 'type', string);
  if (type !== 'layers') fail(field(at, 'type'), `expected "layers", got ${JSON.stringify(type)}`);
  // Docker writes `diff_ids` with omitempty, so an image with no layers has none at all.
  const diffIds = optional(o, at, 'diff_ids', (a, x) => array(a, x, digest)) ?? [];
  return { type: 'layers', diff_ids: diffIds };
}

/** Validates an image configuration; `what` names it in errors (`image config sha256:…`). */
export function validateImageConfig(v: unknown, what = 'image config'): ImageConfig {
  const at: At = { doc: what, path: '' };
  const o = object(at, v);
  const out: ImageConfig = {
    architecture: required(o, at, 'architecture', nonEmptyString),
    os: required(o, at, 'os', nonEmptyString),
    rootfs: required(o, at, 'rootfs', rootfs),
  };
  setIf(out, 'created', optional(o, at, 'created', dateTime));
  setIf(out, 'author', optional(o, at, 'author', string));
  setIf(out, 'os.version', optional(o, at, 'os.version', string));
  setIf(out, 'os.features', optional(o, at, 'os.features', strings));
  setIf(out, 'variant', optional(o, at, 'variant', string));
  setIf(out, 'config', optional(o, at, 'config', runConfig));
  setIf(
    out,
    'history',
    optional(o, at, 'history', (a, x) => array(a, x, history)),
  );
  return out;
}
