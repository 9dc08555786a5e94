// The images critest v1.29 pulls, rebuilt offline as look-alikes with berth's own image builder
// (src/imagebuild), for bench/critest.ts. The recipe is ../shared/critest-images's (mkimages.py), whose
// README says what critest asserts about each image; its small inputs (passwd/group, nginx.conf,
// apache2.conf, httpd-foreground, nnp.c, pause.c) are read from there. The binaries come from Debian
// packages fetched with `apt-get download` (the only network use) and extracted with dpkg-deb:
//
// - a busybox:1.29 look-alike as the shared base layer: Debian's dynamic busybox with every applet a
//   hard link in /bin (a symlinked /bin/ls would mask busybox itself under MaskedPaths), glibc,
//   pgrep/pkill from toybox and ipcs from util-linux (Debian's busybox has neither; `pgrep sleep`
//   must leave stderr empty), libgcc_s (glibc dlopens it for thread exit);
// - nginx (:80) and hostnet-nginx (:12003), httpd (argv[0] `httpd`, "Command line: 'httpd -D
//   FOREGROUND'" in its log), nonewprivs (a setuid-root `nnp`), the test-image-* tag/user/group
//   variants, and registry.k8s.io/pause:3.6 (containerd's sandbox image; berth runs no pause).
//
// Not built: gcr.io/.../test-image-digest@sha256:9700…, whose manifest digest no rebuild reproduces
// (bench/critest.ts skips that spec for every runtime). Deterministic: the same packages give the
// same digests. What differs from upstream (busybox 1.35, nginx 1.22, Apache 2.4 on glibc, single-
// platform manifests) is listed in the shared README; critest asserts none of it.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciLayout } from '../src/content/index.ts';
import {
  type BuiltLayer,
  compressor,
  type LayerEntry,
  packLayer,
  planEntries,
  reproducibleEpoch,
  writeImage,
} from '../src/imagebuild/index.ts';
import { formatDigest, hostPlatform, type ImageRunConfig } from '../src/oci/image/index.ts';

/** ../shared/critest-images beside the checkout (the project's shared dir). */
export const sharedImagesDir = new URL('../../shared/critest-images/', import.meta.url).pathname;

/** Debian packages the images are made of (as ../shared/critest-images/build.sh lists them). */
const packages = [
  ...['busybox', 'toybox', 'util-linux', 'libc6', 'libcrypt1', 'libgcc-s1'],
  ...['nginx', 'libpcre2-8-0', 'libssl3', 'zlib1g'],
  ...['apache2-bin', 'libapr1', 'libaprutil1', 'libuuid1', 'libexpat1'],
];

const pathEnv = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** registry.k8s.io/e2e-test-images/… */
const e2e = 'e2e-test-images/';
/** gcr.io/k8s-staging-cri-tools/… */
const staging = 'k8s-staging-cri-tools/';

/** One `<repo>:<tag>` to push; `ref` is its name in the OCI layout. */
export interface BuiltTag {
  /** The path on the upstream registry and on the mirror: `e2e-test-images/busybox`. */
  repo: string;
  tag: string;
  /** `registry.k8s.io` or `gcr.io`. */
  upstream: string;
  ref: string;
  manifestDigest: string;
}

export interface CritestImages {
  layoutDir: string;
  tags: BuiltTag[];
  /** `package=version` of every .deb used. */
  debs: string[];
}

type Log = (line: string) => void;

function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
}

// ---- ELF: the interpreter and DT_NEEDED libraries of a binary ----

