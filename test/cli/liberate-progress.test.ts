import { formatBytes, formatDuration, LiberationProgress } from '../../shared/cli/liberate/liberation-progress';

/** A progress reporter on a clock the test moves, writing into `out`. */
function progressOn(interactive: boolean) {
  let now = 0;
  const out: string[] = [];
  const progress = new LiberationProgress({ totalBytes: 10_000, interactive, write: (text) => out.push(text), now: () => now });
  return { progress, out, advance: (ms: number) => (now += ms) };
}

describe('Class: LiberationProgress', () => {
  it('shows percent read and the time left on a terminal, at most once a second', () => {
    const { progress, out, advance } = progressOn(true);

    advance(500);
    progress.update({ bytesRead: 1_000, rows: 10, produced: 10, rejected: 0 });
    advance(500);
    progress.update({ bytesRead: 2_500, rows: 25, produced: 24, rejected: 1 });
    advance(400);
    progress.update({ bytesRead: 3_000, rows: 30, produced: 29, rejected: 1 });
    advance(600);
    progress.update({ bytesRead: 5_000, rows: 50, produced: 49, rejected: 1 });

    expect(out).toEqual([
      '\r\x1b[K25.0% of 10.0 KB, 25 row(s): 24 produced, 1 rejected, about 3.0 s left',
      '\r\x1b[K50.0% of 10.0 KB, 50 row(s): 49 produced, 1 rejected, about 2.0 s left',
    ]);
  });

  it('completes the live line at the end', () => {
    const { progress, out, advance } = progressOn(true);
    advance(1_000);
    progress.update({ bytesRead: 5_000, rows: 50, produced: 50, rejected: 0 });
    advance(1_000);

    progress.finish({ bytesRead: 10_000, rows: 100, produced: 99, rejected: 1 });

    expect(out.at(-1)).toBe('\r\x1b[K100% 100 row(s) read (10.0 KB) in 2.0 s: 99 produced, 1 rejected\n');
  });

  it('writes nothing but one summary line when stderr is not a terminal', () => {
    const { progress, out, advance } = progressOn(false);

    for (let step = 1; step <= 5; step += 1) {
      advance(1_000);
      progress.update({ bytesRead: step * 2_000, rows: step, produced: step, rejected: 0 });
    }
    progress.finish({ bytesRead: 10_000, rows: 5, produced: 5, rejected: 0 });

    expect(out).toEqual(['liberate: 5 row(s) read (10.0 KB) in 5.0 s: 5 produced, 0 rejected\n']);
  });
});

describe('Function: formatBytes and formatDuration', () => {
  it('reads as people write sizes and durations', () => {
    expect([formatBytes(950), formatBytes(12_345_678), formatBytes(1_200_000_000)]).toEqual(['950 B', '12.3 MB', '1.2 GB']);
    expect([formatDuration(400), formatDuration(42_000), formatDuration(185_000), formatDuration(7_620_000)]).toEqual([
      '0.4 s',
      '42 s',
      '3 min 05 s',
      '2 h 07 min',
    ]);
  });
});
