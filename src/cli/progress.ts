import cliProgress from 'cli-progress';
import type { PullPhase, PullProgress } from '../images/types.ts';
import { formatBytes, shortId } from './format.ts';

// Pull progress for a person: one bar per layer plus a total (bytes, speed, ETA) on a terminal, and
// one plain line per phase change otherwise (logs and CI stay readable and short).

export interface ProgressView {
  update(event: PullProgress): void;
  stop(): void;
}

const phaseText: Record<PullPhase, string> = {
  resolving: 'Resolving',
  waiting: 'Waiting',
  downloading: 'Downloading',
  extracting: 'Extracting',
  done: 'Pull complete',
  exists: 'Already exists',
  uploading: 'Pushing',
  pushed: 'Pushed',
};

/** Plain lines: printed when a phase changes, never for byte counts. */
export function plainProgress(out: NodeJS.WritableStream): ProgressView {
  const last = new Map<string, PullPhase>();
  return {
    update(e) {
      if (e.kind !== 'layer' || last.get(e.id) === e.phase) return;
      last.set(e.id, e.phase);
      const size = e.phase === 'downloading' && e.total > 0 ? ` ${formatBytes(e.total)}` : '';
      out.write(`${shortId(e.id)}: ${phaseText[e.phase]}${size}\n`);
    },
    stop() {
      // plain lines need no final redraw
    },
  };
}

interface BarPayload {
  id: string;
  phase: string;
  size: string;
  speed: string;
}

/** Bars on a terminal: one per layer, and a total line. */
export function barProgress(out: NodeJS.WriteStream): ProgressView {
  const multi = new cliProgress.MultiBar(
    {
      stream: out,
      format: '{id} {bar} {size} {speed} {phase}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  const totals = new Map<string, { current: number; total: number }>();
  const totalBar = multi.create(0, 0, {
    id: 'total       ',
    phase: '',
    size: '',
    speed: '',
  } satisfies BarPayload);
  const began = Date.now();

  return {
    update(e) {
      if (e.kind !== 'layer') return;
      let entry = bars.get(e.id);
      if (entry === undefined) {
        const bar = multi.create(Math.max(e.total, 1), 0, {
          id: shortId(e.id),
          phase: phaseText[e.phase],
          size: '',
          speed: '',
        } satisfies BarPayload);
        entry = { bar, started: Date.now() };
        bars.set(e.id, entry);
      }
      const secs = (Date.now() - entry.started) / 1000;
      const finished = e.phase === 'done' || e.phase === 'exists' || e.phase === 'pushed';
      const current = finished ? Math.max(e.total, 1) : e.current;
      entry.bar.setTotal(Math.max(e.total, 1));
      entry.bar.update(current, {
        phase: phaseText[e.phase],
        size: e.total > 0 ? `${formatBytes(e.current)}/${formatBytes(e.total)}` : '',
        speed: e.phase === 'downloading' && secs > 0.2 ? `${formatBytes(e.current / secs)}/s` : '',
      } satisfies Partial<BarPayload>);
      totals.set(e.id, { current: finished ? e.total : e.current, total: e.total });
      let sum = 0;
      let all = 0;
      for (const t of totals.values()) {
        sum += t.current;
        all += t.total;
      }
      const elapsed = (Date.now() - began) / 1000;
      const rate = elapsed > 0.2 ? sum / elapsed : 0;
      const eta = rate > 0 && all > sum ? ` ETA ${Math.ceil((all - sum) / rate)}s` : '';
      totalBar.setTotal(Math.max(all, 1));
      totalBar.update(sum, {
        size: `${formatBytes(sum)}/${formatBytes(all)}`,
        speed: rate > 0 ? `${formatBytes(rate)}/s` : '',
        phase: eta,
      } satisfies Partial<BarPayload>);
    },
    stop() {
      multi.stop();
    },
  };
}

/** Bars when `out` is a terminal, plain lines otherwise, nothing when quiet. */
export function progressFor(out: NodeJS.WriteStream, quiet: boolean): ProgressView {
  const nothing = () => undefined;
  if (quiet) return { update: nothing, stop: nothing };
  return out.isTTY ? barProgress(out) : plainProgress(out);
}
