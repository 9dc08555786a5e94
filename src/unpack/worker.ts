// The unpack worker thread (design.md "Data flow"). It applies one layer at a time and is then
// reused for the next (worker-pool.ts): `start` opens a LayerJob, whose bytes follow as `chunk`
// messages, then `end` (or `abort`). A worker whose job failed is terminated by the main thread,
// never reused.

import { parentPort } from 'node:worker_threads';
import { LayerJob } from './layer-job.ts';
import { type FromWorker, type ToWorker, toWire } from './wire.ts';

const port = parentPort!;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
let job: LayerJob | undefined;

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'start':
      try {
        job = new LayerJob(msg.input, post);
      } catch (err) {
        job = undefined;
        post({ type: 'error', error: toWire(err) });
      }
      return;
    case 'chunk':
      job?.chunk(msg.data);
      return;
    case 'end':
      job?.end();
      if (job?.finished) job = undefined;
      return;
    case 'abort':
      // Answered even between jobs: the main thread waits for it.
      if (job === undefined || job.finished) post({ type: 'aborted' });
      else job.abort();
      job = undefined;
      return;
  }
});
