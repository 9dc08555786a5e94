// skopeo as an independent registry client: tests push fixtures with it and cross-check what berth
// writes. Every run gets its own policy, auth file and registries config in a temp dir, so a test never
// reads or writes the host's credentials (~/.docker, $XDG_RUNTIME_DIR/containers/auth.json) and never
// depends on /etc/containers/policy.json or registries.conf being present or permissive.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SkopeoCreds {
  username: string;
  password: string;
}

export interface SkopeoCopyOptions {
  /** Used for whichever side (source, destination or both) is a `docker://` reference. */
  creds?: SkopeoCreds;
  /** Copy every image of an index, not just the host's platform. */
  all?: boolean;
  /** Fail rather than re-encode anything that would change a digest. */
  preserveDigests?: boolean;
}

/** A deadline for one skopeo run; pushing the fixtures takes well under a second. */
const skopeoTimeoutMs = 60_000;

/** Plain HTTP and no certificate checks only for the tests' own loopback registries. */
function isLoopbackDocker(ref: string): boolean {
  return /^docker:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(ref);
}

/** Runs skopeo with an isolated configuration; resolves with stdout, rejects with stderr included. */
async function runSkopeo(args: (authfile: string) => string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-test-skopeo-'));
  try {
    const policy = join(dir, 'policy.json');
    const authfile = join(dir, 'auth.json');
    const registriesConf = join(dir, 'registries.conf');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(authfile, JSON.stringify({ auths: {} }));
    await writeFile(registriesConf, '');
    const argv = ['--policy', policy, '--registries.d', dir, ...args(authfile)];
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_RUNTIME_DIR: dir,
      REGISTRY_AUTH_FILE: authfile,
      CONTAINERS_REGISTRIES_CONF: registriesConf,
      TMPDIR: dir,
    };
    return await new Promise<Buffer>((resolve, reject) => {
      execFile(
        'skopeo',
        argv,
        { env, encoding: 'buffer', maxBuffer: 64 << 20, timeout: skopeoTimeoutMs },
        (err, stdout, stderr) => {
          if (err === null) return resolve(stdout);
          // The command line carries the test password (--creds user:pass): keep it out of logs.
          const shown = argv.map((a, i) => (/^--(src-|dest-)?creds$/.test(argv[i - 1] ?? '') ? '***' : a));
          reject(
            new Error(`skopeo ${shown.join(' ')} failed (${err.code ?? err.signal}):\n${stderr.toString()}`),
          );
        },
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function credsFlag(creds: SkopeoCreds): string {
  return `${creds.username}:${creds.password}`;
}

/** `skopeo copy src dst`, e.g. `oci:/tmp/layout:latest` → `docker://127.0.0.1:5000/repo:latest`. */
export async function skopeoCopy(src: string, dst: string, opts: SkopeoCopyOptions = {}): Promise<void> {
  await runSkopeo((authfile) => {
    const args = ['copy', '--quiet', '--authfile', authfile, '--retry-times', '0'];
    if (isLoopbackDocker(src)) args.push('--src-tls-verify=false');
    if (isLoopbackDocker(dst)) args.push('--dest-tls-verify=false');
    if (opts.creds !== undefined && src.startsWith('docker://'))
      args.push('--src-creds', credsFlag(opts.creds));
    if (opts.creds !== undefined && dst.startsWith('docker://'))
      args.push('--dest-creds', credsFlag(opts.creds));
    if (opts.all === true) args.push('--all');
    if (opts.preserveDigests === true) args.push('--preserve-digests');
    args.push(src, dst);
    return args;
  });
}

/** `skopeo inspect --raw ref`: the manifest or index exactly as stored, bytes intact for digesting. */
export async function skopeoInspectRaw(ref: string, creds?: SkopeoCreds): Promise<Buffer> {
  return runSkopeo((authfile) => {
    const args = ['inspect', '--raw', '--authfile', authfile];
    if (isLoopbackDocker(ref)) args.push('--tls-verify=false');
    if (creds !== undefined) args.push('--creds', credsFlag(creds));
    args.push(ref);
    return args;
  });
}
