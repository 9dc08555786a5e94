// conmon 2.1.6 as berth's shim, with real runc/crun and busybox: the CRI log file, conmon outliving
// the process that started it, conmon's death noticed, OOM kills told apart through cgroups, pids limit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { cgroupDriver, exitReason } from '../../src/cgroups/index.ts';
import { InternalError, isErrno, NotFoundError } from '../../src/errdefs/index.ts';
import { isAlive, launchConmon, readExitCode, type ShimProcess, watchExit } from '../../src/shim/index.ts';
import { busyboxBundle, ContainerTracker, uniqueId } from '../harness/containers.ts';
import { needs, which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('runc', 'crun', 'conmon', 'busybox');

interface Started {
  id: string;
  dir: string;
  shim: ShimProcess;
  exitDir: string;
  logPath: string;
  cgroupsPath: string;
  rt: ReturnType<ContainerTracker['runtime']>;
  track: ContainerTracker;
}

async function startShim(
  t: TestContext,
  runtime: string,
  args: string[],
  limits: { memoryBytes?: number; pidsLimit?: number } = {},
): Promise<Started> {
  const track = new ContainerTracker(t);
  const dir = tempDir(t, `conmon-${runtime}`);
  track.root = dir;
  const rt = track.runtime(runtime, join(dir, 'state'));
  const id = uniqueId(`conmon-${runtime}`);
  const cgroupsPath = track.container(rt, id);
  const bundle = busyboxBundle(join(dir, 'bundle'), { args, cgroupsPath, ...limits });
  const exitDir = join(dir, 'exits');
  const logPath = join(dir, 'ctr.log');
  const shim = await launchConmon(
    {
      id,
      runtime: rt.invocation(),
      bundle,
      containerPidFile: join(dir, 'ctr.pid'),
      conmonPidFile: join(dir, 'conmon.pid'),
      logPath,
      exitDir,
      socketDir: join(dir, 'sock'),
    },
    { conmonPath: which('conmon')!, forceDelete: (cid) => rt.delete(cid, { force: true }) },
  );
  track.pid(shim.conmonPid);
  track.pid(shim.containerPid);
  await rt.start(id);
  return { id, dir, shim, exitDir, logPath, cgroupsPath, rt, track };
}

/** `<RFC3339Nano> <stdout|stderr> <P|F> <text>` (CRI log format, kubelet pkg/kubelet/kuberuntime/logs). */
const criLine = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) (.*)$/;

test('conmon writes the CRI log: streams separated, long lines split P…F', { skip }, async (t) => {
  const script = 'echo out1; echo err1 >&2; head -c 20000 /dev/zero | tr "\\0" x; echo; echo out2';
  const s = await startShim(t, 'runc', ['sh', '-c', script]);
  assert.deepEqual(await watchExit(s.exitDir, s.id, { conmonPid: s.shim.conmonPid }), {
    kind: 'exited',
    exitCode: 0,
  });
  const lines = readFileSync(s.logPath, 'utf8').trimEnd().split('\n');
  const parsed = lines.map((l) => {
    const m = criLine.exec(l);
    assert.ok(m, `not a CRI log line: ${l.slice(0, 80)}`);
    assert.ok(!Number.isNaN(Date.parse(m[1]!)));
    return { stream: m[2]!, tag: m[3]!, text: m[4]! };
  });
  const stdout = parsed.filter((p) => p.stream === 'stdout');
  assert.deepEqual(
    parsed.filter((p) => p.stream === 'stderr'),
    [{ stream: 'stderr', tag: 'F', text: 'err1' }],
  );
  assert.deepEqual(stdout[0], { stream: 'stdout', tag: 'F', text: 'out1' });
  assert.deepEqual(stdout.at(-1), { stream: 'stdout', tag: 'F', text: 'out2' });
  const long = stdout.slice(1, -1);
  assert.ok(
    long.length >= 2 && long.slice(0, -1).every((p) => p.tag === 'P'),
    'the long line is split in P parts',
  );
  assert.equal(long.at(-1)!.tag, 'F');
  assert.equal(long.map((p) => p.text).join(''), 'x'.repeat(20000));
  await s.rt.delete(s.id);
  await s.track.assertGone(s.id, [s.shim.containerPid, s.shim.conmonPid]);
});