function elfDeps(file: string): { interp?: string; needed: string[] } | undefined {
  const data = readFileSync(file);
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = data[4] === 2;
  const le = data[5] === 1;
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const word = (o: number) =>
    is64 ? Number(le ? data.readBigUInt64LE(o) : data.readBigUInt64BE(o)) : u32(o);
  const phoff = word(is64 ? 0x20 : 0x1c);
  const shoff = word(is64 ? 0x28 : 0x20);
  const [phentsize, phnum, shentsize, shnum] = is64
    ? [u16(0x36), u16(0x38), u16(0x3a), u16(0x3c)]
    : [u16(0x2a), u16(0x2c), u16(0x2e), u16(0x30)];
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (u32(off) !== 3) continue; // PT_INTERP
    const pOffset = word(off + (is64 ? 8 : 4));
    const pFilesz = word(off + (is64 ? 32 : 16));
    interp = data
      .subarray(pOffset, pOffset + pFilesz)
      .toString('latin1')
      .replace(/\0+$/, '');
  }
  const section = (i: number) => {
    const off = shoff + i * shentsize;
    return is64
      ? { type: u32(off + 4), offset: word(off + 24), size: word(off + 32), link: u32(off + 40) }
      : { type: u32(off + 4), offset: u32(off + 16), size: u32(off + 20), link: u32(off + 24) };
  };
  const needed: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== 6) continue; // SHT_DYNAMIC
    const strtab = section(s.link).offset;
    const step = is64 ? 16 : 8;
    for (let o = s.offset; o < s.offset + s.size; o += step) {
      const tag = word(o);
      if (tag === 0) break;
      if (tag !== 1) continue; // DT_NEEDED
      const start = strtab + word(o + step / 2);
      needed.push(data.subarray(start, data.indexOf(0, start)).toString('latin1'));
    }
  }
  return interp === undefined ? { needed } : { interp, needed };
}

/** Debian packages extracted into one directory, addressed by their paths in the image. */
class Sysroot {
  readonly root: string;
  readonly libDirs: string[];
  constructor(root: string) {
    this.root = root;
    const triplet = run('gcc', ['-print-multiarch']).trim();
    this.libDirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib', '/lib64'];
  }

  host(p: string): string {
    return this.root + p;
  }

  lexists(p: string): boolean {
    try {
      lstatSync(this.host(p));
      return true;
    } catch {
      return false;
    }
  }

  /** `p` and every symlink hop it goes through, all resolved inside the sysroot. */
  chain(p: string): string[] {
    const out: string[] = [];
    for (let hop = 0; hop < 40; hop++) {
      out.push(p);
      const st = lstatSync(this.host(p), { throwIfNoEntry: false });
      if (st === undefined) throw new Error(`critest images: ${p} is not in the extracted packages`);
      if (!st.isSymbolicLink()) return out;
      const target = readlinkSync(this.host(p));
      p = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(p), target));
    }
    throw new Error(`critest images: symlink loop at ${p}`);
  }

  /** `paths` plus the loader and the shared libraries they need, transitively, symlinks included. */
  closure(paths: string[]): string[] {
    const todo = [...paths];
    const seen: string[] = [];
    while (todo.length > 0) {
      const p = todo.shift() as string;
      if (seen.includes(p)) continue;
      const chain = this.chain(p);
      for (const hop of chain) if (!seen.includes(hop)) seen.push(hop);
      const deps = elfDeps(this.host(chain[chain.length - 1] as string));
      if (deps === undefined) continue;
      if (deps.interp !== undefined) todo.push(deps.interp);
      for (const lib of deps.needed) todo.push(this.findLib(lib, p));
    }
    return seen;
  }

  findLib(lib: string, neededBy = 'an image'): string {
    for (const d of this.libDirs) if (this.lexists(`${d}/${lib}`)) return `${d}/${lib}`;
    throw new Error(`critest images: ${neededBy} needs ${lib}, which no listed package has`);
  }
}

// ---- layers ----

