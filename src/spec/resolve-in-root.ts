// Reading a file of a container's root filesystem from the host, as if that root were `/`. An
// image is untrusted: its /etc/passwd may be a symlink to /etc/shadow or to ../../../etc/passwd,
// and opened naively from the host either would name a host file. Here every symlink is resolved
// *within* the root, `..` stops at the root (a chroot's rule), the hops are bounded, and the file
// opened is checked afterwards through /proc/self/fd to lie under the root — which also catches a
// directory swapped for a symlink between the walk and the open (a running container's rootfs
// can change under `berth exec -u`). Only regular files are read, and at most `maxBytes`.

import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
} from 'node:fs';
import { posix } from 'node:path';
import {
  InvalidArgumentError,
  isErrno,
  PermissionDeniedError,
  ResourceExhaustedError,
} from '../errdefs/index.ts';

/** Symlinks followed in one resolution before giving up: Linux's MAXSYMLINKS (ELOOP). */
export const MAX_SYMLINK_HOPS = 40;

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * The host path of `path` inside `root`, every symlink resolved within `root` and `..` clamped at
 * it. Components that do not exist are kept as written; opening the result then fails with ENOENT.
 * `root` itself is resolved with realpath first (it is the host's, trusted).
 */
export function resolveInRoot(root: string, path: string): string {
  const base = realpathSync(root);
  const done: string[] = [];
  const pending = components(path);
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '..') {
      done.pop(); // at the root, `..` is the root itself
      continue;
    }
    const host = posix.join(base, ...done, c);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
      // Nothing more exists below here, so nothing more can be a symlink: keep the rest as written.
      for (const rest of [c, ...pending]) {
        if (rest === '..') done.pop();
        else done.push(rest);
      }
      break;
    }
    if (!isLink) {
      done.push(c);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) {
      throw new InvalidArgumentError(`${path} in ${root}: more than ${MAX_SYMLINK_HOPS} symbolic links`);
    }
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0; // absolute: from the container's root
    pending.unshift(...components(target));
  }
  return posix.join(base, ...done);
}

/**
 * The bytes of `path` inside `root`, resolved by resolveInRoot; undefined when it does not exist.
 * Throws ResourceExhaustedError past `maxBytes`, InvalidArgumentError for a non-regular file and
 * PermissionDeniedError when the file opened turns out to lie outside the root.
 */
export function readFileInRoot(root: string, path: string, maxBytes: number): Buffer | undefined {
  const resolved = resolveInRoot(root, path);
  const what = `${path} in ${root}`;
  let fd: number;
  try {
    // O_NOFOLLOW: a final component swapped for a symlink fails with ELOOP; O_NONBLOCK: a FIFO
    // planted at the path must not hang the open (it is then refused as not a regular file).
    fd = openSync(
      resolved,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    if (isErrno(err, 'ELOOP'))
      throw new PermissionDeniedError(`${what}: became a symbolic link while being opened`);
    throw err;
  }
  try {
    const opened = readlinkSync(`/proc/self/fd/${fd}`);
    const base = realpathSync(root);
    if (!opened.startsWith(base === '/' ? '/' : `${base}/`)) {
      throw new PermissionDeniedError(
        `${what}: resolves to ${opened}, outside the container's root filesystem`,
      );
    }
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InvalidArgumentError(`${what}: not a regular file`);
    if (st.size > maxBytes) {
      throw new ResourceExhaustedError(`${what} is ${st.size} bytes, over the limit of ${maxBytes} bytes`);
    }
    // Read to the limit and one byte more: a size that grew after fstat is caught here too.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > maxBytes) throw new ResourceExhaustedError(`${what} is over the limit of ${maxBytes} bytes`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
