// /etc/passwd and /etc/group of a container's rootfs (passwd(5), group(5)), read with bounds: the
// image is untrusted, so each file is at most MAX_USER_FILE_SIZE and MAX_USER_FILE_ENTRIES lines,
// and ids are checked, never defaulted. runc's old parser (moby/sys/user parseParts) ignored
// conversion errors and so turned a malformed or overflowing uid into 0, root; the same class of
// bug in user strings is CVE-2024-40635 (containerd) — here an id that is not a decimal number in
// 0 … 2^32-2 is an InvalidArgumentError naming the file and line.

import { InvalidArgumentError, ResourceExhaustedError } from '../errdefs/index.ts';
import { readFileInRoot } from './resolve-in-root.ts';

/** 1 MiB: thousands of accounts; runc's group parser caps a line at the same size. */
export const MAX_USER_FILE_SIZE = 1024 * 1024;
/** Lines (entries) read from one file. */
export const MAX_USER_FILE_ENTRIES = 65_536;
/** The largest id: (uid_t)-1, 2^32-1, means "no change" to setuid/chown, so it is never an id. */
export const MAX_ID = 2 ** 32 - 2;

export const PASSWD = '/etc/passwd';
export const GROUP = '/etc/group';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  line: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
  line: number;
}

/** A decimal id in 0 … 2^32-2; `where` names it in the error. */
export function parseId(s: string, where: string): number {
  // Digits only: no sign, no spaces, no 0x; the length check keeps the number exact.
  if (!/^\d{1,10}$/.test(s) || Number(s) > MAX_ID) {
    throw new InvalidArgumentError(`${where}: ${JSON.stringify(s)} is not an id in 0 … ${MAX_ID}`);
  }
  return Number(s);
}

interface Line {
  fields: string[];
  line: number;
}

/** The entries of a passwd- or group-format file; undefined when the file does not exist. */
function readEntries(rootfs: string, file: string): Line[] | undefined {
  const bytes = readFileInRoot(rootfs, file, MAX_USER_FILE_SIZE);
  if (bytes === undefined) return undefined;
  const lines = bytes.toString('utf8').split('\n');
  if (lines.length > MAX_USER_FILE_ENTRIES) {
    throw new ResourceExhaustedError(
      `${file} in ${rootfs} has ${lines.length} lines, over the limit of ${MAX_USER_FILE_ENTRIES}`,
    );
  }
  const out: Line[] = [];
  lines.forEach((text, i) => {
    const t = text.trim();
    // Comments (glibc allows them) and NIS compat entries (`+name`, `-name`) name no local account.
    if (t === '' || t.startsWith('#') || t.startsWith('+') || t.startsWith('-')) return;
    out.push({ fields: t.split(':'), line: i + 1 });
  });
  return out;
}

/** The users of /etc/passwd whose entries `match`; ids are checked only on matching entries. */
export function findUsers(
  rootfs: string,
  match: (name: string, uid: string) => boolean,
): PasswdEntry[] | undefined {
  const lines = readEntries(rootfs, PASSWD);
  if (lines === undefined) return undefined;
  const out: PasswdEntry[] = [];
  for (const { fields, line } of lines) {
    const [name = '', , uid = '', gid = '', , home = ''] = fields;
    if (!match(name, uid)) continue;
    const where = `${PASSWD} in ${rootfs}, line ${line}`;
    out.push({ name, uid: parseId(uid, where), gid: parseId(gid, where), home, line });
  }
  return out;
}

/** The groups of /etc/group whose entries `match`; gids are checked only on matching entries. */
export function findGroups(
  rootfs: string,
  match: (name: string, gid: string, members: string[]) => boolean,
): GroupEntry[] | undefined {
  const lines = readEntries(rootfs, GROUP);
  if (lines === undefined) return undefined;
  const out: GroupEntry[] = [];
  for (const { fields, line } of lines) {
    const [name = '', , gid = '', list = ''] = fields;
    const members = list === '' ? [] : list.split(',').map((m) => m.trim());
    if (!match(name, gid, members)) continue;
    out.push({ name, gid: parseId(gid, `${GROUP} in ${rootfs}, line ${line}`), members, line });
  }
  return out;
}
