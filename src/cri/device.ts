// A CRI Device names a host path; the runtime-spec needs the node's type and numbers (config-linux.md
// "Devices"). Read from the host node with stat(2), decoded as glibc's major()/minor() do.

import { statSync } from 'node:fs';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { DeviceFacts } from './container-request.ts';

export function statDevice(hostPath: string): DeviceFacts {
  const st = statSync(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (type === undefined)
    throw new InvalidArgumentError(`device ${hostPath}: not a character or block device`);
  const dev = st.rdev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { type, major, minor };
}
