import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { delay, logTail } from './child-process';
import { LocalRuntimeError } from './errors';

/** The services' keeper: plain JavaScript, so it starts in a fraction of a second. */
const SERVICE_WATCHDOG_ENTRY = join(__dirname, 'service-watchdog.js');

export interface WatchedServiceSettings {
  /** For messages: "the Kafka broker", "PostgreSQL". */
  readonly service: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The service's stdout and stderr, and the watchdog's own lines, are appended here. */
  readonly logFile: string;
  /** Directories the watchdog removes once the service has gone (a temporary data dir). */
  readonly removeOnExit?: readonly string[];
  /** A file the watchdog removes once the service has gone (the service's record). */
  readonly recordFile?: string;
  /** @default SIGTERM */
  readonly stopSignal?: NodeJS.Signals;
  /** @default 10_000 */
  readonly graceMs?: number;
  /** Run the watchdog, and so the service, as this user (PostgreSQL refuses to run as root). */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** A service running under its watchdog. */
export interface WatchedService {
  /** The service's own process. */
  readonly pid: number;
  readonly watchdogPid: number;
  /** Resolves, saying how, when the service (or its watchdog) ends without stop() having been called. */
  readonly died: Promise<string>;
  /** Stops the service (its stop signal, SIGKILL after the grace period) and its watchdog; resolves once both are gone. */
  stop(): Promise<void>;
  /** Kills the service and its watchdog at once (SIGKILL), for when a graceful stop cannot succeed; resolves once both are gone. */
  kill(): Promise<void>;
}

/**
 * Starts a service through service-watchdog.js, which stops it however this process ends. The
 * watchdog leads a process group of its own (holding the service), so a Ctrl-C in the terminal
 * reaches npm start alone, which drains the consumers and only then stops the services; and if
 * the watchdog itself is killed, this process kills the group.
 * @throws LocalRuntimeError (or `error`, the service's own type) when the service does not start
 */
export async function startUnderWatchdog(
  settings: WatchedServiceSettings,
  error: new (message: string) => LocalRuntimeError = LocalRuntimeError,
): Promise<WatchedService> {
  const graceMs = settings.graceMs ?? 10_000;
  const logFd = openSync(settings.logFile, 'a');
  let watchdog: ChildProcess;
  try {
    watchdog = spawn(
      process.execPath,
      [
        SERVICE_WATCHDOG_ENTRY,
        ...['--grace-ms', String(graceMs), '--stop-signal', settings.stopSignal ?? 'SIGTERM'],
        ...(settings.recordFile ? ['--record', settings.recordFile] : []),
        ...(settings.removeOnExit ?? []).flatMap((dir) => ['--remove', dir]),
        '--',
        settings.command,
        ...settings.args,
      ],
      { stdio: ['ignore', logFd, logFd, 'ipc'], detached: true, ...(settings.user ?? {}) },
    );
  } finally {
    closeSync(logFd);
  }
  let stopping = false;
  let servicePid: number | undefined;
  let reportDeath: (description: string) => void = () => undefined;
  const died = new Promise<string>((resolve) => (reportDeath = resolve));
  const watchdogExited = new Promise<void>((resolve) => {
    watchdog.once('exit', (code, signal) => {
      resolve();
      if (stopping) return;
      // The service is in the watchdog's group: whatever is left of it goes too.
      killGroup(watchdog.pid, servicePid);
      // A message saying how the service ended may still be on its way; it wins (the promise settles once).
      setTimeout(
        () =>
          reportDeath(
            `stopped with its watchdog (pid ${watchdog.pid}), which ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`,
          ),
        200,
      );
    });
    watchdog.once('error', () => resolve());
  });
  const started = new Promise<number | undefined>((resolve) => {
    watchdog.on('message', (message: { type?: string; pid?: number; code?: number | null; signal?: string | null }) => {
      if (message.type === 'started') resolve(message.pid);
      if (message.type === 'exited' && !stopping) {
        reportDeath(message.signal ? `was killed by ${message.signal}` : `exited with code ${message.code}`);
      }
    });
    void watchdogExited.then(() => resolve(undefined));
  });
  servicePid = await started;
  if (servicePid === undefined || watchdog.pid === undefined) {
    throw new error(`${capitalized(settings.service)} did not start:\n${logTail(settings.logFile)}`);
  }
  return {
    pid: servicePid,
    watchdogPid: watchdog.pid,
    died,
    async stop() {
      stopping = true;
      if (watchdog.exitCode !== null || watchdog.signalCode !== null) return;
      watchdog.kill('SIGTERM');
      const stopped = await Promise.race([watchdogExited.then(() => true), delay(graceMs + 5_000).then(() => false)]);
      if (!stopped) {
        killGroup(watchdog.pid, servicePid);
        await watchdogExited;
      }
    },
    async kill() {
      stopping = true;
      if (watchdog.exitCode !== null || watchdog.signalCode !== null) return;
      killGroup(watchdog.pid, servicePid);
      await watchdogExited;
    },
  };
}

function killGroup(groupLeader: number | undefined, member: number | undefined): void {
  for (const pid of [groupLeader === undefined ? undefined : -groupLeader, member]) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