test('conmon outlives the process that launched it; the exit code is read afterwards', {
  skip,
}, async (t) => {
  const track = new ContainerTracker(t);
  const dir = tempDir(t, 'conmon-orphan');
  track.root = dir;
  const rt = track.runtime('runc', join(dir, 'state'));
  const id = uniqueId('orphan');
  const cgroupsPath = track.container(rt, id);
  busyboxBundle(join(dir, 'bundle'), { args: ['sleep', '60'], cgroupsPath });
  // A separate node process launches conmon and the container, prints the pids and exits.
  const launcher = `
    import { launchConmon } from ${JSON.stringify(new URL('../../src/shim/index.ts', import.meta.url).href)};
    import { OciRuntimeDriver, resolveRuntime } from ${JSON.stringify(new URL('../../src/runtime/index.ts', import.meta.url).href)};
    const dir = ${JSON.stringify(dir)};
    const rt = new OciRuntimeDriver(resolveRuntime('runc', { stateDir: dir + '/state' }));
    const shim = await launchConmon({ id: ${JSON.stringify(id)}, runtime: rt.invocation(), bundle: dir + '/bundle',
      containerPidFile: dir + '/ctr.pid', conmonPidFile: dir + '/conmon.pid', logPath: dir + '/ctr.log',
      exitDir: dir + '/exits', socketDir: dir + '/sock' },
      { conmonPath: ${JSON.stringify(which('conmon'))}, forceDelete: (c) => rt.delete(c, { force: true }) });
    await rt.start(shim.id);
    console.log(JSON.stringify(shim));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', launcher], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const shim = JSON.parse(r.stdout) as ShimProcess;
  track.pid(shim.conmonPid);
  track.pid(shim.containerPid);
  assert.ok(isAlive(shim.conmonPid), 'conmon runs on after its launcher exited');
  assert.equal((await rt.state(id)).status, 'running');
  assert.equal(await readExitCode(join(dir, 'exits'), id), undefined);
  await rt.kill(id, 'KILL');
  assert.deepEqual(await watchExit(join(dir, 'exits'), id, { conmonPid: shim.conmonPid }), {
    kind: 'exited',
    exitCode: 137,
  });
  assert.equal(await exitReason(cgroupDriver(), cgroupsPath, 137), 'Error', 'a plain SIGKILL is no OOM kill');
  await rt.delete(id);
  await track.assertGone(id, [shim.containerPid, shim.conmonPid]);
});

test('conmon killed: the watcher reports the shim lost', { skip }, async (t) => {
  const s = await startShim(t, 'runc', ['sleep', '60']);
  process.kill(s.shim.conmonPid, 'SIGKILL');
  assert.deepEqual(await watchExit(s.exitDir, s.id, { conmonPid: s.shim.conmonPid, pollMs: 20 }), {
    kind: 'shim-lost',
    conmonPid: s.shim.conmonPid,
  });
  assert.ok(isAlive(s.shim.containerPid), 'the container outlives its conmon');
  await s.rt.delete(s.id, { force: true });
  await s.track.assertGone(s.id, [s.shim.containerPid, s.shim.conmonPid]);
});

for (const runtime of ['runc', 'crun']) {
  test(`${runtime}: memory limit → OOM kill seen as exit 137 + OOMKilled`, { skip }, async (t) => {
    const s = await startShim(t, runtime, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], {
      memoryBytes: 16 << 20,
    });
    const result = await watchExit(s.exitDir, s.id, { conmonPid: s.shim.conmonPid });
    assert.deepEqual(result, { kind: 'exited', exitCode: 137 });
    assert.equal(await exitReason(cgroupDriver(), s.cgroupsPath, 137), 'OOMKilled');
    await s.rt.delete(s.id);
    await s.track.assertGone(s.id, [s.shim.containerPid, s.shim.conmonPid]);
  });
}

test('pids limit: forks beyond it fail, and the stats show the limit', { skip }, async (t) => {
  // busybox sh gives up (status 2) at the first fork the pids controller refuses.
  const s = await startShim(t, 'runc', ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait'], {
    pidsLimit: 4,
  });
  assert.deepEqual(await watchExit(s.exitDir, s.id, { conmonPid: s.shim.conmonPid }), {
    kind: 'exited',
    exitCode: 2,
  });
  // conmon records what each read returned: the line may arrive as a P record and its F rest.
  const stderrText = readFileSync(s.logPath, 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[1] === 'stderr')
    .map((l) => l.split(' ').slice(3).join(' ') + (l.split(' ')[2] === 'F' ? '\n' : ''))
    .join('');
  assert.match(stderrText, /^sh: can't fork/m);
  const cg = cgroupDriver();
  const pids = await cg.pids(s.cgroupsPath); // the cgroup stays until the runtime's delete
  assert.equal(pids.limit, 4);
  assert.ok(pids.current <= 4, `pids.current ${pids.current}`);
  assert.ok((await cg.cpu(s.cgroupsPath)).usageNanos > 0);
  assert.ok((await cg.memory(s.cgroupsPath)).maxUsageBytes! > 0);
  assert.equal(await exitReason(cg, s.cgroupsPath, 2), 'Error');
  await s.rt.delete(s.id);
  await s.track.assertGone(s.id, [s.shim.containerPid, s.shim.conmonPid]);
});

/** Pids of processes whose command line mentions `word` (a scan of /proc). */
function processesMentioning(word: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(word);
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return false; // exited meanwhile
        throw err;
      }
    })
    .map(Number)
    .filter((pid) => isAlive(pid));
}

for (const runtime of ['runc', 'crun']) {
  test(`${runtime} under conmon: a failing create is reported with its message and undone`, {
    skip,
  }, async (t) => {
    const track = new ContainerTracker(t);
    const dir = tempDir(t, `conmon-fail-${runtime}`);
    track.root = dir;
    const rt = track.runtime(runtime, join(dir, 'state'));
    const id = uniqueId(`fail-${runtime}`);
    const bundle = busyboxBundle(join(dir, 'bundle'), {
      args: ['/nope/x'],
      cgroupsPath: track.container(rt, id),
    });
    const files = { containerPidFile: join(dir, 'ctr.pid'), conmonPidFile: join(dir, 'conmon.pid') };
    await assert.rejects(
      launchConmon(
        {
          id,
          runtime: rt.invocation(),
          bundle,
          ...files,
          logPath: join(dir, 'log'),
          exitDir: join(dir, 'exits'),
          socketDir: join(dir, 'sock'),
        },
        {
          conmonPath: which('conmon')!,
          forceDelete: (cid) => rt.delete(cid, { force: true }).catch(ignoreNotFound),
        },
      ),
      (err: Error) => err instanceof InternalError && err.message.includes('/nope/x'),
    );
    await assert.rejects(rt.state(id), NotFoundError);
    assert.ok(!existsSync(files.containerPidFile) && !existsSync(files.conmonPidFile), 'pid files removed');
    assert.deepEqual(processesMentioning(id), [], 'no conmon or runtime process left');
    await track.assertGone(id, []);
  });
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}
