import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Stops a service process the local runtime (or a test) started: SIGTERM, then
 * SIGKILL if it has not exited within `graceMs`; resolves once it has exited.
 */
export async function stopChildProcess(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), delay(graceMs).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A timer that does not keep the process alive by itself. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The last lines of a service's log, for an error message that says why it did not start. */
export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text === '' ? '(the log is empty)' : text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** A local service that ended without being asked to: which one, how, and where its log is. */
export interface ServiceDeath {
  /** "the Kafka broker", "the local DynamoDB server (dynalite)" */
  readonly service: string;
  readonly pid: number;
  /** "was killed by SIGKILL", "exited with code 1" */
  readonly description: string;
  readonly logFile: string;
}
