// The output of `berth image prune` / `berth system prune` (src/cli/commands/prune.ts): docker's
// layout and its size format, so that people and scripts reading docker's output read berth's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dockerSize, report } from '../../src/cli/commands/prune.ts';
import type { GcResult } from '../../src/images/gc.ts';

const empty: GcResult = {
  imagesRemoved: [],
  blobsRemoved: [],
  snapshotsRemoved: [],
  ingestsRemoved: [],
  leftoversRemoved: [],
  leasesExpired: [],
  bytesFreed: 0,
};

test('sizes print as docker units.HumanSize does', () => {
  assert.equal(dockerSize(0), '0B');
  assert.equal(dockerSize(999), '999B');
  assert.equal(dockerSize(1000), '1kB');
  assert.equal(dockerSize(1_052_756), '1.053MB');
  assert.equal(dockerSize(7_800_000_000), '7.8GB');
});

test('nothing to remove prints only the total, as docker does', () => {
  assert.equal(report(empty, false), 'Total reclaimed space: 0B\n');
});

test('removed images, blobs and snapshots are listed by section; a dry run says would', () => {
  const result: GcResult = {
    ...empty,
    imagesRemoved: ['docker.io/library/busybox:latest'],
    blobsRemoved: [{ digest: 'sha256:aa', size: 10 }],
    snapshotsRemoved: ['sha256:cc'],
    ingestsRemoved: ['layer-sha256:dd'],
    bytesFreed: 2_500_000,
  };
  assert.equal(
    report(result, false),
    [
      'Deleted Images:',
      'untagged: docker.io/library/busybox:latest',
      '',
      'Deleted Blobs:',
      'deleted: sha256:aa',
      '',
      'Deleted Snapshots:',
      'sha256:cc',
      '',
      'Deleted 1 partial downloads and temporary files',
      '',
      'Total reclaimed space: 2.5MB',
      '',
    ].join('\n'),
  );
  assert.match(report(result, true), /^Would delete Images:\n[\s\S]*\nTotal reclaimable space: 2.5MB\n$/);
});
