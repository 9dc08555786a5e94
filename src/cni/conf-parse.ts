// Parsing one network configuration file (CNI spec section 1). A `.conflist` holds a list of plugin
// objects; a `.conf` (or `.json`) holds a single plugin object with `name` and `cniVersion` beside
// `type`, which libcni turns into a one-plugin list (ConfListFromConf) and so does berth: spec 1.0.0
// removed non-list configurations from the format, but configs written for older runtimes remain.
// Every error names the file and the field; the conf dir loader skips a file that fails here.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { NetworkConfigList, PluginConfig } from './types.ts';
import { SUPPORTED_VERSIONS, selectVersion } from './version.ts';

/** Limit on one config file: real ones are a few KiB; a bigger file is a mistake, not a network. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

// Section 1 "name": starts alphanumeric, then alphanumerics, `_`, `.`, `-` (no path characters).
const networkName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// Section 1 `type`: "must not contain characters disallowed in file paths (e.g. / or \)"; berth is
// stricter so that a type can never name a file outside the bin dirs.
const pluginType = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(where: string, reason: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`cni config ${where}: ${reason}`, cause === undefined ? {} : { cause });
}

export function checkPluginType(type: unknown, where: string): string {
  if (typeof type !== 'string' || !pluginType.test(type) || type.length > 255) {
    throw bad(where, `type ${JSON.stringify(type)}: must be a plugin file name (letters, digits, _ . -)`);
  }
  return type;
}

function parsePlugin(v: unknown, where: string): PluginConfig {
  if (!isObject(v)) throw bad(where, 'must be an object');
  const type = checkPluginType(v.type, where);
  const caps = v.capabilities ?? {};
  if (!isObject(caps) || !Object.values(caps).every((c) => typeof c === 'boolean')) {
    throw bad(where, 'capabilities: must be an object of true/false');
  }
  return { type, capabilities: caps as Record<string, boolean>, raw: v };
}

function version(doc: Json, where: string): string {
  const v = doc.cniVersion;
  if (typeof v !== 'string') throw bad(where, 'cniVersion: missing or not a string');
  const list = doc.cniVersions ?? [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw bad(where, 'cniVersions: must be a list of strings');
  }
  const chosen = selectVersion(v, list as string[]);
  if (chosen === undefined) {
    throw bad(where, `cniVersion ${JSON.stringify(v)}: berth speaks ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return chosen;
}

function name(doc: Json, where: string): string {
  const n = doc.name;
  if (typeof n !== 'string' || !networkName.test(n)) {
    throw bad(
      where,
      `name ${JSON.stringify(n)}: must start with a letter or digit, then letters, digits, _ . -`,
    );
  }
  return n;
}

/** Parses the text of a `.conflist` (`list: true`) or `.conf`/`.json` file. */
export function parseNetworkConfig(text: string, opts: { source: string; list: boolean }): NetworkConfigList {
  const where = opts.source;
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw bad(where, `larger than ${MAX_CONFIG_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw bad(where, `not JSON: ${err.message}`, err);
    throw err;
  }
  if (!isObject(doc)) throw bad(where, 'must be a JSON object');
  const cniVersion = version(doc, where);
  const netName = name(doc, where);
  if (doc.disableCheck !== undefined && typeof doc.disableCheck !== 'boolean') {
    throw bad(where, 'disableCheck: must be true or false');
  }
  let plugins: PluginConfig[];
  if (opts.list) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) {
      throw bad(where, 'plugins: must be a non-empty list (is this a .conf file named .conflist?)');
    }
    plugins = doc.plugins.map((p, i) => parsePlugin(p, `${where}: plugins[${i}]`));
  } else {
    if (doc.plugins !== undefined) throw bad(where, 'has plugins: name the file .conflist');
    // A single-plugin config: the plugin object is the document itself (libcni ConfListFromConf).
    const { cniVersion: _v, cniVersions: _vs, name: _n, disableCheck: _d, ...plugin } = doc;
    plugins = [parsePlugin(plugin, where)];
  }
  return {
    name: netName,
    cniVersion,
    disableCheck: doc.disableCheck === true,
    plugins,
    source: opts.source,
  };
}

/** The file extensions libcni's ConfFiles reads, and whether each holds a list. */
export const CONFIG_EXTENSIONS: Record<string, boolean> = {
  '.conflist': true,
  '.conf': false,
  '.json': false,
};
