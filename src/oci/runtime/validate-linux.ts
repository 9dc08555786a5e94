// Validator for the `linux` section of config.json (runtime-spec 1.2 config-linux.md and
// schema/config-linux.json, schema/defs-linux.json): namespaces, id mappings, devices, the cgroup
// resources berth sets, sysctls, seccomp, propagation and the masked/read-only path lists.

import {
  type At,
  absolutePath,
  array,
  arrayOf,
  boolean,
  copyOptional,
  fail,
  field,
  int64,
  object,
  oneOf,
  required,
  string,
  stringMap,
  strings,
  uint32,
  uint64,
} from './json-fields.ts';
import {
  type CPU,
  type Device,
  type DeviceCgroup,
  type HugepageLimit,
  type IDMapping,
  type Linux,
  type Memory,
  type Namespace,
  namespaceTypes,
  type Pids,
  type Resources,
  rootfsPropagations,
  type Seccomp,
  type Syscall,
  type SyscallArg,
  seccompActions,
  seccompOperators,
} from './types.ts';

export function idMapping(at: At, v: unknown): IDMapping {
  const o = object(at, v);
  return {
    containerID: required(o, at, 'containerID', uint32),
    hostID: required(o, at, 'hostID', uint32),
    size: required(o, at, 'size', uint32),
  };
}

function namespace(at: At, v: unknown): Namespace {
  const o = object(at, v);
  const out: Namespace = { type: required(o, at, 'type', oneOf(namespaceTypes)) };
  // config-linux.md "Namespaces": path MUST be an absolute path in the runtime mount namespace.
  return copyOptional(out, o, at, { path: absolutePath });
}

function namespaces(at: At, v: unknown): Namespace[] {
  const list = array(at, v, namespace);
  // config-linux.md: duplicated namespace types MUST make the runtime generate an error.
  const seen = new Set<string>();
  list.forEach((ns, i) => {
    if (seen.has(ns.type))
      fail({ doc: at.doc, path: `${at.path}[${i}].type` }, `namespace ${ns.type} given twice`);
    seen.add(ns.type);
  });
  return list;
}

const deviceType = (at: At, v: unknown): string => {
  const s = string(at, v);
  if (!/^[cbup]$/.test(s)) fail(at, `expected one of c, b, u, p, got ${JSON.stringify(s)}`);
  return s;
};

function device(at: At, v: unknown): Device {
  const o = object(at, v);
  const out: Device = {
    type: required(o, at, 'type', deviceType),
    path: required(o, at, 'path', absolutePath),
  };
  // fileMode is read as uint32 rather than the schema's 0…511: tools write the type bits too.
  return copyOptional(out, o, at, { major: int64, minor: int64, fileMode: uint32, uid: uint32, gid: uint32 });
}

function deviceCgroup(at: At, v: unknown): DeviceCgroup {
  const o = object(at, v);
  const out: DeviceCgroup = { allow: required(o, at, 'allow', boolean) };
  copyOptional(out, o, at, { type: string, major: int64, minor: int64, access: string });
  if (out.type !== undefined && !/^[acb]$/.test(out.type)) {
    fail(field(at, 'type'), `expected a, c or b, got ${JSON.stringify(out.type)}`);
  }
  if (out.access !== undefined && !/^[rwm]*$/.test(out.access)) {
    fail(field(at, 'access'), `expected letters of rwm, got ${JSON.stringify(out.access)}`);
  }
  return out;
}

function memory(at: At, v: unknown): Memory {
  return copyOptional<Memory>({}, object(at, v), at, {
    limit: int64,
    reservation: int64,
    swap: int64,
    kernel: int64,
    kernelTCP: int64,
    swappiness: uint64,
    disableOOMKiller: boolean,
    useHierarchy: boolean,
    checkBeforeUpdate: boolean,
  });
}

function cpu(at: At, v: unknown): CPU {
  return copyOptional<CPU>({}, object(at, v), at, {
    shares: uint64,
    quota: int64,
    burst: uint64,
    period: uint64,
    realtimeRuntime: int64,
    realtimePeriod: uint64,
    cpus: string,
    mems: string,
    idle: int64,
  });
}

function pids(at: At, v: unknown): Pids {
  const o = object(at, v);
  return { limit: required(o, at, 'limit', int64) };
}

function hugepageLimit(at: At, v: unknown): HugepageLimit {
  const o = object(at, v);
  const pageSize = required(o, at, 'pageSize', string);
  if (!/^[1-9][0-9]*[KMG]B$/.test(pageSize))
    fail(field(at, 'pageSize'), `${JSON.stringify(pageSize)} is not like 2MB`);
  return { pageSize, limit: required(o, at, 'limit', uint64) };
}

function resources(at: At, v: unknown): Resources {
  return copyOptional<Resources>({}, object(at, v), at, {
    devices: arrayOf(deviceCgroup),
    memory,
    cpu,
    pids,
    hugepageLimits: arrayOf(hugepageLimit),
    unified: stringMap,
  });
}

function syscallArg(at: At, v: unknown): SyscallArg {
  const o = object(at, v);
  const out: SyscallArg = {
    index: required(o, at, 'index', uint32),
    value: required(o, at, 'value', uint64),
    op: required(o, at, 'op', oneOf(seccompOperators)),
  };
  return copyOptional(out, o, at, { valueTwo: uint64 });
}

function syscall(at: At, v: unknown): Syscall {
  const o = object(at, v);
  const names = required(o, at, 'names', strings);
  // defs-linux.json "Syscall": names has minItems 1.
  if (names.length === 0) fail(field(at, 'names'), 'must name at least one syscall');
  const out: Syscall = { names, action: required(o, at, 'action', oneOf(seccompActions)) };
  return copyOptional(out, o, at, { errnoRet: uint32, args: arrayOf(syscallArg) });
}

function seccomp(at: At, v: unknown): Seccomp {
  const o = object(at, v);
  const out: Seccomp = { defaultAction: required(o, at, 'defaultAction', oneOf(seccompActions)) };
  const arch = (a: At, x: unknown): string => {
    const s = string(a, x);
    if (!/^SCMP_ARCH_[A-Z0-9_]+$/.test(s)) fail(a, `${JSON.stringify(s)} is not like SCMP_ARCH_X86_64`);
    return s;
  };
  return copyOptional(out, o, at, {
    defaultErrnoRet: uint32,
    architectures: arrayOf(arch),
    flags: strings,
    listenerPath: string,
    listenerMetadata: string,
    syscalls: arrayOf(syscall),
  });
}

export function linux(at: At, v: unknown): Linux {
  const o = object(at, v);
  const out = copyOptional<Linux>({}, o, at, {
    namespaces,
    uidMappings: arrayOf(idMapping),
    gidMappings: arrayOf(idMapping),
    devices: arrayOf(device),
    cgroupsPath: string,
    resources,
    sysctl: stringMap,
    seccomp,
    rootfsPropagation: oneOf(rootfsPropagations),
    maskedPaths: arrayOf(absolutePath),
    readonlyPaths: arrayOf(absolutePath),
    mountLabel: string,
  });
  // config-linux.md "User namespace mappings": each list MUST be given along with the other.
  if ((out.uidMappings === undefined) !== (out.gidMappings === undefined)) {
    fail(at, 'uidMappings and gidMappings must be given together');
  }
  return out;
}
