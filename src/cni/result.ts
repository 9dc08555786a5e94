// Reading an ADD result (CNI spec section 5 "ADD Success"): interfaces, ips, routes, dns. The shape is
// the same from 0.3.0 to 1.1.0 except that results before 1.0.0 carry `version` ("4"/"6") in each ip,
// which is ignored here (the address says which family it is). Unknown keys are kept in `raw`, which
// is what the next plugin gets as `prevResult` and what berth stores for DEL and CHECK: the typed view
// is for berth's own use (the pod IPs), never re-serialised.

import { isIP } from 'node:net';
import { CniPluginError } from './errors.ts';
import type { CniDns, CniInterface, CniIp, CniResult, CniRoute, JsonObject } from './types.ts';

type Json = Record<string, unknown>;

class Malformed extends Error {}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Malformed(`${field}: not a list`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new Malformed(`${field}: not a string`);
  return v;
}

function optStr(v: unknown, field: string): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : str(v, field);
}

function optUint(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Malformed(`${field}: not a uint`);
  return v;
}

/** `10.1.0.5/16` or `fd00::5/64`: an address and a prefix length that fits its family. */
export function isCidr(s: string): boolean {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return false;
  const family = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function ip(v: unknown, at: string): CniIp {
  if (!isObject(v)) throw new Malformed(`${at}: not an object`);
  const address = str(v.address, `${at}.address`);
  if (!isCidr(address)) throw new Malformed(`${at}.address ${JSON.stringify(address)}: not CIDR`);
  const gateway = optStr(v.gateway, `${at}.gateway`);
  if (gateway !== undefined && isIP(gateway) === 0) throw new Malformed(`${at}.gateway: not an IP address`);
  const iface = optUint(v.interface, `${at}.interface`);
  return {
    address,
    ...(gateway === undefined ? {} : { gateway }),
    ...(iface === undefined ? {} : { interface: iface }),
  };
}

function iface(v: unknown, at: string): CniInterface {
  if (!isObject(v)) throw new Malformed(`${at}: not an object`);
  const out: CniInterface = { name: str(v.name, `${at}.name`) };
  const mac = optStr(v.mac, `${at}.mac`);
  const sandbox = optStr(v.sandbox, `${at}.sandbox`);
  const mtu = optUint(v.mtu, `${at}.mtu`);
  if (mac !== undefined) out.mac = mac;
  if (sandbox !== undefined) out.sandbox = sandbox;
  if (mtu !== undefined) out.mtu = mtu;
  return out;
}

function route(v: unknown, at: string): CniRoute {
  if (!isObject(v)) throw new Malformed(`${at}: not an object`);
  const dst = str(v.dst, `${at}.dst`);
  if (!isCidr(dst)) throw new Malformed(`${at}.dst ${JSON.stringify(dst)}: not CIDR`);
  const out: CniRoute = { dst };
  const gw = optStr(v.gw, `${at}.gw`);
  if (gw !== undefined) out.gw = gw;
  for (const k of ['mtu', 'priority', 'table', 'scope'] as const) {
    const n = optUint(v[k], `${at}.${k}`);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function strings(v: unknown, field: string): string[] {
  return list(v, field).map((x, i) => str(x, `${field}[${i}]`));
}

function dns(v: unknown): CniDns {
  if (v === undefined || v === null) return { nameservers: [], search: [], options: [] };
  if (!isObject(v)) throw new Malformed('dns: not an object');
  const domain = optStr(v.domain, 'dns.domain');
  return {
    nameservers: strings(v.nameservers, 'dns.nameservers'),
    ...(domain === undefined ? {} : { domain }),
    search: strings(v.search, 'dns.search'),
    options: strings(v.options, 'dns.options'),
  };
}

/** Parses plugin `plugin`'s ADD output; CniPluginError naming the field when it is not a result. */
export function parseResult(stdout: string, plugin: string): CniResult {
  try {
    const doc: unknown = JSON.parse(stdout);
    if (!isObject(doc)) throw new Malformed('not a JSON object');
    const ips = list(doc.ips, 'ips').map((x, i) => ip(x, `ips[${i}]`));
    const interfaces = list(doc.interfaces, 'interfaces').map((x, i) => iface(x, `interfaces[${i}]`));
    for (const [i, x] of ips.entries()) {
      if (x.interface !== undefined && x.interface >= interfaces.length) {
        throw new Malformed(`ips[${i}].interface ${x.interface}: no such interface`);
      }
    }
    return {
      cniVersion: typeof doc.cniVersion === 'string' ? doc.cniVersion : '',
      interfaces,
      ips,
      routes: list(doc.routes, 'routes').map((x, i) => route(x, `routes[${i}]`)),
      dns: dns(doc.dns),
      raw: doc as JsonObject,
    };
  } catch (err) {
    if (!(err instanceof Malformed) && !(err instanceof SyntaxError)) throw err;
    throw new CniPluginError({ plugin, command: 'ADD', msg: `printed no valid result: ${err.message}` }, err);
  }
}

/** The pod's addresses without prefix length (`10.89.0.5`): IPs on the sandbox's interface, in order. */
export function podIps(result: CniResult): string[] {
  const inSandbox = (i: number | undefined) => i === undefined || result.interfaces[i]?.sandbox !== undefined;
  return result.ips
    .filter((x) => inSandbox(x.interface))
    .map((x) => x.address.slice(0, x.address.lastIndexOf('/')));
}
