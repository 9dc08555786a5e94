// `berth content ls|get|verify`, run as the CLI runs them: a child process with a commander program
// carrying the global options, the command's real stdout, and errors reported as main.ts does.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { humanAge, humanSize } from '../../src/cli/commands/content.ts';
import { ContentStore, contentStoreDir } from '../../src/content/index.ts';
import { tempDir } from '../harness/tmp.ts';

const repo = new URL('../..', import.meta.url).pathname;
const src = (path: string): string => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);

const program = `
  import { Command } from 'commander';
  import { contentCommand } from ${src('cli/commands/content.ts')};
  import { addGlobalOptions } from ${src('cli/global-options.ts')};
  import { reportError } from ${src('cli/report-error.ts')};
  const program = new Command('berth').exitOverride();
  addGlobalOptions(program);
  program.addCommand(contentCommand(() => program.opts()));
  try {
    await program.parseAsync(process.argv.slice(1), { from: 'user' });
  } catch (err) {
    process.exitCode = err.code?.startsWith?.('commander.') ? 2 : reportError(err);
  }
`;

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function berth(root: string, ...args: string[]): Run {
  // An empty config file, so that the host's /etc/berth/config.toml plays no part.
  const config = join(root, 'config.toml');
  writeFileSync(config, '');
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', program, '--', '--config', config, '--root', root, 'content', ...args],
    { cwd: repo, encoding: 'buffer' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function storeWith(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; digests: string[] }> {
  const root = tempDir(t, 'content-cli');
  const store = await ContentStore.create(contentStoreDir(root));
  const digests: string[] = [];
  for (const data of [Buffer.from('small'), Buffer.alloc(5000, 3)]) {
    digests.push((await store.writeBlob(data, { digest: sha256(data) })).digest);
  }
  return { root, digests };
}

test('content ls prints a DIGEST SIZE AGE table, or JSON', async (t) => {
  const { root, digests } = await storeWith(t);
  const table = berth(root, 'ls');
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.toString().trimEnd().split('\n');
  assert.match(lines[0]!, /^DIGEST\s+SIZE\s+AGE$/);
  assert.equal(lines.length, 3);
  assert.ok(
    lines.some((l) => l.startsWith(digests[1]!) && /4\.9 KiB\s+\d+s$/.test(l)),
    lines.join('\n'),
  );
  const json = berth(root, 'ls', '--format', 'json');
  const rows = JSON.parse(json.stdout.toString()) as { digest: string; size: number; createdAt: string }[];
  assert.deepEqual(rows.map((r) => r.digest).sort(), [...digests].sort());
  assert.ok(rows.every((r) => !Number.isNaN(Date.parse(r.createdAt))));
  // No store yet (nothing pulled): an empty listing, and nothing created.
  const fresh = tempDir(t, 'content-cli');
  assert.equal(berth(fresh, 'ls').stdout.toString(), 'DIGEST  SIZE  AGE\n');
  assert.equal(existsSync(contentStoreDir(fresh)), false);
});

test('content get writes the blob to stdout; an unknown digest fails with a message', async (t) => {
  const { root, digests } = await storeWith(t);
  const got = berth(root, 'get', digests[1]!);
  assert.equal(got.status, 0, got.stderr);
  assert.deepEqual(got.stdout, Buffer.alloc(5000, 3));
  const missing = berth(root, 'get', sha256(Buffer.from('absent')));
  assert.equal(missing.status, 125);
  assert.match(missing.stderr, /^berth: blob sha256:[0-9a-f]{64}: not in the content store/);
  assert.equal(berth(root, 'get', 'sha256:nope').status, 125);
});

test('content verify passes on a sound store and fails naming each corrupt blob', async (t) => {
  const { root, digests } = await storeWith(t);
  const ok = berth(root, 'verify');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.toString(), '2 blobs verified\n');

  const store = await ContentStore.open(contentStoreDir(root));
  const path = store.blobPath(digests[1]!);
  const bytes = readFileSync(path);
  bytes[0] = bytes[0]! ^ 0xff;
  writeFileSync(path, bytes);
  const bad = berth(root, 'verify');
  assert.equal(bad.status, 125);
  assert.equal(bad.stdout.toString(), `${digests[1]}: corrupt: 5000 bytes with digest ${sha256(bytes)}\n`);
  assert.match(bad.stderr, /1 of 2 blobs are corrupt/);
  const get = berth(root, 'get', digests[1]!);
  assert.equal(get.status, 125, 'get checks the digest as it streams');
  assert.match(get.stderr, /stored bytes have digest/);
});

test('humanSize and humanAge', () => {
  assert.deepEqual([0, 1023, 1024, 5000, 3 << 20].map(humanSize), [
    '0 B',
    '1023 B',
    '1.0 KiB',
    '4.9 KiB',
    '3.0 MiB',
  ]);
  assert.deepEqual([0, 59_000, 600_000, 3 * 3_600_000, 5 * 86_400_000].map(humanAge), [
    '0s',
    '59s',
    '10m',
    '3h',
    '5d',
  ]);
});
