import { readdirSync, readFileSync } from 'node:fs';

/** Whether a process exists and is not a zombie (Linux `/proc`). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The running dynalite processes (of any parent) started for a port: dynalite-process.js, whose arguments name the port. */
export function dynaliteProcessesOn(port: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args.some((arg) => arg.endsWith('dynalite-process.js')) && args.includes(String(port));
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isRunning);
}
