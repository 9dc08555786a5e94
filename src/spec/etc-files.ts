// The text of a container's /etc/hosts and of the resolv.conf it gets from the host, shared by the
// CLI's containers (containers/etc-files.ts) and the pods' (pods/etc-files.ts). With its own network
// namespace a container cannot reach the host's loopback, so nameservers there (systemd-resolved's
// 127.0.0.53, a local dnsmasq) are dropped unless it shares the host's network; Docker drops them too.

/** localhost entries, then the host name on each of `ips` (or on 127.0.1.1 when it has none). */
export function hostsFile(hostname: string, ips: readonly string[] = []): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(ips.length === 0 ? [`127.0.1.1\t${hostname}`] : ips.map((ip) => `${ip}\t${hostname}`)),
    '',
  ].join('\n');
}

/** The host's resolv.conf for a container: as it is with the host's network, else without loopback nameservers. */
export function resolvConfFromHost(host: string, hostNetwork: boolean): string {
  if (hostNetwork) return host;
  return host
    .split('\n')
    .filter((l) => {
      const m = /^\s*nameserver\s+(\S+)/.exec(l);
      return m === null || !(m[1]!.startsWith('127.') || m[1] === '::1');
    })
    .join('\n');
}
