import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountsUnder, parseMountInfo } from '../../src/mount/index.ts';

const sample = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '90 22 0:50 / /tmp/berth-test-x/with\\040space rw - tmpfs tmpfs rw',
  '91 90 0:51 / /tmp/berth-test-x/with\\040space/deeper rw - overlay overlay rw,lowerdir=/a:/b',
  '92 22 0:52 / /tmp/berth-test-xy rw - tmpfs tmpfs rw',
].join('\n');

test('mountinfo lines parse into their fields, octal escapes undone', () => {
  const infos = parseMountInfo(sample);
  assert.equal(infos.length, 5);
  assert.deepEqual(infos[1], {
    id: 41,
    parent: 31,
    mountPoint: '/sys/fs/cgroup/unified',
    options: 'rw,relatime',
    fsType: 'cgroup2',
    source: 'cgroup2',
  });
  assert.equal(infos[2]?.mountPoint, '/tmp/berth-test-x/with space');
});

test('mounts under a directory come deepest first, and a sibling with the same prefix is not under it', () => {
  assert.deepEqual(mountsUnder('/tmp/berth-test-x', parseMountInfo(sample)), [
    '/tmp/berth-test-x/with space/deeper',
    '/tmp/berth-test-x/with space',
  ]);
});