/** Entries keyed by path: a later entry for a path replaces the earlier one (as the recipe does). */
class Layer {
  readonly entries = new Map<string, LayerEntry>();
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }

  dir(path: string, mode = 0o755, uid = 0, gid = 0): void {
    this.entries.set(path, { type: 'dir', path, mode, uid, gid });
  }
  file(path: string, content: Uint8Array | string, mode = 0o644, uid = 0, gid = 0): void {
    this.entries.set(path, { type: 'file', path, content, mode, uid, gid });
  }
  symlink(path: string, target: string): void {
    this.entries.set(path, { type: 'symlink', path, target });
  }
  hardlink(path: string, target: string): void {
    this.entries.set(path, { type: 'hardlink', path, target });
  }
  /** Copies sysroot files (symlinks stay symlinks) to the same path, or to `dest`. */
  copy(sr: Sysroot, paths: string[], dest?: string, mode?: number): void {
    for (const p of paths) {
      const hostPath = sr.host(p);
      const st = lstatSync(hostPath);
      const to = dest ?? p;
      if (st.isSymbolicLink()) this.symlink(to, readlinkSync(hostPath));
      else if (st.isFile()) {
        this.entries.set(to, { type: 'file', path: to, hostPath, mode: mode ?? st.mode & 0o7777 });
      } else throw new Error(`critest images: ${p} is neither a file nor a symlink`);
    }
  }
}

function shared(...parts: string[]): Buffer {
  return readFileSync(join(sharedImagesDir, ...parts));
}

function baseLayer(sr: Sysroot): Layer {
  const l = new Layer('busybox base');
  const applets = run(sr.host('/bin/busybox'), ['--list']).split(/\s+/).filter(Boolean);
  const bins = ['/bin/busybox', '/bin/toybox', '/usr/bin/ipcs', sr.findLib('libgcc_s.so.1')];
  for (const p of sr.closure(bins)) l.copy(sr, [p], p === '/usr/bin/ipcs' ? '/bin/ipcs' : undefined);
  for (const a of applets) if (a !== 'busybox') l.hardlink(`/bin/${a}`, '/bin/busybox');
  for (const a of ['pgrep', 'pkill']) l.hardlink(`/bin/${a}`, '/bin/toybox');
  for (const d of ['/dev', '/etc', '/home', '/proc', '/sys', '/usr/sbin', '/usr/bin', '/var/spool/mail']) {
    l.dir(d);
  }
  l.dir('/var/www');
  l.dir('/root', 0o700);
  l.dir('/tmp', 0o1777);
  l.dir('/var/tmp', 0o1777);
  l.file('/etc/passwd', shared('files', 'busybox', 'passwd'));
  l.file('/etc/group', shared('files', 'busybox', 'group'));
  l.file('/etc/nsswitch.conf', shared('files', 'busybox', 'nsswitch.conf'));
  return l;
}

/** A layer replacing /etc/passwd and /etc/group with the base's plus `extraDir`'s extra lines. */
function passwdLayer(name: string, extraDir: string): Layer {
  const l = new Layer(name);
  for (const f of ['passwd', 'group']) {
    l.file(
      `/etc/${f}`,
      Buffer.concat([shared('files', 'busybox', f), shared('files', extraDir, `${f}-extra`)]),
    );
  }
  return l;
}

function nginxLayer(sr: Sysroot, port: number, base: Layer): Layer {
  const l = passwdLayer(`nginx :${port}`, 'nginx');
  for (const p of sr.closure(['/usr/sbin/nginx'])) if (!base.entries.has(p)) l.copy(sr, [p]);
  l.file(
    '/etc/nginx/nginx.conf',
    shared('files', 'nginx', 'nginx.conf').toString().replace('PORT;', `${port};`),
  );
  l.file('/usr/share/nginx/html/index.html', shared('files', 'nginx', 'index.html'));
  for (const d of ['/var/lib/nginx', '/var/log/nginx', '/var/cache/nginx', '/run', '/run/lock']) l.dir(d);
  l.symlink('/var/run', '../run');
  l.symlink('/var/lock', '../run/lock');
  return l;
}

function httpdLayer(sr: Sysroot, base: Layer): Layer {
  const l = new Layer('httpd');
  const mods = ['mpm_event', 'authz_core', 'dir', 'mime'].map((m) => `/usr/lib/apache2/modules/mod_${m}.so`);
  for (const p of sr.closure(['/usr/sbin/apache2', ...mods])) if (!base.entries.has(p)) l.copy(sr, [p]);
  // argv[0] must be "httpd": Apache logs "Command line: 'httpd -D FOREGROUND'", which critest reads.
  l.symlink('/usr/local/apache2/bin/httpd', '/usr/sbin/apache2');
  l.file('/usr/local/bin/httpd-foreground', shared('files', 'httpd', 'httpd-foreground'), 0o755);
  l.file('/etc/apache2/apache2.conf', shared('files', 'httpd', 'apache2.conf'));
  l.file('/etc/apache2/mime.types', shared('files', 'httpd', 'mime.types'));
  l.file('/usr/local/apache2/htdocs/index.html', shared('files', 'httpd', 'index.html'));
  l.dir('/usr/local/apache2/logs');
  return l;
}

