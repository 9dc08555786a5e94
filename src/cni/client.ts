// The CNI runtime side (CNI spec section 3 "Execution of Network Configurations"): ADD runs the plugins
// in order, each getting the previous one's result as `prevResult`; DEL runs them in reverse, each
// getting the final ADD result; CHECK runs them in order with the final ADD result; any error halts
// the operation and is returned. STATUS (1.1.0) asks each plugin whether it can serve ADDs; VERSION
// asks a plugin which protocol versions it speaks. The runtime must store the final ADD result
// (section 3 "Adding an attachment"): `add` returns it inside an AttachmentRecord for the caller to
// persist and hand back to `del` and `check`.

import { statfsSync } from 'node:fs';
import {
  CanceledError,
  FailedPreconditionError,
  InternalError,
  isErrno,
  NotFoundError,
} from '../errdefs/index.ts';
import { CniUnknownContainerError } from './errors.ts';
import { execPlugin } from './exec-plugin.ts';
import { cniPath, DEFAULT_BIN_DIRS, findPlugin } from './plugin-path.ts';
import { checkContainerId, checkIfName, cniArgs, requestConfig } from './request-config.ts';
import { parseResult } from './result.ts';
import type {
  Attachment,
  AttachmentRecord,
  CallOptions,
  CniCommand,
  CniResult,
  JsonObject,
  NetworkConfigList,
  NetworkStatus,
  PluginConfig,
} from './types.ts';
import { DEFAULT_CNI_VERSION, delTakesPrevResult, hasCheck, hasStatus } from './version.ts';

/** Deadline for one plugin call; bridge + host-local take ~20 ms here, portmap with iptables ~100 ms. */
export const PLUGIN_CALL_DEADLINE_MS = 30_000;

/**
 * The environment plugins get besides the CNI_* parameters. portmap and bridge's ipMasq run iptables
 * and find it through PATH; nothing else of berth's own environment (proxies, credentials) is passed.
 */
export const DEFAULT_PLUGIN_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** statfs(2) f_type of nsfs (linux/magic.h NSFS_MAGIC): what a pinned or /proc namespace file is on. */
const NSFS_MAGIC = 0x6e736673;

