// Phase timings for one berth process, printed to stderr at exit when BERTH_TRACE=1: how the
// docs/performance.md breakdown of `berth run` is measured (Node start, module loading, DB, mount,
// conmon, runtime). Times are from the process's start (performance.timeOrigin), so the first mark
// shows what Node and module loading cost before berth's code ran.

const enabled = process.env.BERTH_TRACE === '1';
const marks: [string, number][] = [];

export function mark(label: string): void {
  if (!enabled) return;
  if (marks.length === 0) {
    process.once('exit', () => {
      marks.push(['exit', performance.now()]);
      let prev = 0;
      for (const [l, t] of marks) {
        process.stderr.write(
          `trace ${t.toFixed(1).padStart(7)} ms  +${(t - prev).toFixed(1).padStart(6)}  ${l}\n`,
        );
        prev = t;
      }
    });
  }
  marks.push([label, performance.now()]);
}
