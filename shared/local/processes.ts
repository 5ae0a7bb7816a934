import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process as `ps` sees it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Its command line, arguments joined by spaces. */
  readonly args: string;
}

/** Every process of this machine (`ps -A`; Linux and macOS); empty when `ps` cannot run. */
export function listProcesses(): ProcessInfo[] {
  let output: string;
  try {
    output = execFileSync('ps', ['-Aww', '-o', 'pid=,ppid=,args='], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return [];
  }
  return output.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), ppid: Number(match[2]), args: match[3]! }] : [];
  });
}

/** Whether a process runs: a zombie (exited, not yet reaped) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) said it exists
  }
}

/** A timer that keeps the process alive: a start waiting on it must not end for lack of other work. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (or after the SIGKILL's grace). */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  signal('SIGTERM');
  for (const deadline = Date.now() + graceMs; Date.now() < deadline; await pause(100)) if (!isAlive(pid)) return;
  signal('SIGKILL');
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await pause(50)) if (!isAlive(pid)) return;
}

/**
 * The process listening on a TCP port of this machine, when it can be found (Linux: through /proc;
 * elsewhere: through `lsof`, when installed); undefined otherwise.
 */
export function portHolder(port: number): ProcessInfo | undefined {
  const pid = listeningPidFromProc(port) ?? listeningPidFromLsof(port);
  if (pid === undefined) return undefined;
  return listProcesses().find((info) => info.pid === pid) ?? { pid, ppid: 0, args: '(unknown command)' };
}

/** "pid 1234 (java -Xmx768m … kafka.Kafka …)": a process, short enough for one line. */
export function describeProcess(info: ProcessInfo, width = 100): string {
  const args = info.args.length > width ? `${info.args.slice(0, width - 1)}…` : info.args;
  return `pid ${info.pid} (${args})`;
}

function listeningPidFromProc(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      } catch {
        // closed meanwhile, or not ours to read
      }
    }
  }
  return undefined;
}

function listeningPidFromLsof(port: number): number | undefined {
  try {
    const output = execFileSync('lsof', ['-nP', '-t', `-iTCP:${port}`, '-sTCP:LISTEN'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(output.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
