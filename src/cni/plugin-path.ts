// Finding a plugin's executable. The spec leaves the directories to the runtime (section 2: "look
// for this executable in a list of predefined directories") and says a missing one is an error
// (section 3 "Adding an attachment", step 1). berth looks in /opt/cni/bin, where upstream releases
// and most installers put plugins, then /usr/lib/cni, where Debian's containernetworking-plugins
// puts them. The same list, joined with ':', is CNI_PATH, where plugins look for their delegates
// (section 4: bridge finds host-local there).

import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno, NotFoundError } from '../errdefs/index.ts';
import { checkPluginType } from './conf-parse.ts';

export const DEFAULT_BIN_DIRS: readonly string[] = ['/opt/cni/bin', '/usr/lib/cni'];

/** The absolute path of plugin `type` in the first of `binDirs` holding an executable file of that name. */
export function findPlugin(type: string, binDirs: readonly string[]): string {
  checkPluginType(type, `plugin ${JSON.stringify(type)}`);
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'EACCES')) continue;
      throw err;
    }
  }
  throw new NotFoundError(`cni plugin ${JSON.stringify(type)}: not found in ${binDirs.join(', ')}`, {
    hint: 'install the CNI plugins (Debian: apt install containernetworking-plugins)',
  });
}

/** CNI_PATH: the bin dirs in search order, ':'-separated on Linux (section 2 "Parameters"). */
export function cniPath(binDirs: readonly string[]): string {
  return binDirs.join(':');
}