/**
 * writeLayer's pipeline (tar → sha256 diffID → gzip → blob), but every hard link's header carries its
 * target's mode and owner, as GNU tar writes it. src/imagebuild writes 0644 root for every hard link
 * (entries.ts, hardlinkEntry), and containerd (like Docker) chmods the shared inode to the link
 * header's mode: /bin/busybox and all its applets lose the exec bit there (runc: `exec: "top":
 * executable file not found in $PATH`). berth's unpacker ignores a link's mode, so berth never saw it.
 */
async function writeLayerKeepingLinkModes(layout: OciLayout, l: Layer): Promise<BuiltLayer> {
  const planned = planEntries([...l.entries.values()], reproducibleEpoch);
  const files = new Map(
    planned.filter((p) => p.header.type === 'file').map((p) => [p.header.name, p.header]),
  );
  for (const p of planned) {
    if (p.header.type !== 'link') continue;
    const target = files.get(p.header.linkname ?? '');
    if (target === undefined) continue;
    p.header.mode = target.mode;
    p.header.uid = target.uid;
    p.header.gid = target.gid;
  }
  const diff = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diff.update(chunk);
      callback(null, chunk);
    },
  });
  const gzip = compressor('gzip');
  const [, written] = await Promise.all([pipeline(packLayer(planned), tap, gzip), layout.writeBlob(gzip)]);
  return {
    digest: written.digest,
    size: written.size,
    diffId: formatDigest('sha256', diff.digest('hex')),
    compression: 'gzip',
    createdBy: `critest-images: ${l.name}`,
  };
}

// ---- the build ----

