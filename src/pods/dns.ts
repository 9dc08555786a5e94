// The pod's /etc/resolv.conf from the CRI's DNSConfig (servers, searches, options), as containerd's CRI
// writes it (`search …`, `nameserver …` lines, `options …`); with no DNSConfig the host's resolv.conf
// is used, loopback nameservers dropped unless the pod shares the host's network (127.0.0.53 of
// systemd-resolved means nothing inside a pod's network namespace; Docker drops them too). Every
// value lands on a line of a file glibc parses, so none may hold whitespace, a line break or `#`/`;`
// (comment starters) that would let a value add a line of its own.

import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { DnsConfig } from './types.ts';

/** kubelet's MaxDNSSearchPaths; glibc before 2.26 read only six, newer ones read all. */
export const MAX_DNS_SEARCHES = 32;
/** glibc reads at most MAXNS (3) nameservers; kubelet allows no more. */
export const MAX_DNS_SERVERS = 3;
const MAX_ITEM = 253;
const token = /^[^\s#;]+$/;

function checkList(list: readonly string[] | undefined, field: string, max: number): string[] {
  const out = [...(list ?? [])];
  if (out.length > max) throw new InvalidArgumentError(`dns config ${field}: at most ${max} entries`);
  for (const v of out) {
    if (typeof v !== 'string' || v.length > MAX_ITEM || !token.test(v)) {
      throw new InvalidArgumentError(
        `dns config ${field}: ${JSON.stringify(v)} is not one word (no spaces, # or ;)`,
      );
    }
  }
  return out;
}

/** Validates a DNSConfig; servers must be IP addresses. */
export function checkDnsConfig(dns: DnsConfig): Required<DnsConfig> {
  const servers = checkList(dns.servers, 'servers', MAX_DNS_SERVERS);
  for (const s of servers) {
    if (isIP(s) === 0)
      throw new InvalidArgumentError(`dns config servers: ${JSON.stringify(s)} is not an IP address`);
  }
  return {
    servers,
    searches: checkList(dns.searches, 'searches', MAX_DNS_SEARCHES),
    options: checkList(dns.options, 'options', 64),
  };
}

export function isEmptyDns(dns: DnsConfig | undefined): boolean {
  return (dns?.servers?.length ?? 0) + (dns?.searches?.length ?? 0) + (dns?.options?.length ?? 0) === 0;
}

/** resolv.conf text for a (validated) DNSConfig. */
export function renderResolvConf(dns: DnsConfig): string {
  const lines: string[] = [];
  if ((dns.searches?.length ?? 0) > 0) lines.push(`search ${dns.searches!.join(' ')}`);
  for (const s of dns.servers ?? []) lines.push(`nameserver ${s}`);
  if ((dns.options?.length ?? 0) > 0) lines.push(`options ${dns.options!.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
