// The body of scripts/demo (see there). Runs on the Node 24 the project brings.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures } from '../test/harness/fixtures.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { skopeoCopy } from '../test/harness/skopeo.ts';

const berth = new URL('../bin/berth', import.meta.url).pathname;
const root = process.env.BERTH_ROOT;
const state = process.env.BERTH_STATE;
const rootArgs = [
  ...(root === undefined ? [] : ['--root', root]),
  ...(state === undefined ? [] : ['--state', state]),
];
const cleanups: (() => unknown)[] = [];
const scope = { after: (fn: () => unknown) => cleanups.push(fn) };

function step(text: string): void {
  const [on, off] = process.stderr.isTTY ? ['\x1b[1m', '\x1b[0m'] : ['', ''];
  process.stderr.write(`\n${on}==> ${text}${off}\n`);
}

function berthRun(...args: string[]): void {
  process.stderr.write(`$ berth ${args.join(' ')}\n`);
  const r = spawnSync(berth, [...rootArgs, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.status}`);
}

try {
  const work = mkdtempSync(join(tmpdir(), 'berth-demo-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  step("building a busybox image with berth's image builder (from Debian's busybox-static)");
  const fixtures = await buildFixtures(work);
  step("starting a registry on 127.0.0.1 (Debian's docker-registry, CNCF distribution)");
  const registry = await startRegistry(scope, { auth: 'none' });
  const image = `${registry.host}/demo/busybox:latest`;
  await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `docker://${image}`);
  process.stderr.write(`serving ${image}\n`);
  step('pulling it with berth');
  berthRun('pull', image);
  step('listing images');
  berthRun('images');
  step('running a container from it (conmon + runc, an overlay snapshot, no daemon)');
  berthRun('run', '--rm', image, 'sh', '-c', 'echo "hello from a berth container: $(hostname), $(id -un)"');
  step('a detached container: ps, exec, logs, stop, rm');
  berthRun('run', '-d', '--name', 'berth-demo', image, 'sh', '-c', 'echo started; exec sleep 60');
  berthRun('ps');
  berthRun('exec', 'berth-demo', 'cat', '/etc/hostname');
  berthRun('logs', 'berth-demo');
  berthRun('stop', '-t', '1', 'berth-demo');
  berthRun('rm', 'berth-demo');
} finally {
  for (const fn of cleanups) await fn();
}
