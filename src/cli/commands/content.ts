// `berth content …`: a look inside the content store (like `ctr content`), for people and tests.
//   ls       one line per blob: DIGEST SIZE AGE (or --format json)
//   get      a blob's bytes on stdout, checked against its digest as they stream
//   verify   re-hash every blob; corrupt ones are listed and the command fails (DataLossError)

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import type { ContentStore, Info } from '../../content/index.ts';
import { DataLossError, NotFoundError } from '../../errdefs/index.ts';
import { type DigestAlgorithm, formatDigest, parseDigest } from '../../oci/image/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';

export function contentCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command('content').description('inspect the content store (blobs by digest)');
  cmd
    .command('ls')
    .description('list the blobs in the content store')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: { format: 'table' | 'json' }) => {
      const store = await openStore(globals);
      const blobs = store ? await store.list() : [];
      process.stdout.write(
        opts.format === 'json' ? `${JSON.stringify(blobs.map(toJson), null, 2)}\n` : table(blobs),
      );
    });
  cmd
    .command('get')
    .description("write a blob's bytes to stdout")
    .argument('<digest>', 'the blob, e.g. sha256:…')
    .action(async (digest: string) => {
      const { algorithm } = parseDigest(digest, 'blob digest');
      const store = await openStore(globals);
      if (!store) throw new NotFoundError(`blob ${digest}: no content store at ${storeDir(globals)}`);
      const hash = createHash(algorithm);
      const out = new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          // Respect stdout's back-pressure (a pipe into `head` or a slow terminal).
          if (process.stdout.write(chunk)) done();
          else process.stdout.once('drain', () => done());
        },
      });
      await pipeline(await store.readStream(digest), out);
      const actual = formatDigest(algorithm as DigestAlgorithm, hash.digest('hex'));
      if (actual !== digest) {
        throw new DataLossError(`blob ${digest}: stored bytes have digest ${actual}`, {
          hint: 'run `berth content verify`, then pull the image again',
        });
      }
    });
  cmd
    .command('verify')
    .description('re-hash every blob and report those whose bytes no longer match their digest')
    .action(async () => {
      const store = await openStore(globals);
      const report = store ? await store.verify() : { checked: 0, corrupt: [] };
      for (const c of report.corrupt) {
        process.stdout.write(`${c.digest}: corrupt: ${c.size} bytes with digest ${c.actual}\n`);
      }
      if (report.corrupt.length > 0) {
        throw new DataLossError(
          `content store ${storeDir(globals)}: ${report.corrupt.length} of ${report.checked} blobs are corrupt`,
          { hint: 'delete the corrupt blobs (and pull the images using them again)' },
        );
      }
      process.stdout.write(`${report.checked} blobs verified\n`);
    });
  return cmd;
}

function storeDir(globals: () => GlobalOptions): string {
  return join(configFrom(globals()).root, 'content');
}

/** The store, or undefined when berth has not created one yet (nothing pulled: an empty listing). */
async function openStore(globals: () => GlobalOptions): Promise<ContentStore | undefined> {
  const dir = storeDir(globals);
  try {
    // Loaded when a content command runs, not at every start of the CLI.
    const { ContentStore } = await import('../../content/index.ts');
    return await ContentStore.open(dir);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function toJson(info: Info): { digest: string; size: number; createdAt: string | undefined } {
  return { digest: info.digest, size: info.size, createdAt: info.createdAt?.toISOString() };
}

function table(blobs: Info[]): string {
  const now = Date.now();
  const rows = [
    ['DIGEST', 'SIZE', 'AGE'],
    ...blobs.map((b) => [
      b.digest,
      humanSize(b.size),
      b.createdAt ? humanAge(now - b.createdAt.getTime()) : '-',
    ]),
  ];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]}\n`).join('');
}

/** 1023 B, 4.0 KiB, 12.3 MiB: binary units, as `ls -h` and `du -h` print them. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 42s, 5m, 3h, 12d: the largest whole unit, like kubectl's AGE column. */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
