/** How far a liberation is. */
export interface ProgressState {
  /** Bytes of the file read so far (of this run, including what a resumed run skips over). */
  readonly bytesRead: number;
  readonly rows: number;
  readonly produced: number;
  readonly rejected: number;
}

export interface ProgressOptions {
  /** The file's size in bytes. */
  readonly totalBytes: number;
  /** Whether stderr is a terminal: only then is there a live line, else one summary line at the end. */
  readonly interactive: boolean;
  readonly write: (text: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 1000: at most one update a second */
  readonly intervalMs?: number;
}

/**
 * Liberation progress on stderr: on a terminal, one line rewritten at most
 * once a second with the percent of the file read and an estimate of the time
 * left (from the rate so far); elsewhere (a log, a pipe) nothing until one
 * summary line at the end, so logs are not filled with progress.
 */
export class LiberationProgress {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly startedMs: number;
  private lastShownMs: number | undefined;
  private shown = false;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 1_000;
    this.startedMs = this.now();
  }

  /** Called as often as wanted: shows the state when a terminal is watching and the interval has passed. */
  update(state: ProgressState): void {
    if (!this.options.interactive) return;
    const now = this.now();
    if (this.lastShownMs !== undefined && now - this.lastShownMs < this.intervalMs) return;
    if (this.lastShownMs === undefined && now - this.startedMs < this.intervalMs) return; // a short run shows no progress at all
    this.lastShownMs = now;
    this.shown = true;
    this.options.write(`\r\x1b[K${this.line(state, now)}`);
  }

  /** The last word: the live line completed, or one summary line where there was none. */
  finish(state: ProgressState): void {
    const elapsed = formatDuration(this.now() - this.startedMs);
    const counts = `${state.rows.toLocaleString('en')} row(s) read (${formatBytes(state.bytesRead)}) in ${elapsed}: ${state.produced.toLocaleString('en')} produced, ${state.rejected.toLocaleString('en')} rejected`;
    this.options.write(this.shown ? `\r\x1b[K100% ${counts}\n` : `liberate: ${counts}\n`);
  }

  private line(state: ProgressState, now: number): string {
    const { totalBytes } = this.options;
    const fraction = totalBytes === 0 ? 1 : Math.min(1, state.bytesRead / totalBytes);
    const elapsedMs = now - this.startedMs;
    const left =
      fraction > 0 && elapsedMs > 0 ? `about ${formatDuration((elapsedMs / fraction) * (1 - fraction))} left` : 'estimating the time left';
    return (
      `${(fraction * 100).toFixed(1)}% of ${formatBytes(totalBytes)}, ${state.rows.toLocaleString('en')} row(s): ` +
      `${state.produced.toLocaleString('en')} produced, ${state.rejected.toLocaleString('en')} rejected, ${left}`
    );
  }
}

/** `950 B`, `12.3 MB`, `1.2 GB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `0.4 s`, `42 s`, `3 min 05 s`, `2 h 07 min`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}
