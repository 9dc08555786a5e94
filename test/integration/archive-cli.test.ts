// `berth image import|export`, `berth save` and `berth load` as a person runs them: bin/berth in a
// child process, each archive written by one root and read into a fresh one, `berth images` showing
// the result, and the exit code and one-line error of a missing or corrupt archive. The formats
// themselves (against skopeo) are in archive.test.ts, hostile archives in archive-hostile.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixtures, type Fixtures } from '../harness/fixtures.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('busybox', 'mknod', 'setfattr');
const bin = new URL('../../bin/berth', import.meta.url).pathname;
const name = 'example.com/berth/multi:v1';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface ListedImage {
  Name: string;
  Digest: string;
  MediaType: string;
  Platform: string;
}

describe('berth image import/export, save and load on the command line', { skip }, () => {
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'archive-cli');
  // An empty config file, so that the host's /etc/berth/config.toml plays no part.
  const config = join(work, 'config.toml');
  let fixtures: Fixtures;
  let roots = 0;
  /** The archives written by the first root, keyed by how they were made. */
  const archives = {
    export: join(work, 'export.tar'),
    exportDocker: join(work, 'export-docker.tar'),
    save: join(work, 'save.tar'),
    saveOci: join(work, 'save-oci.tar'),
  };

  const berth = (root: string, ...args: string[]): Run => {
    const r = spawnSync(bin, ['--config', config, '--root', root, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const freshRoot = (): string => join(work, `root-${roots++}`);
  const images = (root: string): ListedImage[] => {
    const r = berth(root, 'images', '--format', 'json');
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as ListedImage[];
  };
  /** Exit 125 and one line on stderr (plus berth's `hint:` line), matching `message` (-q keeps progress off stderr). */
  const failsWith = (r: Run, message: RegExp): void => {
    assert.equal(r.status, 125, `exit status; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^berth: [^\n]+\n(hint: [^\n]+\n)?$/, 'one line, and a hint at most');
    assert.match(r.stderr, message);
  };

  before(() => {
    if (skip) return;
    writeFileSync(config, '');
  });
  before(async () => {
    if (skip) return;
    fixtures = await buildFixtures(join(work, 'fixtures'));
    // The image comes in from the fixture's OCI layout directory, then goes out four ways.
    const root = freshRoot();
    const imported = berth(root, 'image', 'import', fixtures.multi.layoutDir, '--name', name);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.stdout, `Imported image: ${name} (${fixtures.multi.manifest.digest})\n`);
    for (const [args, file] of [
      [['image', 'export', name, '-o'], archives.export],
      [['image', 'export', '--format', 'docker', name, '-o'], archives.exportDocker],
      [['save', name, '-o'], archives.save],
      [['save', '--format', 'oci', name, '-o'], archives.saveOci],
    ] as const) {
      const r = berth(root, ...args, file);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'export and save print nothing');
      assert.ok(existsSync(file), file);
    }
  });

  test('image export writes an OCI tar that image import reads into a fresh root', () => {
    const root = freshRoot();
    const r = berth(root, 'image', 'import', archives.export);
    assert.equal(r.status, 0, r.stderr);
    // The OCI archive keeps the manifest as it was: same digest, and the name it was exported under.
    assert.equal(r.stdout, `Imported image: ${name} (${fixtures.multi.manifest.digest})\n`);
    const listed = images(root);
    assert.deepEqual(
      listed.map((i) => [i.Name, i.Digest, i.Platform]),
      [[name, fixtures.multi.manifest.digest, 'linux/amd64']],
    );
    const table = berth(root, 'images');
    assert.match(table.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+PLATFORM\s+SIZE\s+CREATED\n/);
    assert.match(table.stdout, /\nexample\.com\/berth\/multi\s+v1\s+[0-9a-f]{12}\s+linux\/amd64\s/);
  });

  test('save writes a docker archive that load reads into a fresh root', () => {
    const root = freshRoot();
    const r = berth(root, 'load', '-i', archives.save);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Loaded image: ${name} \\(sha256:[0-9a-f]{64}\\)\\n$`));
    const [image, ...more] = images(root);
    assert.deepEqual(more, []);
    assert.equal(image?.Name, name);
    // A docker archive holds no manifest: load makes a schema2 one over the uncompressed layers.
    assert.equal(image?.MediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(r.stdout, `Loaded image: ${name} (${image?.Digest})\n`);
  });

  test('the other format of each: export --format docker loads, save --format oci imports (-q)', () => {
    const docker = freshRoot();
    const loaded = berth(docker, 'load', '-q', '-i', archives.exportDocker);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.stdout, `${name}\n`);
    assert.deepEqual(
      images(docker).map((i) => [i.Name, i.MediaType]),
      [[name, 'application/vnd.docker.distribution.manifest.v2+json']],
    );
    const oci = freshRoot();
    const imported = berth(oci, 'image', 'import', '-q', archives.saveOci);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.stdout, `${name}\n`);
    assert.deepEqual(
      images(oci).map((i) => [i.Name, i.Digest]),
      [[name, fixtures.multi.manifest.digest]],
    );
    // An archive can also come in under another name.
    const renamed = berth(oci, 'image', 'import', '--name', 'example.com/berth/other:v2', archives.export);
    assert.equal(renamed.status, 0, renamed.stderr);
    assert.deepEqual(
      images(oci)
        .map((i) => i.Name)
        .sort(),
      [name, 'example.com/berth/other:v2'],
    );
  });

  test('a missing archive: exit 125 and one line naming it, for import and load', () => {
    const root = freshRoot();
    const missing = join(work, 'no-such.tar');
    failsWith(
      berth(root, 'image', 'import', missing),
      new RegExp(`^berth: archive ${missing}: no such file or directory\\n$`),
    );
    failsWith(
      berth(root, 'load', '-i', missing),
      new RegExp(`^berth: archive ${missing}: no such file or directory\\n$`),
    );
    assert.deepEqual(images(root), []);
  });

  test('an image berth does not have: export and save exit 125, no archive written', () => {
    const root = freshRoot();
    const out = join(work, 'never.tar');
    const exported = berth(root, 'image', 'export', 'example.com/berth/absent:v1', '-o', out);
    assert.equal(exported.status, 125, exported.stderr);
    assert.match(exported.stderr, /^berth: image "example\.com\/berth\/absent:v1": not found\n/);
    const saved = berth(root, 'save', '-o', out, 'example.com/berth/absent:v1');
    assert.equal(saved.status, 125, saved.stderr);
    assert.equal(existsSync(out), false);
  });

  test('a corrupt archive (a layer changed in the tar): exit 125, one line, nothing loaded', () => {
    const root = freshRoot();
    // One byte flipped inside the docker archive's first layer (uncompressed, so the tar stays a
    // tar): its digest no longer matches the name the archive gives it.
    const bytes = readFileSync(archives.save);
    const corrupt = join(work, 'flipped.tar');
    const at = bytes.indexOf(Buffer.from('bin/busybox')) + 4096;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(corrupt, bytes);
    failsWith(
      berth(root, 'load', '-q', '-i', corrupt),
      new RegExp(
        `^berth: archive ${corrupt}: blobs/sha256/[0-9a-f]{64} is sha256:[0-9a-f]{64} .*the archive says`,
      ),
    );
    assert.deepEqual(images(root), []);
  });

  test('a corrupt archive (not a tar, or cut short): exit 125, one line, nothing imported', () => {
    const root = freshRoot();
    const cut = join(work, 'cut.tar');
    writeFileSync(cut, readFileSync(archives.export).subarray(0, 100_000));
    failsWith(berth(root, 'image', 'import', '-q', cut), new RegExp(`^berth: archive ${cut}: `));
    const garbage = join(work, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(3000, 'not a tar archive '));
    failsWith(berth(root, 'load', '-q', '-i', garbage), new RegExp(`^berth: archive ${garbage}: `));
    assert.deepEqual(images(root), []);
  });
});
