// The CNI 1.x client (layer 3): network configurations from the conf dir, plugins from the bin dirs,
// ADD/DEL/CHECK/STATUS/VERSION with typed results and errors, DEL retried on cleanup, and the default
// network berth installs when there is none. See client.ts for the execution rules.

export {
  CniClient,
  type CniClientOptions,
  DEFAULT_PLUGIN_ENV,
  PLUGIN_CALL_DEADLINE_MS,
  type VersionInfo,
} from './client.ts';
export {
  type ConfDirScan,
  configFiles,
  DEFAULT_CONF_DIR,
  loadNetwork,
  type SkippedConfig,
  scanConfDir,
} from './conf-dir.ts';
export { checkPluginType, MAX_CONFIG_BYTES, parseNetworkConfig } from './conf-parse.ts';
export {
  DEFAULT_BRIDGE,
  DEFAULT_CONFIG_FILE,
  DEFAULT_NETWORK_NAME,
  DEFAULT_SUBNET,
  type DefaultNetworkOptions,
  defaultConflist,
  ensureDefaultConfig,
} from './default-config.ts';
export { DEL_ATTEMPTS, DEL_BACKOFF_MS, type DelRetryOptions, delWithRetry } from './del-retry.ts';
export {
  CNI_ERROR_CODES,
  CniConfigError,
  type CniError,
  CniPluginError,
  CniUnavailableError,
  CniUnknownContainerError,
  CniVersionError,
  cniError,
  isCniError,
} from './errors.ts';
export { MAX_PLUGIN_STDERR, MAX_PLUGIN_STDOUT, parseErrorOutput } from './exec-plugin.ts';
export { cniPath, DEFAULT_BIN_DIRS, findPlugin } from './plugin-path.ts';
export { checkContainerId, checkIfName, cniArgs, requestConfig, runtimeConfigFor } from './request-config.ts';
export { isCidr, parseResult, podIps } from './result.ts';
export type * from './types.ts';
export { compareVersions, DEFAULT_CNI_VERSION, SUPPORTED_VERSIONS, selectVersion } from './version.ts';
