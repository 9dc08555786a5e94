// The CNI client's public types (CNI spec 1.1.0, github.com/containernetworking/cni SPEC.md): network
// configurations as loaded from the conf dir (section 1), the per-attachment parameters the runtime
// supplies (section 3 "Attachment Parameters"), and the typed ADD result (section 5). Layer-3
// neighbours import only this file; everything here is plain data.

export type JsonObject = Record<string, unknown>;

/** The operations of section 2 berth runs (`GC` is not used yet). */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION';

/** One plugin configuration object of a network configuration (section 1 "Plugin configuration objects"). */
export interface PluginConfig {
  /** The plugin's executable name, looked up in the bin dirs. */
  type: string;
  /** Capabilities the plugin accepts as `runtimeConfig` (section 3 "Deriving runtimeConfig"). */
  capabilities: Record<string, boolean>;
  /** The object as written, unknown keys included: they MUST be passed through unchanged (section 1). */
  raw: JsonObject;
}

/** A network configuration list (section 1 "Configuration format"), or a single `.conf` made into one. */
export interface NetworkConfigList {
  name: string;
  /** The protocol version berth speaks to these plugins: the highest of cniVersion/cniVersions it supports. */
  cniVersion: string;
  disableCheck: boolean;
  plugins: PluginConfig[];
  /** The file it came from (absent for a configuration built in memory). */
  source?: string;
}

/** CRI PortMapping as the portmap plugin's `portMappings` capability takes it (CNI CONVENTIONS.md). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/**
 * Capability arguments (section 3): only those a plugin declares in `capabilities` reach it, as its
 * `runtimeConfig`. The keys and values are CNI CONVENTIONS.md's.
 */
export interface CapabilityArgs {
  portMappings?: PortMapping[];
  [capability: string]: unknown;
}

/** The parameters of one attachment: the same for its ADD, CHECK and DEL (section 3). */
export interface Attachment {
  /** CNI_CONTAINERID: starts alphanumeric, then alphanumerics, `_`, `.`, `-` (section 2). */
  containerId: string;
  /** CNI_NETNS: the pinned network namespace file; empty on a DEL whose namespace is gone. */
  netns: string;
  /** CNI_IFNAME; `eth0` for pods. */
  ifName: string;
  /** CNI_ARGS as key/value pairs (`K8S_POD_NAME` …), joined `K=V;K=V`. */
  args?: Record<string, string>;
  capabilityArgs?: CapabilityArgs;
}

/** section 5 "ADD Success" `interfaces[]`. */
export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
}

/** section 5 `ips[]`. */
export interface CniIp {
  /** CIDR: `10.89.0.5/16`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** section 5 `routes[]`. */
export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers: string[];
  domain?: string;
  search: string[];
  options: string[];
}

/** A parsed ADD result; `raw` is what the plugin printed, passed on unchanged as the next `prevResult`. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
  raw: JsonObject;
}

/** What berth keeps of an attachment to DEL or CHECK it later (section 3: the runtime must store it). */
export interface AttachmentRecord {
  /** The configuration as it was at ADD: "the network configuration should not change between add and delete". */
  network: NetworkConfigList;
  attachment: Attachment;
  /** The final ADD result; absent when the ADD failed half way (DEL then goes without prevResult). */
  result?: JsonObject;
}

/** The plugin's error result (section 5 "Error"), plus what berth knows of the call. */
export interface CniErrorInfo {
  plugin: string;
  command: CniCommand;
  /** The well-known codes of section 5, or 100+ for plugin-specific ones; absent when the plugin printed no error JSON. */
  code?: number;
  msg: string;
  details?: string;
  /** The end of the plugin's stderr (its log), for the message. */
  stderr?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** What `status` reports for a network (the CRI's NetworkReady condition). */
export interface NetworkStatus {
  ready: boolean;
  /** Why not ready: a missing plugin, a plugin's STATUS error. */
  reason?: string;
}
