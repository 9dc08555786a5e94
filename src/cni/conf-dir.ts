// Finding the network in the CNI conf dir the way libcni's ConfFiles and the CRI runtimes do: files
// ending .conflist, .conf or .json, in lexical order of their names, the first valid one wins
// (containerd's go-cni and CRI-O's ocicni both take "the first network", which is why distributions
// prefix their files `10-`, `87-`, `99-`). A file that cannot be read or parsed is skipped with its
// reason, so one broken file does not take the node's network down; the reasons are reported when no
// file is valid. Plugin configurations from a sibling folder (spec 1.1 `loadOnlyInlinedPlugins`) are
// not aggregated: berth runs the inlined `plugins` only.

import type { Dirent } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { CanceledError, InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { CONFIG_EXTENSIONS, MAX_CONFIG_BYTES, parseNetworkConfig } from './conf-parse.ts';
import type { CallOptions, NetworkConfigList } from './types.ts';

/** The CNI conf dir every runtime reads by default. */
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';

export interface SkippedConfig {
  file: string;
  reason: string;
}

export interface ConfDirScan {
  /** The first valid configuration, if any. */
  network?: NetworkConfigList;
  /** Files before it that were not valid, with why. */
  skipped: SkippedConfig[];
}

/** The config file names in `dir`, sorted; none when the directory does not exist. */
export async function configFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && extname(e.name) in CONFIG_EXTENSIONS)
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads at most MAX_CONFIG_BYTES + 1 bytes, so the parser can refuse an oversized file. */
async function readBounded(path: string, signal?: AbortSignal): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      if (signal?.aborted) throw new CanceledError(`reading ${path}: canceled`, { cause: signal.reason });
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0 || n + bytesRead >= buf.length) return buf.subarray(0, n + bytesRead).toString();
      n += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Scans `dir` for the first valid network configuration. */
export async function scanConfDir(dir: string, opts: CallOptions = {}): Promise<ConfDirScan> {
  const skipped: SkippedConfig[] = [];
  for (const name of await configFiles(dir)) {
    const file = join(dir, name);
    try {
      const text = await readBounded(file, opts.signal);
      const network = parseNetworkConfig(text, { source: file, list: CONFIG_EXTENSIONS[extname(name)]! });
      return { network, skipped };
    } catch (err) {
      if (err instanceof CanceledError) throw err;
      // A file removed between the listing and the read, or one that is a directory behind a
      // symlink, is skipped like an invalid one; anything else unexpected is a real error.
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR') || isErrno(err, 'EACCES')) {
        skipped.push({ file, reason: (err as Error).message });
        continue;
      }
      if (err instanceof InvalidArgumentError) {
        skipped.push({ file, reason: err.message });
        continue;
      }
      throw err;
    }
  }
  return { skipped };
}

/** The network to attach pods to; NotFound (naming every skipped file) when `dir` has none. */
export async function loadNetwork(dir: string, opts: CallOptions = {}): Promise<NetworkConfigList> {
  const scan = await scanConfDir(dir, opts);
  if (scan.network !== undefined) return scan.network;
  const why = scan.skipped.map((s) => `\n  ${s.reason}`).join('');
  throw new NotFoundError(`cni: no valid network configuration in ${dir}${why}`, {
    hint: `write a .conflist into ${dir}, or let berth install its default`,
  });
}
