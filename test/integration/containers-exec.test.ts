// `berth exec` end to end on real runc and crun and conmon: with -t the process gets a pty held by
// conmon in exec mode (an exec session: the size of berth's terminal, its log followed, stdin through
// the attach socket, the exit status from conmon's exit file); without -t berth's own fds are passed
// through. Each session's files, socket link and conmon must be gone afterwards; the harness asserts
// that no container process, mount or bundle is left.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { containerPaths } from '../../src/containers/index.ts';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { conmonArgs } from '../../src/shim/conmon-argv.ts';
import { type TestContainers, testContainers } from '../harness/berth-containers.ts';
import { needs } from '../harness/requirements.ts';

const skip =
  process.getuid?.() !== 0 ? 'needs root' : needs('runc', 'crun', 'conmon', 'busybox', 'socat', 'script');
const berthBin = new URL('../../bin/berth', import.meta.url).pathname;

/** A shell command line running berth with the harness's root and state (temp paths: no quoting needed). */
function berthLine(h: TestContainers, args: string): string {
  return `${berthBin} --root ${h.root} --state ${h.state} ${args}`;
}

/** Runs `line` under script(1), which gives it a terminal; returns what the terminal showed. */
function inTerminal(line: string, input = '') {
  const r = spawnSync('script', ['-qec', line, '/dev/null'], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: r.stdout };
}

/** What an exec session left: its directory in the bundle, its socket link, a conmon still running. */
function sessionLeftovers(h: TestContainers, id: string): string[] {
  const paths = containerPaths(h.containers.deps.dirs, id);
  const left = [
    ...readdirSync(paths.bundle).filter((f) => f.startsWith('exec-')),
    ...readdirSync(paths.socketDir).filter((f) => f.startsWith('exec-')),
  ];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(join('/proc', pid, 'cmdline'), 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.includes(`--exec-process-spec=${paths.bundle}/`)) left.push(`conmon ${pid}`);
  }
  return left;
}

test('conmon argv for an exec session: --exec, the process spec, --exec-attach', () => {
  const spec = {
    id: 'c1',
    uuid: 'exec-1',
    runtime: { path: '/usr/sbin/runc', args: [] },
    bundle: '/b/exec-1',
    containerPidFile: '/b/exec-1/pid',
    conmonPidFile: '/b/exec-1/conmon.pid',
    logPath: '/b/exec-1/exec.log',
    exitDir: '/b/exec-1/exit',
    socketDir: '/s',
    terminal: true,
    stdin: true,
  };
  const args = conmonArgs({ ...spec, execProcessSpec: '/b/exec-1/process.json', execAttach: true });
  assert.deepEqual(args.slice(-5), [
    '--terminal',
    '--stdin',
    '--exec',
    '--exec-process-spec=/b/exec-1/process.json',
    '--exec-attach',
  ]);
  assert.ok(args.includes('--cuuid=exec-1') && args.includes('--cid=c1'));
  assert.throws(() => conmonArgs({ ...spec, execAttach: true }), InvalidArgumentError);
});

for (const runtime of ['runc', 'crun'] as const) {
  describe(`exec on ${runtime}`, { skip, concurrency: false }, () => {
    async function running(t: Parameters<typeof testContainers>[0]) {
      const h = await testContainers(t, { runtime });
      const r = h.cli(['run', '-d', '--runtime', runtime, '--name', 'ex', h.image, 'sleep', '1000']);
      assert.equal(r.status, 0, r.stderr);
      const c = await h.containers.get('ex');
      return { h, id: c.id };
    }

    test('exec -t: a pty of the terminal size, the exit status, nothing left behind', async (t) => {
      const { h, id } = await running(t);
      const r = inTerminal(
        `stty rows 30 cols 100; ${berthLine(h, "exec -t ex sh -c 'busybox tty; busybox stty size; echo $TERM; exit 3'")}`,
      );
      assert.equal(r.status, 3, r.output);
      const lines = r.output.split(/\r*\n/);
      assert.match(lines[0] ?? '', /^\/dev\/pts\/\d+$/, r.output);
      assert.equal(lines[1], '30 100', r.output);
      assert.equal(lines[2], 'xterm', r.output);
      assert.deepEqual(sessionLeftovers(h, id), []);
      // Without a terminal on berth's side the process still gets its pty.
      const piped = h.cli(['exec', '-t', 'ex', 'sh', '-c', 'busybox tty; exit 2']);
      assert.equal(piped.status, 2, piped.stderr);
      assert.match(piped.stdout, /^\/dev\/pts\/\d+\r\n$/);
      assert.deepEqual(sessionLeftovers(h, id), []);
    });

    test('exec -it: input through the attach socket', async (t) => {
      const { h, id } = await running(t);
      const r = inTerminal(berthLine(h, 'exec -it ex sh'), 'echo hi; exit 4\n');
      assert.equal(r.status, 4, r.output);
      assert.match(r.output, /^hi\r?\r\n/m);
      assert.deepEqual(sessionLeftovers(h, id), []);
    });

    test('exec -i without -t: stdin passed through', async (t) => {
      const { h } = await running(t);
      const r = h.cli(['exec', '-i', 'ex', 'sh'], { input: 'echo hi; exit 4\n' });
      assert.equal(r.stdout, 'hi\n');
      assert.equal(r.status, 4, r.stderr);
    });

    test('exec -t of a missing command exits 127 with the reason', async (t) => {
      const { h, id } = await running(t);
      const r = h.cli(['exec', '-t', 'ex', 'no-such-command']);
      assert.equal(r.status, 127, r.stderr);
      assert.match(r.stderr, /command "no-such-command" not found/);
      assert.match(r.stderr, /no-such-command.*not found in \$PATH/);
      assert.deepEqual(sessionLeftovers(h, id), []);
      assert.equal((await h.containers.get('ex')).status, 'running', 'the container lives on');
    });
  });
}
