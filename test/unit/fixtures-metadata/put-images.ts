// A child process of metadata-multiprocess.test.ts: opens the shared database at the same moment as its
// siblings (so they race on creating the schema), then writes images as fast as it can, interleaving
// single-statement puts, updates and multi-row transactions with the other processes.
// Usage: node put-images.ts <root> <worker> <count> <startAtEpochMs>
// Prints one JSON line: { worker, puts, ms }.

import { setTimeout as sleep } from 'node:timers/promises';
import { openMetadata } from '../../../src/metadata/index.ts';

const [root, workerArg, countArg, startArg] = process.argv.slice(2);
if (root === undefined || workerArg === undefined || countArg === undefined || startArg === undefined) {
  throw new Error('usage: put-images.ts <root> <worker> <count> <startAtEpochMs>');
}
const worker = Number(workerArg);
const count = Number(countArg);
await sleep(Math.max(0, Number(startArg) - Date.now()));

const started = performance.now();
using m = openMetadata(root);
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const mediaType = 'application/vnd.oci.image.manifest.v1+json';
let puts = 0;
for (let i = 0; i < count; i++) {
  const name = `registry.example/w${worker}/app:${i}`;
  m.images.put({ name, target: { mediaType, digest: digest(worker * 1_000_000 + i), size: i } });
  // Every worker writes the same shared names too: the rows all processes fight over.
  m.images.put({
    name: `registry.example/shared:${i % 50}`,
    target: { mediaType, digest: digest(i), size: i },
  });
  puts += 2;
  if (i % 2 === 0) m.images.update(name, { labels: { worker: String(worker), i: String(i) } });
  if (i % 10 === 0) {
    // A pull's shape: lease, blob labels and the image in one transaction.
    m.transaction(() => {
      const lease = `w${worker}-pull-${i}`;
      m.leases.create({ id: lease });
      m.leases.addResource(lease, { type: 'content', id: digest(i) });
      m.content.update(digest(i), { [`berth.io/w${worker}`]: String(i) });
      m.images.put({ name: `${name}-tx`, target: { mediaType, digest: digest(i), size: i } });
      m.leases.delete(lease);
    });
    puts++;
  }
}
process.stdout.write(`${JSON.stringify({ worker, puts, ms: performance.now() - started })}\n`);
