/**
 * Small measuring tools for the benchmarks, made for a shared, noisy machine:
 * CPU time per unit of work (which other load changes far less than
 * wall-clock rates do) and medians with their range over repeated rounds.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The median of repeated measurements with their range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many measurements. */
  readonly count: number;
}

/** Median, minimum and maximum of `values` (NaN for none). */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, count: sorted.length };
}

/**
 * `median (min–max)`, e.g. `3.4 (3.1–3.9)`; a lone measurement prints alone.
 *
 * @example
 * formatSpread(spreadOf([3.1, 3.9, 3.4]), 1, '×') // '3.4× (3.1–3.9×)'
 */
export function formatSpread(spread: Spread, digits = 1, unit = ''): string {
  const format = (value: number) => `${value.toFixed(digits)}${unit}`;
  return spread.count > 1 ? `${format(spread.median)} (${spread.min.toFixed(digits)}–${format(spread.max)})` : format(spread.median);
}

/** CPU time (user + system, every thread) this process has used, in ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100; // Linux's USER_HZ nearly everywhere
    }
  }
  return clockTicksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name (which may itself hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system) another process has used, in ms, from /proc; its
 * reaped children only with `includeReapedChildren` (a JVM's, say). Undefined
 * when the process is gone or there is no /proc (not Linux). Resolution: one
 * clock tick (10 ms).
 */
export function otherProcessCpuMs(pid: number, options: { readonly includeReapedChildren?: boolean } = {}): number | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14), i.e. fields 14–17 of proc(5).
  const ticks = fields.slice(11, options.includeReapedChildren ? 15 : 13).reduce((sum, field) => sum + Number(field), 0);
  return (ticks * 1_000) / ticksPerSecond();
}

/** Every live descendant of a process (by default this one), e.g. the local Kafka broker's JVM. Empty without /proc. */
export function descendantProcessIds(ancestor: number = process.pid): number[] {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = statFields(Number(entry))?.[1];
    if (ppid !== undefined) parents.set(Number(entry), Number(ppid));
  }
  const found: number[] = [];
  const frontier = [ancestor];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/** CPU used by this process and by some others, in ms. */
export interface CpuSample {
  readonly selfMs: number;
  readonly othersMs: number;
}

/** A reading of CPU used so far, to subtract from a later one with {@link cpuSince}. */
export interface CpuReading {
  readonly selfMs: number;
  /** Per other process that was alive at the reading. */
  readonly othersMs: ReadonlyMap<number, number>;
}

/** CPU used so far by this process and by `others` (e.g. {@link descendantProcessIds}). */
export function readCpu(others: readonly number[] = []): CpuReading {
  const othersMs = new Map<number, number>();
  for (const pid of others) {
    const ms = otherProcessCpuMs(pid);
    if (ms !== undefined) othersMs.set(pid, ms);
  }
  return { selfMs: processCpuMs(), othersMs };
}

/** CPU used between two readings, by this process and by the other processes both readings saw. */
export function cpuBetween(start: CpuReading, end: CpuReading): CpuSample {
  let othersMs = 0;
  for (const [pid, before] of start.othersMs) {
    const after = end.othersMs.get(pid);
    if (after !== undefined) othersMs += after - before;
  }
  return { selfMs: end.selfMs - start.selfMs, othersMs };
}

/** CPU used since `start`, by this process and by the other processes read then (those that ended in between drop out). */
export function cpuSince(start: CpuReading): CpuSample {
  return cpuBetween(start, readCpu([...start.othersMs.keys()]));
}

/** Runs `work` and returns its result with the wall time and CPU it took (this process, and `others`). */
export async function measureCpu<T>(
  work: () => Promise<T>,
  others: readonly number[] = [],
): Promise<{ result: T; seconds: number; cpu: CpuSample }> {
  const start = readCpu(others);
  const started = process.hrtime.bigint();
  const result = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { result, seconds, cpu: cpuSince(start) };
}
