// The request configuration a plugin reads on stdin, derived from its plugin configuration object
// (CNI spec section 3 "Deriving request configuration from plugin configuration"): the plugin object
// unchanged, plus `cniVersion` and `name` from the network, plus for ADD/DEL/CHECK the `runtimeConfig`
// (the capabilities the plugin declares and the runtime supplies, section 3 "Deriving runtimeConfig")
// and the `prevResult`; `capabilities` itself "must not be set". Pure, so it is tested as data.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { CapabilityArgs, JsonObject, NetworkConfigList, PluginConfig } from './types.ts';

export interface RequestInputs {
  network: Pick<NetworkConfigList, 'name' | 'cniVersion'>;
  plugin: PluginConfig;
  /** Attachment operations get runtimeConfig; STATUS and VERSION do not. */
  capabilityArgs?: CapabilityArgs;
  /** Absent for the first ADD of a chain (the spec says it "must not be set" there). */
  prevResult?: JsonObject;
}

/** The union of what the plugin declares and the runtime supplies; undefined when empty. */
export function runtimeConfigFor(
  plugin: PluginConfig,
  args: CapabilityArgs | undefined,
): JsonObject | undefined {
  if (args === undefined) return undefined;
  const out: JsonObject = {};
  for (const [cap, value] of Object.entries(args)) {
    if (plugin.capabilities[cap] === true && value !== undefined) out[cap] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function requestConfig(inputs: RequestInputs): JsonObject {
  const { capabilities: _capabilities, ...rest } = inputs.plugin.raw;
  const out: JsonObject = { ...rest, cniVersion: inputs.network.cniVersion, name: inputs.network.name };
  // Section 1 reserves `runtimeConfig` and `args` for the runtime: a config that sets them itself is
  // overridden rather than passed on, so a file cannot pose as runtime-supplied data.
  delete out.runtimeConfig;
  delete out.prevResult;
  const runtimeConfig = runtimeConfigFor(inputs.plugin, inputs.capabilityArgs);
  if (runtimeConfig !== undefined) out.runtimeConfig = runtimeConfig;
  if (inputs.prevResult !== undefined) out.prevResult = inputs.prevResult;
  return out;
}

// Section 2 "CNI_ARGS": "Alphanumeric key-value pairs separated by semicolons". Values are pod names,
// namespaces and uids: letters, digits, `-`, `_`, `.`; a `;` or `=` would smuggle another pair in.
const argPart = /^[A-Za-z0-9_.-]+$/;

/** CNI_ARGS from key/value pairs: `IgnoreUnknown=1;K8S_POD_NAME=x`; refuses separators in values. */
export function cniArgs(args: Record<string, string> | undefined): string {
  if (args === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (!argPart.test(k) || (v !== '' && !argPart.test(v))) {
      throw new InvalidArgumentError(
        `CNI_ARGS ${JSON.stringify(`${k}=${v}`)}: keys and values may hold letters, digits, _ . - only`,
      );
    }
    parts.push(`${k}=${v}`);
  }
  return parts.join(';');
}

// Section 2 "CNI_CONTAINERID": starts alphanumeric, then alphanumerics, `_`, `.`, `-`.
const containerId = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkContainerId(id: string): string {
  if (!containerId.test(id)) {
    throw new InvalidArgumentError(`CNI_CONTAINERID ${JSON.stringify(id)}: letters, digits, _ . - only`);
  }
  return id;
}

/** Section 2 on CNI_IFNAME: under 16 characters, not `.`/`..`, no `/`, `:` or whitespace. */
export function checkIfName(name: string): string {
  if (name === '' || name.length >= 16 || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new InvalidArgumentError(`CNI_IFNAME ${JSON.stringify(name)}: not a valid interface name`);
  }
  return name;
}
