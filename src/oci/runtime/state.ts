// The state of a container as `runc state` / `crun state` print it (runtime-spec 1.2 runtime.md
// "State" and schema/state-schema.json): its type and validator. Runtimes add fields of their own
// (runc: rootfs, created, owner); those are ignored, as unknown properties are everywhere in the spec.

import {
  type At,
  absolutePath,
  copyOptional,
  fail,
  field,
  integer,
  object,
  oneOf,
  required,
  string,
  stringMap,
} from './json-fields.ts';

/** runtime.md "State": `status`. */
export const containerStatuses = ['creating', 'created', 'running', 'stopped'] as const;
export type ContainerStatus = (typeof containerStatuses)[number];

/** runtime.md "State": what `runc state <id>` prints (runc adds fields of its own, ignored). */
export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** REQUIRED on Linux when status is `created` or `running`. */
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

// A Linux pid is a positive int (pid_t); 0 means "no process", which runc writes once stopped.
const pid = integer(0, 2 ** 31 - 1, 'a pid in 0 … 2^31-1');

/** Validates a state document; `what` names it in errors (`runc state abc`). */
export function validateState(v: unknown, what = 'state'): State {
  const at: At = { doc: what, path: '' };
  const o = object(at, v);
  const out: State = {
    ociVersion: required(o, at, 'ociVersion', string),
    id: required(o, at, 'id', string),
    status: required(o, at, 'status', oneOf(containerStatuses)),
    // runtime.md: bundle is the absolute path to the container's bundle directory.
    bundle: required(o, at, 'bundle', absolutePath),
  };
  if (out.id === '') fail(field(at, 'id'), 'must not be empty');
  copyOptional(out, o, at, { pid, annotations: stringMap });
  // runtime.md: pid is REQUIRED on Linux when status is created or running.
  if ((out.status === 'created' || out.status === 'running') && !out.pid) {
    fail(field(at, 'pid'), `required (and not 0) when status is ${out.status}`);
  }
  return out;
}