function isNamespaceFile(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

export interface CniClientOptions {
  /** Where plugin executables are looked for, in order (default /opt/cni/bin, /usr/lib/cni). */
  binDirs?: readonly string[];
  pluginTimeoutMs?: number;
  env?: Readonly<Record<string, string>>;
}

export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

export class CniClient {
  readonly binDirs: readonly string[];
  readonly pluginTimeoutMs: number;
  readonly #env: Readonly<Record<string, string>>;

  constructor(opts: CniClientOptions = {}) {
    this.binDirs = opts.binDirs ?? DEFAULT_BIN_DIRS;
    this.pluginTimeoutMs = opts.pluginTimeoutMs ?? PLUGIN_CALL_DEADLINE_MS;
    this.#env = opts.env ?? DEFAULT_PLUGIN_ENV;
  }

  /** ADD: resolves to the final result and the record to keep for DEL/CHECK. */
  async add(
    network: NetworkConfigList,
    att: Attachment,
    opts: CallOptions = {},
  ): Promise<AttachmentRecord & { parsed: CniResult }> {
    let prev: JsonObject | undefined;
    let parsed: CniResult | undefined;
    for (const plugin of network.plugins) {
      const out = await this.#run('ADD', network, plugin, att, prev, opts);
      parsed = parseResult(out, plugin.type);
      prev = parsed.raw;
    }
    if (parsed === undefined) throw new InternalError(`cni network ${network.name}: has no plugins`);
    return { network, attachment: att, result: parsed.raw, parsed };
  }

  /**
   * DEL, plugins in reverse. A plugin answering code 3 (container unknown: "the runtime does not need
   * to perform any container network cleanup", section 5) counts as done. A namespace that is gone
   * (its file missing, or left as the plain file it was before the bind mount) is passed as an empty
   * CNI_NETNS, which DEL allows (section 2 "DEL": CNI_NETNS optional); the bridge plugin would
   * otherwise fail on the file ("unknown FS magic") and never release the IP.
   * A plugin whose executable is missing is skipped, where section 3 "Deleting an attachment" step 1
   * calls it an error: a missing plugin cannot release anything whatever berth does, and halting
   * there would leave every plugin before it in the list (the IP reservation, the veth) leaked for
   * good, since retrying cannot make the binary appear (an ADD naming it failed at that plugin).
   */
  async del(record: AttachmentRecord, opts: CallOptions = {}): Promise<void> {
    const { network } = record;
    const att =
      record.attachment.netns !== '' && !isNamespaceFile(record.attachment.netns)
        ? { ...record.attachment, netns: '' }
        : record.attachment;
    const prev = delTakesPrevResult(network.cniVersion) ? record.result : undefined;
    for (const plugin of [...network.plugins].reverse()) {
      if (!this.#present(plugin.type)) continue;
      try {
        await this.#run('DEL', network, plugin, att, prev, opts);
      } catch (err) {
        if (!(err instanceof CniUnknownContainerError)) throw err;
      }
    }
  }

  /** CHECK; a no-op for configs with `disableCheck` or a version before 0.4.0 (section 3). */
  async check(record: AttachmentRecord, opts: CallOptions = {}): Promise<void> {
    const { network } = record;
    if (network.disableCheck || !hasCheck(network.cniVersion)) return;
    if (record.result === undefined) {
      throw new FailedPreconditionError(
        `cni network ${network.name}: CHECK needs the result of a completed ADD`,
      );
    }
    for (const plugin of network.plugins) {
      await this.#run('CHECK', network, plugin, record.attachment, record.result, opts);
    }
  }

  /**
   * Whether the network can serve ADDs: every plugin present, and (1.1.0 configs) every plugin's
   * STATUS succeeding. Configs before 1.1.0 have no STATUS, so presence is all that can be known.
   */
  async status(network: NetworkConfigList, opts: CallOptions = {}): Promise<NetworkStatus> {
    for (const plugin of network.plugins) {
      try {
        findPlugin(plugin.type, this.binDirs);
        if (hasStatus(network.cniVersion))
          await this.#run('STATUS', network, plugin, undefined, undefined, opts);
      } catch (err) {
        if (!(err instanceof Error) || err instanceof CanceledError) throw err;
        return { ready: false, reason: err.message };
      }
    }
    return { ready: true };
  }

  /** VERSION: the protocol versions plugin `type` speaks (section 2 "VERSION", section 5 "VERSION Success"). */
  async version(type: string, opts: CallOptions & { cniVersion?: string } = {}): Promise<VersionInfo> {
    const plugin: PluginConfig = { type, capabilities: {}, raw: { type } };
    const net = {
      name: 'version',
      cniVersion: opts.cniVersion ?? DEFAULT_CNI_VERSION,
      disableCheck: false,
      plugins: [plugin],
    };
    const out = await this.#run('VERSION', net, plugin, undefined, undefined, opts);
    let doc: unknown;
    try {
      doc = JSON.parse(out);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    const d = doc as Partial<VersionInfo> | undefined;
    if (
      typeof d?.cniVersion !== 'string' ||
      !Array.isArray(d.supportedVersions) ||
      !d.supportedVersions.every((v) => typeof v === 'string')
    ) {
      throw new InternalError(`cni plugin ${type} VERSION: printed no version result: ${out.slice(0, 200)}`);
    }
    return { cniVersion: d.cniVersion, supportedVersions: d.supportedVersions };
  }

  #present(type: string): boolean {
    try {
      findPlugin(type, this.binDirs);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  #envFor(command: CniCommand, att: Attachment | undefined): Record<string, string> {
    const env: Record<string, string> = {
      ...this.#env,
      CNI_COMMAND: command,
      CNI_PATH: cniPath(this.binDirs),
    };
    if (att !== undefined) {
      env.CNI_CONTAINERID = checkContainerId(att.containerId);
      env.CNI_NETNS = att.netns;
      env.CNI_IFNAME = checkIfName(att.ifName);
      env.CNI_ARGS = cniArgs(att.args);
    }
    return env;
  }

  async #run(
    command: CniCommand,
    network: Pick<NetworkConfigList, 'name' | 'cniVersion'>,
    plugin: PluginConfig,
    att: Attachment | undefined,
    prevResult: JsonObject | undefined,
    opts: CallOptions,
  ): Promise<string> {
    const path = findPlugin(plugin.type, this.binDirs);
    // VERSION's input is only `{"cniVersion": …}` (section 2 "VERSION"); STATUS gets the plugin
    // config without runtimeConfig or prevResult, which exist for attachment operations only.
    const stdin =
      command === 'VERSION'
        ? { cniVersion: network.cniVersion }
        : requestConfig({
            network,
            plugin,
            ...(att?.capabilityArgs === undefined ? {} : { capabilityArgs: att.capabilityArgs }),
            ...(prevResult === undefined ? {} : { prevResult }),
          });
    return execPlugin({
      path,
      type: plugin.type,
      command,
      env: this.#envFor(command, att),
      stdin: JSON.stringify(stdin),
      timeoutMs: this.pluginTimeoutMs,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  }
}