/** Fetches and extracts the packages, compiles nnp and pause, and writes every image to one layout. */
export async function buildCritestImages(work: string, log: Log): Promise<CritestImages> {
  if (!existsSync(join(sharedImagesDir, 'files')) || !existsSync(join(sharedImagesDir, 'src'))) {
    throw new Error(`critest images: ${sharedImagesDir} (the shared look-alike recipe) is missing`);
  }
  const debDir = join(work, 'debs');
  const sysroot = join(work, 'sysroot');
  const binDir = join(work, 'bin');
  for (const d of [debDir, sysroot, binDir]) mkdirSync(d, { recursive: true });
  log(`  apt-get download ${packages.length} packages`);
  const download = () =>
    run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...packages], debDir);
  try {
    download();
  } catch {
    run('apt-get', ['update', '-qq']); // stale or absent package lists
    download();
  }
  const debs: string[] = [];
  for (const deb of readdirSync(debDir).filter((f) => f.endsWith('.deb'))) {
    run('dpkg-deb', ['-x', join(debDir, deb), sysroot]);
    const [pkg, version] = run('dpkg-deb', ['-f', join(debDir, deb), 'Package', 'Version'])
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\w+: /, ''));
    debs.push(`${pkg}=${version}`);
  }
  debs.sort();
  for (const name of ['nnp', 'pause']) {
    run('cc', ['-static', '-Os', '-s', '-o', join(binDir, name), join(sharedImagesDir, 'src', `${name}.c`)]);
  }
  const sr = new Sysroot(sysroot);
  const platform = hostPlatform();
  const arch = platform.architecture;
  const layout = await OciLayout.create(join(work, 'oci'));
  const labels = {
    'org.opencontainers.image.description': 'critest look-alike built by berth bench/critest.ts',
    'critest-images.debian-packages': debs.join(' '),
  };
  const cfg = (extra: ImageRunConfig = {}): ImageRunConfig => ({
    Env: [pathEnv],
    Cmd: ['sh'],
    Labels: { ...labels },
    ...extra,
  });
  const built = new Map<Layer, BuiltLayer>();
  const layer = async (l: Layer): Promise<BuiltLayer> => {
    let b = built.get(l);
    if (b === undefined) {
      b = await writeLayerKeepingLinkModes(layout, l);
      built.set(l, b);
    }
    return b;
  };
  const tags: BuiltTag[] = [];
  const image = async (repo: string, tagList: string[], layers: Layer[], config: ImageRunConfig) => {
    const img = await writeImage(layout, { platform, layers: await Promise.all(layers.map(layer)), config });
    for (const tag of tagList) {
      const ref = `i${tags.length}`;
      await layout.addManifest(img.manifest, ref);
      const upstream = repo.startsWith(staging) ? 'gcr.io' : 'registry.k8s.io';
      tags.push({ repo, tag, upstream, ref, manifestDigest: img.manifest.digest });
    }
  };

  log('  building layers and images (src/imagebuild)');
  const base = baseLayer(sr);
  await image(`${e2e}busybox`, ['1.29-2'], [base], cfg());
  const nginx = (port: number) =>
    cfg({ Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { [`${port}/tcp`]: {} } });
  await image(`${e2e}nginx`, ['1.14-2'], [base, nginxLayer(sr, 80, base)], nginx(80));
  await image(
    `${staging}hostnet-nginx-${arch}`,
    ['latest'],
    [base, nginxLayer(sr, 12003, base)],
    nginx(12003),
  );
  await image(
    `${e2e}httpd`,
    ['2.4.39-4'],
    [base, httpdLayer(sr, base)],
    cfg({
      Env: [
        'PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HTTPD_PREFIX=/usr/local/apache2',
      ],
      Cmd: ['httpd-foreground'],
      WorkingDir: '/usr/local/apache2',
      ExposedPorts: { '80/tcp': {} },
      StopSignal: 'SIGWINCH',
    }),
  );
  const nnp = new Layer('nnp');
  nnp.file('/usr/local/bin/nnp', readFileSync(join(binDir, 'nnp')), 0o4755);
  await image(`${e2e}nonewprivs`, ['1.3'], [base, nnp], cfg({ Cmd: ['nnp'] }));
  for (const [repo, user] of [
    ['test-image-user-uid', '1002'],
    ['test-image-user-username', 'www-data'],
    ['test-image-user-uid-group', '1003:1004'],
    ['test-image-user-username-group', 'www-data:1004'],
  ] as const) {
    await image(`${staging}${repo}`, ['latest'], [base], cfg({ User: user }));
  }
  const predefined = passwdLayer('predefined group', 'predefined-group');
  predefined.dir('/home/default-user', 0o755, 1000, 1000);
  await image(`${staging}test-image-predefined-group`, ['latest'], [base, predefined], cfg({ User: '1000' }));
  const marker = (name: string): Layer => {
    const l = new Layer(`marker ${name}`);
    l.file(`/${name}`, `${name}\n`);
    return l;
  };
  await image(`${staging}test-image-latest`, ['latest'], [base, marker('test-image-latest')], cfg());
  await image(`${staging}test-image-tag`, ['test'], [base, marker('test-image-tag-test')], cfg());
  await image(`${staging}test-image-tag`, ['all'], [base, marker('test-image-tag-all')], cfg());
  for (const n of ['1', '2', '3']) {
    await image(`${staging}test-image-${n}`, ['latest'], [base, marker(`test-image-${n}`)], cfg());
  }
  // one manifest under three tags: critest expects one image id carrying all three RepoTags
  await image(`${staging}test-image-tags`, ['1', '2', '3'], [base, marker('test-image-tags')], cfg());
  const pause = new Layer('pause');
  pause.file('/pause', readFileSync(join(binDir, 'pause')), 0o755);
  await image('pause', ['3.6'], [pause], { Entrypoint: ['/pause'], User: '65535:65535' });
  return { layoutDir: layout.dir, tags, debs };
}
