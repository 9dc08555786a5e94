// Validator for a bundle's config.json (runtime-spec 1.2 config.md and schema/config-schema.json):
// the types of every field berth models, plus the MUSTs a runtime would otherwise report late or
// not at all — a SemVer ociVersion, an absolute process.cwd, absolute Linux mount destinations and
// hook paths, rlimit soft ≤ hard. The Linux section is checked in validate-linux.ts.

import {
  type At,
  absolutePath,
  array,
  arrayOf,
  boolean,
  copyOptional,
  fail,
  field,
  int32,
  object,
  required,
  string,
  stringMap,
  strings,
  uint32,
  uint64,
} from './json-fields.ts';
import type { Box, Capabilities, Hook, Hooks, Mount, Process, Rlimit, Root, Spec, User } from './types.ts';
import { idMapping, linux } from './validate-linux.ts';

// config.md "Specification version": SemVer 2.0.0 (semver.org's grammar, without build metadata
// limits). Compatibility holds within a major version, so only 1.x is accepted.
const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function ociVersion(at: At, v: unknown): string {
  const s = string(at, v);
  const m = semver.exec(s);
  if (m === null) fail(at, `expected a SemVer 2.0.0 version, got ${JSON.stringify(s)}`);
  if (m[1] !== '1') fail(at, `version ${s} is not 1.x, the major version berth implements`);
  return s;
}

/** capabilities(7) names as the spec writes them: `CAP_` and upper-case letters. */
function capabilityNames(at: At, v: unknown): string[] {
  return array(at, v, (a, x) => {
    const s = string(a, x);
    if (!/^CAP_[A-Z_]+$/.test(s)) fail(a, `${JSON.stringify(s)} is not a capability name like CAP_CHOWN`);
    return s;
  });
}

function capabilities(at: At, v: unknown): Capabilities {
  const o = object(at, v);
  return copyOptional<Capabilities>({}, o, at, {
    bounding: capabilityNames,
    effective: capabilityNames,
    inheritable: capabilityNames,
    permitted: capabilityNames,
    ambient: capabilityNames,
  });
}

function rlimit(at: At, v: unknown): Rlimit {
  const o = object(at, v);
  const type = required(o, at, 'type', string);
  if (!/^RLIMIT_[A-Z]+$/.test(type))
    fail(field(at, 'type'), `${JSON.stringify(type)} is not like RLIMIT_NOFILE`);
  const out: Rlimit = { type, soft: required(o, at, 'soft', uint64), hard: required(o, at, 'hard', uint64) };
  // setrlimit(2) fails with EINVAL when the soft limit is above the hard limit.
  if (out.soft > out.hard) fail(at, `soft limit ${out.soft} is above the hard limit ${out.hard}`);
  return out;
}

function user(at: At, v: unknown): User {
  const o = object(at, v);
  const out: User = { uid: required(o, at, 'uid', uint32), gid: required(o, at, 'gid', uint32) };
  return copyOptional(out, o, at, { umask: uint32, additionalGids: arrayOf(uint32) });
}

function box(at: At, v: unknown): Box {
  const o = object(at, v);
  return { height: required(o, at, 'height', uint64), width: required(o, at, 'width', uint64) };
}

function env(at: At, v: unknown): string[] {
  // environ(7): NAME=value; a name is never empty (execve would pass it, but nothing can read it).
  return array(at, v, (a, x) => {
    const s = string(a, x);
    if (s.indexOf('=') < 1) fail(a, `expected NAME=value, got ${JSON.stringify(s)}`);
    return s;
  });
}

function process(at: At, v: unknown): Process {
  const o = object(at, v);
  const out: Process = { user: required(o, at, 'user', user), cwd: required(o, at, 'cwd', absolutePath) };
  return copyOptional(out, o, at, {
    terminal: boolean,
    consoleSize: box,
    args: strings,
    env,
    capabilities,
    rlimits: arrayOf(rlimit),
    noNewPrivileges: boolean,
    apparmorProfile: string,
    oomScoreAdj: int32,
    selinuxLabel: string,
  });
}

function root(at: At, v: unknown): Root {
  const o = object(at, v);
  return copyOptional<Root>({ path: required(o, at, 'path', string) }, o, at, { readonly: boolean });
}

function mount(at: At, v: unknown): Mount {
  const o = object(at, v);
  // config.md "Mounts": on Linux the destination MUST be an absolute path.
  const out: Mount = { destination: required(o, at, 'destination', absolutePath) };
  copyOptional(out, o, at, {
    type: string,
    source: string,
    options: strings,
    uidMappings: arrayOf(idMapping),
    gidMappings: arrayOf(idMapping),
  });
  if ((out.uidMappings === undefined) !== (out.gidMappings === undefined)) {
    fail(at, 'uidMappings and gidMappings must be given together');
  }
  return out;
}

function hook(at: At, v: unknown): Hook {
  const o = object(at, v);
  const out: Hook = { path: required(o, at, 'path', absolutePath) };
  copyOptional(out, o, at, { args: strings, env, timeout: uint32 });
  if (out.timeout === 0) fail(field(at, 'timeout'), 'must be greater than zero');
  return out;
}

function hooks(at: At, v: unknown): Hooks {
  const o = object(at, v);
  const list = arrayOf(hook);
  return copyOptional<Hooks>({}, o, at, {
    prestart: list,
    createRuntime: list,
    createContainer: list,
    startContainer: list,
    poststart: list,
    poststop: list,
  });
}

/** Validates a config.json document; `what` names it in errors (`bundle /run/…/config.json`). */
export function validateSpec(v: unknown, what = 'config.json'): Spec {
  const at: At = { doc: what, path: '' };
  const o = object(at, v);
  const out: Spec = { ociVersion: required(o, at, 'ociVersion', ociVersion) };
  copyOptional(out, o, at, {
    process,
    root,
    hostname: string,
    domainname: string,
    mounts: arrayOf(mount),
    hooks,
    annotations: stringMap,
    linux,
  });
  // config.md "Root": REQUIRED on every platform but Windows, which berth does not run.
  if (out.root === undefined) fail(field(at, 'root'), 'required field is missing');
  return out;
}
