import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, findFreePortPair, LOCAL_STATE_DIR } from '../../shared/local';
import type { BrokerRecord } from '../../shared/local/kafka/broker-record';
import { eventually } from './integration';

const ROOT = join(__dirname, '..', '..');

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

/** The running processes whose command line (arguments joined by spaces) matches. */
function processesMatching(matches: (args: string[]) => boolean): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return matches(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isRunning);
}

/**
 * The running PostgreSQL server (postmaster) on a port: `postgres -D <dir> -p <port>`. A backend the
 * postmaster has just forked shows the same command line until it sets its own title ("postgres:
 * walsender …"), so processes whose parent matched too are its children, not servers.
 */
export function postgresServersOn(port: number): number[] {
  const matching = processesMatching(
    (args) => /\/postgres$/.test(args[0] ?? '') && args[1] === '-D' && args.includes('-p') && args.includes(String(port)),
  );
  return matching.filter((pid) => !matching.includes(parentOf(pid)));
}

/** A process's parent pid, from /proc (0 when it is gone). */
function parentOf(pid: number): number {
  try {
    // The command's name in parentheses may hold spaces: the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** The running Kafka Connect workers whose REST API is on a port (their config lies in `connect-<port>/`). */
export function connectWorkersOn(port: number): number[] {
  return processesMatching(
    (args) =>
      /\bjava$/.test(args[0] ?? '') &&
      args.includes('org.apache.kafka.connect.cli.ConnectDistributed') &&
      args.some((arg) => arg.includes(`/connect-${port}/`)),
  );
}

/** The one running dynalite process started for a port. */
export function theDynaliteProcessOn(port: number): number {
  const pids = dynaliteProcessesOn(port);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

/** Sends `signal` to a process (or, with a negative pid, a process group) that may be gone already. */
export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** What the local broker on `port` wrote about itself: its pid, its watchdog's, its data dir and log. */
export function brokerRecordOn(port: number): BrokerRecord {
  return JSON.parse(readFileSync(join(LOCAL_STATE_DIR, `kafka-broker-${port}.json`), 'utf8')) as BrokerRecord;
}

/** A run of `npm start`, started by {@link startPlatformProcess}. */
export interface PlatformProcess {
  readonly pid: number;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/**
 * `npm start -- <args>` without npm: the same entry, in a process group of its own (as a terminal
 * runs it), with a broker and dynalite of its own on `ports` (never the suite's shared services).
 */
export function startPlatformProcess(
  ports: { kafka: number; dynamodb: number; postgres?: number; connect?: number; console?: number },
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): PlatformProcess {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    LOCAL_KAFKA_PORT: String(ports.kafka),
    LOCAL_DYNAMODB_PORT: String(ports.dynamodb),
    // A pipeline with a CDC source starts PostgreSQL and a Connect worker too.
    ...(ports.postgres ? { LOCAL_POSTGRES_PORT: String(ports.postgres) } : {}),
    ...(ports.connect ? { LOCAL_CONNECT_PORT: String(ports.connect) } : {}),
    // The console on a port of its own: a free one unless the test names one.
    LOCAL_CONSOLE_PORT: String(ports.console ?? 0),
    ...env,
  };
  // The suite's shared services are not these: this run starts its own.
  delete childEnv.KAFKA_BROKERS;
  delete childEnv.DYNAMODB_ENDPOINT;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'shared/cli/start/start.ts', ...args], {
    cwd: ROOT,
    env: childEnv,
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { pid: child.pid!, output: () => output, exited };
}

/** Waits until the platform says it runs, failing with the end of what it printed. */
export async function untilRunning(platform: PlatformProcess): Promise<void> {
  let exited: number | string | undefined;
  void platform.exited.then((code) => {
    exited = code;
  });
  await eventually(
    'the platform runs',
    () => {
      if (exited !== undefined) throw new Error(`the platform exited (${exited}) before it ran`);
      return platform.output().includes('Running. Press Ctrl-C to stop.');
    },
    90_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; it printed:\n${platform.output().slice(-3_000)}`);
  });
}

/** The ports of one `npm start` of a test's own: the broker's pair, dynalite's, and the CDC services'. */
export async function freePlatformPorts(): Promise<{ kafka: number; dynamodb: number; postgres: number; connect: number }> {
  return { kafka: await findFreePortPair(), dynamodb: await findFreePort(), postgres: await findFreePort(), connect: await findFreePort() };
}

/** The platform's exit code, or 'hung' when it has not exited within `withinMs`. */
export function exitCodeWithin(platform: PlatformProcess, withinMs: number): Promise<number | string> {
  return Promise.race([platform.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), withinMs).unref())]);
}
