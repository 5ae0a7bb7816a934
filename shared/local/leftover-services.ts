import { rmSync } from 'node:fs';
import { basename, resolve, sep } from 'node:path';
import { describeProcess, isAlive, listProcesses, terminate, type ProcessInfo } from './processes';

/**
 * Whether a service process is kept by a live watchdog (service-watchdog.js,
 * its parent). A watchdog outlives its owner only for as long as it takes to
 * stop the service, so a service without one was left behind by a run that
 * was killed together with its watchdog. Pids are not trusted on their own:
 * after a wrap, a recorded owner's pid may belong to someone else.
 */
export function keptByLiveWatchdog(service: ProcessInfo, processes: readonly ProcessInfo[]): boolean {
  const parent = processes.find((info) => info.pid === service.ppid);
  return service.ppid > 1 && parent !== undefined && parent.args.includes('service-watchdog.js') && isAlive(parent.pid);
}

/**
 * The change-data-capture services this checkout starts, told apart by their command lines. The worker
 * goes first: PostgreSQL's SIGTERM waits for its clients, the worker's replication connection among them.
 */
const CDC_SERVICES = [
  {
    name: 'Kafka Connect worker',
    matches: (info: ProcessInfo) => /^\S*\bjava\s/.test(info.args) && info.args.includes('ConnectDistributed'),
  },
  // The postmaster only (its backends are its own children).
  { name: 'PostgreSQL server', matches: (info: ProcessInfo) => /^\S*\/postgres\s+-D\s/.test(info.args) },
] as const;

/**
 * Stops the PostgreSQL servers and Connect workers of this checkout (their
 * command lines name a path under the state dir, or under the persist dir a
 * `--persist` run keeps its databases in) that no live watchdog keeps, and
 * removes a temporary PostgreSQL data dir they leave. Says what it stopped.
 */
export async function stopLeftoverCdcServices(
  stateDir: string,
  persistDir: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  const prefix = resolve(stateDir) + sep;
  const prefixes = [prefix, ...(persistDir === undefined ? [] : [resolve(persistDir) + sep])];
  const processes = listProcesses();
  for (const service of CDC_SERVICES) {
    const ours = (info: ProcessInfo) => prefixes.some((candidate) => info.args.includes(candidate));
    for (const leftover of processes.filter((info) => service.matches(info) && ours(info) && isAlive(info.pid))) {
      if (keptByLiveWatchdog(leftover, processes)) continue;
      log(`Stopping a ${service.name} an earlier run of this checkout left running (${describeProcess(leftover)})…`);
      await terminate(leftover.pid, 15_000);
      const dataDir = /\s-D\s+(\S+)/.exec(leftover.args)?.[1];
      if (dataDir?.startsWith(prefix) && basename(dataDir).startsWith('postgres-data-')) rmSync(dataDir, { recursive: true, force: true });
      log('Stopped it.');
    }
  }
}
