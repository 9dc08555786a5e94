// `berth run` and friends end to end, on real runc and crun, real conmon and overlayfs, through the
// CLI a person uses (exit codes, stdout/stderr) and through the service (state). Each test's harness
// (test/harness/berth-containers.ts) asserts afterwards that no process, cgroup, mount or bundle is
// left behind.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseCapabilityMask } from '../../src/containers/index.ts';
import { waitGone } from '../../src/shim/index.ts';
import { appUser, testContainers } from '../harness/berth-containers.ts';
import { needs } from '../harness/requirements.ts';

const skip = process.getuid?.() !== 0 ? 'needs root' : needs('runc', 'crun', 'conmon', 'busybox');

function capEff(text: string): string[] {
  const hex = /CapEff:\s*([0-9a-f]+)/.exec(text)?.[1];
  assert.ok(hex !== undefined, `no CapEff in ${text}`);
  return parseCapabilityMask(hex);
}

for (const runtime of ['runc', 'crun'] as const) {
  describe(`containers on ${runtime}`, { skip, concurrency: false }, () => {
    test('run --rm prints the output, exits 0 and leaves nothing', async (t) => {
      const h = await testContainers(t, { runtime });
      const r = h.cli(['run', '--rm', h.image, 'echo', 'hello']);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'hello\n');
      assert.equal(r.status, 0);
      assert.deepEqual(h.containers.records.list(), []);
    });

    test("the container's exit code is berth's; stdout and stderr stay apart, in the CRI log too", async (t) => {
      const h = await testContainers(t, { runtime });
      const r = h.cli(['run', '--name', 'codes', h.image, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
      assert.equal(r.status, 3);
      const c = await h.containers.get('codes');
      assert.equal(c.status, 'stopped');
      assert.equal(c.exitCode, 3);
      const lines = readFileSync(c.logPath, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
      const streams = lines.map((l) => l.split(' ').slice(1).join(' ')).sort();
      assert.deepEqual(streams, ['stderr F err', 'stdout F out']);
      for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) /);
    });

    test('run -d, logs, kill → 137; stop of a stopped container succeeds; rm removes it', async (t) => {
      const h = await testContainers(t, { runtime });
      const d = h.cli(['run', '-d', '--name', 'bg', h.image, 'sh', '-c', 'echo ready; exec sleep 100']);
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout, /^[0-9a-f]{64}\n$/);
      const ps = h.cli(['ps']);
      assert.match(ps.stdout, /bg\n/);
      assert.match(ps.stdout, /Up /);
      const running = await h.containers.get('bg');
      assert.equal(running.status, 'running');
      // conmon, not berth, is the container's parent: the CLI that started it has exited.
      assert.ok(running.conmonPid !== undefined && running.pid !== undefined);
      assert.equal(h.cli(['kill', 'bg']).status, 0);
      const w = h.cli(['wait', 'bg']);
      assert.equal(w.stdout, '137\n');
      assert.equal(h.cli(['logs', 'bg']).stdout, 'ready\n');
      assert.equal(h.cli(['stop', 'bg']).status, 0, 'stopping a stopped container succeeds');
      const start = h.cli(['kill', 'bg']);
      assert.equal(start.status, 1);
      assert.match(start.stderr, /not running/);
      assert.equal(h.cli(['rm', 'bg']).status, 0);
      assert.equal(h.cli(['ps', '-a', '-q']).stdout, '');
    });

    test('stop sends SIGTERM, then SIGKILL after the grace period; logs -f ends with the container', async (t) => {
      const h = await testContainers(t, { runtime });
      const script = 'trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done';
      assert.equal(h.cli(['run', '-d', '--name', 'polite', h.image, 'sh', '-c', script]).status, 0);
      assert.equal(h.cli(['run', '-d', '--name', 'stubborn', h.image, 'sleep', '100']).status, 0);
      await waitForLog(h.containers, 'polite', 'ready');
      assert.equal(h.cli(['stop', 'polite']).status, 0);
      assert.equal((await h.containers.get('polite')).exitCode, 0, 'the trap ran');
      assert.equal(h.cli(['logs', '-f', 'polite']).stdout, 'ready\ngot-term\n');
      const started = Date.now();
      assert.equal(h.cli(['stop', '-t', '1', 'stubborn']).status, 0);
      const took = Date.now() - started;
      assert.ok(took >= 900, `stop -t 1 returned after ${took} ms: before the grace period`);
      assert.equal((await h.containers.get('stubborn')).exitCode, 137);
    });

    test('exec runs in the running container with its exit status; a missing command is 127', async (t) => {
      const h = await testContainers(t, { runtime });
      assert.equal(
        h.cli(['run', '-d', '--name', 'ex', '--hostname', 'exhost', h.image, 'sleep', '100']).status,
        0,
      );
      const e = h.cli(['exec', 'ex', 'sh', '-c', 'hostname; echo $FOO; exit 5']);
      assert.equal(e.stdout, 'exhost\nfrom-image\n');
      assert.equal(e.status, 5);
      assert.equal(h.cli(['exec', '-u', 'app', 'ex', 'id', '-u']).stdout, '1000\n');
      const missing = h.cli(['exec', 'ex', 'no-such-command']);
      assert.equal(missing.status, 127);
      assert.match(missing.stderr, /not found/);
      assert.equal(h.cli(['rm', '-f', 'ex']).status, 0);
    });

    test('users, groups, env and working dir come from the image and the request', async (t) => {
      const h = await testContainers(t, { runtime });
      const env = h.cli([
        'run',
        '--rm',
        '-e',
        'FOO=cli',
        '-e',
        'NEW=1',
        h.image,
        'sh',
        '-c',
        'env | sort; pwd',
      ]);
      assert.equal(env.status, 0, env.stderr);
      assert.match(env.stdout, /^FOO=cli$/m);
      assert.match(env.stdout, /^KEEP=image$/m);
      assert.match(env.stdout, /^NEW=1$/m);
      assert.match(env.stdout, /^\/work\/dir$/m, 'the missing WorkingDir was created');
      const app = h.cli(['run', '--rm', '-u', 'app', h.image, 'id']);
      assert.equal(
        app.stdout,
        `uid=${appUser.uid}(app) gid=${appUser.gid}(app) groups=50(staff),1000(app)\n`,
      );
      const numeric = h.cli([
        'run',
        '--rm',
        '-u',
        '1000:50',
        '-w',
        '/tmp',
        h.image,
        'sh',
        '-c',
        'id -u; id -g; pwd',
      ]);
      assert.equal(numeric.stdout, '1000\n50\n/tmp\n');
      const bad = h.cli(['run', '--rm', '-u', 'nosuchuser', h.image, 'true']);
      assert.equal(bad.status, 125);
      assert.match(bad.stderr, /nosuchuser/);
      assert.deepEqual(h.containers.records.list(), [], 'a failed run leaves no container');
    });

    test('read-only rootfs, dropped capability, masked paths, default seccomp', async (t) => {
      const h = await testContainers(t, { runtime });
      const ro = h.cli(['run', '--rm', '--read-only', h.image, 'touch', '/x']);
      assert.notEqual(ro.status, 0);
      assert.match(ro.stderr, /Read-only file system/);
      assert.equal(h.cli(['run', '--rm', h.image, 'touch', '/x']).status, 0);
      const dflt = capEff(h.cli(['run', '--rm', h.image, 'grep', 'CapEff', '/proc/self/status']).stdout);
      assert.ok(dflt.includes('CAP_CHOWN'));
      const dropped = capEff(
        h.cli(['run', '--rm', '--cap-drop', 'chown', h.image, 'grep', 'CapEff', '/proc/self/status']).stdout,
      );
      assert.ok(!dropped.includes('CAP_CHOWN'));
      assert.deepEqual(
        dropped,
        dflt.filter((c) => c !== 'CAP_CHOWN'),
      );
      const masked = h.cli([
        'run',
        '--rm',
        h.image,
        'sh',
        '-c',
        'wc -c < /proc/timer_list; wc -c < /proc/keys',
      ]);
      assert.equal(masked.stdout, '0\n0\n', 'masked paths read as /dev/null');
      // unshare(2) of a user namespace needs no capability, so only the seccomp profile refuses it;
      // --privileged runs without a filter and may.
      const blocked = h.cli(['run', '--rm', h.image, 'busybox', 'unshare', '-U', 'true']);
      assert.notEqual(blocked.status, 0);
      assert.match(blocked.stderr, /Operation not permitted/);
      assert.equal(
        h.cli(['run', '--rm', '--privileged', h.image, 'busybox', 'unshare', '-U', 'true']).status,
        0,
      );
    });

    test('a memory limit ends in an OOM kill (137, OOMKilled); a pids limit stops forks', async (t) => {
      const h = await testContainers(t, { runtime });
      const hog = 'a=xxxxxxxxxxxxxxxx; while true; do a="$a$a"; done';
      const oom = h.cli(['run', '--name', 'hog', '--memory', '16m', h.image, 'sh', '-c', hog]);
      assert.equal(oom.status, 137, JSON.stringify(oom));
      const c = await h.containers.get('hog');
      assert.equal(c.oomKilled, true);
      const json = JSON.parse(h.cli(['ps', '-a', '--format', 'json']).stdout) as { OOMKilled: boolean }[];
      assert.equal(json[0]?.OOMKilled, true);
      // Each sleep outlives the loop even on a loaded machine, so all eight are alive at once.
      const forks = 'for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait';
      const pids = h.cli(['run', '--rm', '--pids-limit', '5', h.image, 'sh', '-c', forks]);
      assert.match(pids.stderr, /can't fork/, JSON.stringify(pids));
      const roomy = h.cli(['run', '--rm', '--pids-limit', '20', h.image, 'sh', '-c', forks]);
      assert.equal(roomy.stderr, '', JSON.stringify(roomy));
    });

    test('--cpus sets the CFS quota; SIGINT to a foreground berth reaches the container', async (t) => {
      const h = await testContainers(t, { runtime });
      const quota = h.cli([
        'run',
        '--rm',
        '--cpus',
        '0.5',
        h.image,
        'sh',
        '-c',
        'cat /sys/fs/cgroup/cpu*/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null',
      ]);
      assert.match(quota.stdout, /^(50000|50000 100000)$/m);
      const { spawn } = await import('node:child_process');
      const bin = new URL('../../bin/berth', import.meta.url).pathname;
      const script = 'trap "echo got-int; exit 7" INT; echo ready; while true; do sleep 0.1; done';
      const child = spawn(bin, [
        '--root',
        h.root,
        '--state',
        h.state,
        'run',
        '--rm',
        h.image,
        'sh',
        '-c',
        script,
      ]);
      let out = '';
      let sent = false;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready') && !sent) {
          sent = true; // once: a second SIGINT could reach the trap again
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(out, 'ready\ngot-int\n');
      assert.equal(code, 7);
    });

    test('--net host, --env-file, --entrypoint, logs --tail/--timestamps, kill -s, inspect', async (t) => {
      const h = await testContainers(t, { runtime });
      const { hostname } = await import('node:os');
      const { readlinkSync, writeFileSync } = await import('node:fs');
      const host = h.cli([
        'run',
        '--rm',
        '--net',
        'host',
        h.image,
        'sh',
        '-c',
        'hostname; readlink /proc/self/ns/net',
      ]);
      assert.equal(host.stdout, `${hostname()}\n${readlinkSync('/proc/self/ns/net')}\n`);
      const none = h.cli(['run', '--rm', h.image, 'readlink', '/proc/self/ns/net']);
      assert.notEqual(none.stdout, `${readlinkSync('/proc/self/ns/net')}\n`);
      const envFile = `${h.state}/env`;
      writeFileSync(envFile, '# comment\nFROM_FILE=1\nFOO=file\n');
      const env = h.cli(['run', '--rm', '--env-file', envFile, '-e', 'FOO=flag', h.image, 'env']);
      assert.match(env.stdout, /^FROM_FILE=1$/m);
      assert.match(env.stdout, /^FOO=flag$/m, '-e wins over --env-file');
      const ep = h.cli(['run', '--rm', '--entrypoint', 'echo', h.image, 'a', 'b']);
      assert.equal(ep.stdout, 'a b\n');
      const script =
        'trap "echo usr1; exit 0" USR1; for i in 1 2 3 4 5; do echo line$i; done; while true; do sleep 0.1; done';
      assert.equal(h.cli(['run', '-d', '--name', 'lg', h.image, 'sh', '-c', script]).status, 0);
      await waitForLog(h.containers, 'lg', 'line5');
      assert.equal(h.cli(['logs', '--tail', '2', 'lg']).stdout, 'line4\nline5\n');
      assert.match(
        h.cli(['logs', '-t', '--tail', '1', 'lg']).stdout,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line5\n$/,
      );
      assert.equal(h.cli(['kill', '-s', 'USR1', 'lg']).status, 0);
      assert.equal(h.cli(['wait', 'lg']).stdout, '0\n');
      const [info] = JSON.parse(h.cli(['inspect', 'lg']).stdout) as {
        Name: string;
        State: string;
        ExitCode: number;
        Spec: { process: { args: string[] } };
      }[];
      assert.equal(info?.Name, 'lg');
      assert.equal(info?.State, 'stopped');
      assert.equal(info?.ExitCode, 0);
      assert.deepEqual(info?.Spec.process.args, ['sh', '-c', script]);
      const missing = h.cli(['inspect', 'nothing-by-this-name']);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /no container or image/);
    });

    test('volumes: a host bind (rw and ro) and the image volume as an anonymous one', async (t) => {
      const h = await testContainers(t, { runtime });
      const dir = `${h.state}/vol`;
      await import('node:fs/promises').then((fs) => fs.mkdir(dir));
      const rw = h.cli([
        'run',
        '--rm',
        '-v',
        `${dir}:/mnt`,
        h.image,
        'sh',
        '-c',
        'echo hi > /mnt/f; echo x > /data/y',
      ]);
      assert.equal(rw.status, 0, rw.stderr);
      assert.equal(readFileSync(`${dir}/f`, 'utf8'), 'hi\n');
      const ro = h.cli(['run', '--rm', '-v', `${dir}:/mnt:ro`, h.image, 'touch', '/mnt/g']);
      assert.notEqual(ro.status, 0);
      const bad = h.cli(['run', '--rm', '-v', `${dir}:/a/../../etc`, h.image, 'true']);
      assert.equal(bad.status, 125);
      assert.match(bad.stderr, /\.\./);
    });

    test('failures: missing image, bad command (127), runtime refusing the bundle; nothing left', async (t) => {
      const h = await testContainers(t, { runtime });
      const missing = h.cli(['run', '--rm', '--pull', 'never', 'no-such-image:1', 'true']);
      assert.equal(missing.status, 125);
      assert.match(missing.stderr, /no-such-image/);
      const cmd = h.cli(['run', '--rm', h.image, 'no-such-command']);
      assert.equal(cmd.status, 127);
      assert.match(cmd.stderr, /not found/);
      // A directory bound over a file: the runtime fails at create, inside conmon.
      const create = h.cli(['run', '--rm', '-v', '/tmp:/etc/passwd', h.image, 'true']);
      assert.equal(create.status, 125);
      assert.match(create.stderr, /passwd/);
      assert.deepEqual(h.containers.records.list(), []);
    });

    test('conmon killed: the container is shown as unknown and rm -f takes everything down', async (t) => {
      const h = await testContainers(t, { runtime });
      assert.equal(h.cli(['run', '-d', '--name', 'orphan', h.image, 'sleep', '100']).status, 0);
      const c = await h.containers.get('orphan');
      process.kill(c.conmonPid!, 'SIGKILL');
      await waitFor(async () => (await h.containers.get('orphan')).status === 'unknown');
      assert.match(h.cli(['ps', '-a']).stdout, /Unknown/);
      const rm = h.cli(['rm', '-f', 'orphan']);
      assert.equal(rm.status, 0, rm.stderr);
      assert.ok(await waitGone(c.pid!, 5000), 'the container process is gone');
    });

    test("-i feeds stdin and its end closes the container's; -t gives a terminal of the caller's size", async (t) => {
      const h = await testContainers(t, { runtime });
      const cat = h.cli(['run', '--rm', '-i', h.image, 'cat'], { input: 'hello\nworld\n' });
      assert.equal(cat.stdout, 'hello\nworld\n');
      assert.equal(cat.status, 0);
      const sh = h.cli(['run', '--rm', '-i', h.image, 'sh'], { input: 'echo from-stdin\nexit 4\n' });
      assert.equal(sh.stdout, 'from-stdin\n');
      assert.equal(sh.status, 4);
      // script(1) gives berth a terminal of 30×100; the container's pty must get that size.
      const bin = new URL('../../bin/berth', import.meta.url).pathname;
      const berth = `${bin} --root ${h.root} --state ${h.state}`;
      const inner = `stty rows 30 cols 100; ${berth} run --rm -t ${h.image} sh -c 'sleep 0.3; busybox stty size; busybox tty; exit 2'; echo rc=$?`;
      const r = spawnSync('script', ['-qec', inner, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
      const out = r.stdout.replace(/\r/g, '');
      assert.match(out, /^30 100$/m);
      assert.match(out, /^\/dev\/pts\/\d+$/m);
      assert.match(out, /^rc=2$/m);
    });

    test('start on a running container fails; a stopped one starts again', async (t) => {
      const h = await testContainers(t, { runtime });
      const created = h.cli(['create', '--name', 'again', h.image, 'sh', '-c', 'echo run']);
      assert.equal(created.status, 0, created.stderr);
      assert.match(h.cli(['ps', '-a']).stdout, /Created/);
      assert.equal(h.cli(['start', '-a', 'again']).stdout, 'run\n');
      assert.equal(h.cli(['start', '-a', 'again']).stdout, 'run\nrun\n', 'the log keeps both runs');
      assert.equal((await h.containers.get('again')).startCount, 2);
      assert.equal(h.cli(['run', '-d', '--name', 'up', h.image, 'sleep', '100']).status, 0);
      const twice = h.cli(['start', 'up']);
      assert.equal(twice.status, 1);
      assert.match(twice.stderr, /already running/);
    });
  });
}

describe('containers, concurrency', { skip }, () => {
  test('two berth processes creating containers at once lose nothing', async (t) => {
    const h = await testContainers(t);
    const { spawn } = await import('node:child_process');
    const bin = new URL('../../bin/berth', import.meta.url).pathname;
    const runOne = (name: string) =>
      new Promise<number | null>((resolve) => {
        const p = spawn(bin, [
          '--root',
          h.root,
          '--state',
          h.state,
          'create',
          '--name',
          name,
          h.image,
          'true',
        ]);
        p.on('exit', (code) => resolve(code));
      });
    const codes = await Promise.all(['a1', 'a2', 'a3', 'b1', 'b2', 'b3'].map(runOne));
    assert.deepEqual(codes, [0, 0, 0, 0, 0, 0]);
    const dup = await Promise.all([runOne('same'), runOne('same')]);
    assert.deepEqual(dup.sort(), [0, 125], 'one name, one container');
    assert.equal(h.containers.records.list().length, 7);
  });
});

describe('containers and images', { skip }, () => {
  test('rmi refuses an image a container uses; image prune -a keeps it', async (t) => {
    const h = await testContainers(t);
    assert.equal(h.cli(['create', '--name', 'user', h.image, 'true']).status, 0);
    const rmi = h.cli(['rmi', h.image]);
    assert.equal(rmi.status, 125);
    assert.match(rmi.stderr, /in use by container user/);
    assert.equal(h.cli(['image', 'prune', '-a', '-f']).status, 0);
    assert.match(h.cli(['images', '-q']).stdout, /import/);
    assert.equal(h.cli(['rm', 'user']).status, 0);
    assert.equal(h.cli(['rmi', h.image]).status, 0);
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForLog(
  containers: { get(k: string): Promise<{ logPath: string }> },
  name: string,
  text: string,
): Promise<void> {
  const { logPath } = await containers.get(name);
  await waitFor(async () => {
    try {
      return readFileSync(logPath, 'utf8').includes(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  });
}
