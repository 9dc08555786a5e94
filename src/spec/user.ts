// `USER` / `-u`: the forms of image-spec config.md (`user`, `uid`, `user:group`, `uid:gid`,
// `uid:group`, `user:gid`), resolved inside the container's rootfs the way containerd does
// (pkg/oci/spec_opts.go WithUser, WithUserID, WithUsername, WithAdditionalGIDs):
// - a name must exist in /etc/passwd (NotFoundError otherwise); a uid need not, and then its gid is 0;
// - the primary gid comes from passwd unless a group is given;
// - supplementary groups are those of /etc/group listing the user's name, and the primary gid is
//   always the first of additionalGids (containerd's ensureAdditionalGids, the CVE-2023-25173 fix:
//   without it a process keeps the runtime's groups or loses the primary one);
// - HOME is set from passwd (`/` when unknown) unless the environment already has it.
// Ids outside 0 … 2^32-2 are refused, never wrapped (CVE-2024-40635 class).

import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import { processOf } from './generate.ts';
import type { SpecOpt } from './types.ts';
import { findGroups, findUsers, GROUP, PASSWD, parseId } from './user-files.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The home directory from /etc/passwd, when the user has an entry there. */
  home?: string;
}

type Part = { id: number } | { name: string };

function parsePart(part: string, user: string, kind: 'user' | 'group'): Part {
  const where = `user ${JSON.stringify(user)}: ${kind}`;
  if (/^[+-]?\d+$/.test(part)) return { id: parseId(part, where) };
  // useradd(8)'s rule, loosely: no separators, blanks or control characters, no leading sign.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (part === '' || /[:,\s\x00-\x1f\x7f]/.test(part) || /^[+-]/.test(part)) {
    throw new InvalidArgumentError(`${where} ${JSON.stringify(part)} is neither a name nor an id`);
  }
  return { name: part };
}

const sameId = (field: string, id: number): boolean => /^\d{1,10}$/.test(field) && Number(field) === id;

function needRootfs(rootfs: string | undefined, user: string): string {
  if (rootfs === undefined) {
    throw new FailedPreconditionError(
      `user ${JSON.stringify(user)}: names are resolved in the container's rootfs, which is not mounted`,
    );
  }
  return rootfs;
}

/** Resolves a user string in `rootfs` (a host path); without a rootfs only numeric ids work. */
export function resolveUser(rootfs: string | undefined, user: string): ResolvedUser {
  const parts = (user === '' ? '0' : user).split(':');
  if (parts.length > 2) throw new InvalidArgumentError(`user ${JSON.stringify(user)}: expected user[:group]`);
  const u = parsePart(parts[0] ?? '', user, 'user');
  const g = parts[1] === undefined ? undefined : parsePart(parts[1], user, 'group');

  let name: string | undefined;
  let uid: number;
  let gid = 0;
  let home: string | undefined;
  if ('name' in u) {
    const root = needRootfs(rootfs, user);
    const found = findUsers(root, (n) => n === u.name);
    if (found === undefined)
      throw new NotFoundError(`user ${JSON.stringify(u.name)}: ${root} has no ${PASSWD}`);
    const entry = found[0];
    if (entry === undefined)
      throw new NotFoundError(`user ${JSON.stringify(u.name)}: not found in ${PASSWD} of ${root}`);
    ({ name, uid, gid, home } = entry);
  } else {
    uid = u.id;
    const entry = rootfs === undefined ? undefined : findUsers(rootfs, (_, id) => sameId(id, u.id))?.[0];
    if (entry !== undefined) ({ name, gid, home } = entry);
  }

  if (g !== undefined && 'id' in g) gid = g.id;
  else if (g !== undefined) {
    const root = needRootfs(rootfs, user);
    const found = findGroups(root, (n) => n === g.name);
    if (found === undefined)
      throw new NotFoundError(`group ${JSON.stringify(g.name)}: ${root} has no ${GROUP}`);
    const entry = found[0];
    if (entry === undefined)
      throw new NotFoundError(`group ${JSON.stringify(g.name)}: not found in ${GROUP} of ${root}`);
    gid = entry.gid;
  }

  const additional = [gid];
  if (name !== undefined && rootfs !== undefined) {
    const member = name;
    // containerd's filter: groups listing the user, but not a group of the user's own name.
    for (const grp of findGroups(rootfs, (n, _, members) => n !== member && members.includes(member)) ?? []) {
      if (!additional.includes(grp.gid)) additional.push(grp.gid);
    }
  }
  const out: ResolvedUser = { uid, gid, additionalGids: additional };
  if (home !== undefined && home !== '') out.home = home;
  return out;
}

/** Sets process.user from a user string resolved in ctx.rootfs, and HOME when the env lacks it. */
export function withUser(user: string): SpecOpt {
  return (spec, ctx) => {
    const resolved = resolveUser(ctx.rootfs, user);
    const process = processOf(spec);
    process.user = {
      ...process.user,
      uid: resolved.uid,
      gid: resolved.gid,
      additionalGids: resolved.additionalGids,
    };
    const env = process.env ?? [];
    if (!env.some((e) => e.startsWith('HOME='))) process.env = [...env, `HOME=${resolved.home ?? '/'}`];
  };
}
