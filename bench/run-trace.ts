// `bench/run.ts --trace`: one `berth run --rm IMAGE true` under `strace -f`, printed as a timeline of
// the programs it starts and when each ends (node, conmon, runc create/start/delete, …), so the
// parts of berth's time can be read off. ptrace slows every fork and exec, so the total is longer
// than an untraced run; the order and the gaps are what this is for.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { sh } from './peers.ts';

interface Event {
  t: number;
  pid: number;
  what: string;
}

/** Parses `strace -f -ttt -e trace=execve` output: successful execs and process exits. */
export function parseStrace(text: string): Event[] {
  const events: Event[] = [];
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const head = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (head === null) continue;
    const pid = Number(head[1]);
    const t = Number(head[2]) * 1000;
    const rest = head[3] as string;
    const exec = /^execve\("([^"]*)", \[(.*?)\](?:, .*)?$/.exec(rest);
    if (exec !== null) {
      // A path-search miss ends in `= -1 ENOENT`: not a program start.
      if (/= -1 /.test(rest)) continue;
      const argv = [...(exec[2] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
      names.set(pid, basename(argv[0] ?? (exec[1] as string)));
      events.push({ t, pid, what: `exec ${argv.map(shorten).join(' ').slice(0, 160)}` });
      continue;
    }
    const exit = /^\+\+\+ (exited with \d+|killed by \w+)/.exec(rest);
    if (exit !== null) events.push({ t, pid, what: `${exit[1]} (${names.get(pid) ?? 'forked child'})` });
  }
  return events;
}

/** Long absolute paths (the benchmark's temp dirs) as `…/<last part>`, so sub-commands stay visible. */
function shorten(arg: string): string {
  return arg.replace(/\/[^\s,=:]{24,}/g, (path) => `…/${basename(path)}`);
}

/** Runs `argv` under strace; returns the timeline as text. */
export function traceTimeline(argv: string[], out: string, env: NodeJS.ProcessEnv): string {
  sh('strace', ['-f', '-ttt', '-q', '-s', '200', '-e', 'trace=execve', '-o', out, ...argv], env);
  const events = parseStrace(readFileSync(out, 'utf8'));
  const t0 = events[0]?.t ?? 0;
  const rows = events
    // Forked children that never exec'd (Go runtime threads, node's helpers) only add noise.
    .filter((e) => !e.what.endsWith('(forked child)'))
    .map((e) => `${(e.t - t0).toFixed(1).padStart(7)} ms  ${String(e.pid).padStart(7)}  ${e.what}`);
  return rows.join('\n');
}
