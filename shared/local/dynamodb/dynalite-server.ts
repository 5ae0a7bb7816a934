import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay, logTail, stopChildProcess, type ServiceDeath } from '../child-process';
import { DynamoDbServerError } from '../errors';
import { LOCAL_STATE_DIR } from '../paths';
import { assertPortFree } from '../ports';

/** The child's entry: plain JavaScript that loads dynalite and nothing else, so it starts in a fraction of a second. */
const DYNALITE_PROCESS_ENTRY = join(__dirname, 'dynalite-process.js');

export interface DynamoDbServerOptions {
  readonly port: number;
  /** Keep tables on disk (LevelDB) here; by default they live in memory and vanish on stop. */
  readonly dataDir?: string;
  /** Where its log (`dynalite-<port>.log`: the process's stdout and stderr) is written. @default the project's `.local` */
  readonly stateDir?: string;
  /** @default 30_000 */
  readonly startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. @default 10_000 */
  readonly stopGraceMs?: number;
}

/** A running dynalite, in a process of its own, started by {@link startDynamoDbServer}. */
export interface DynamoDbServer {
  readonly endpoint: string;
  /** The dynalite process (for measuring its CPU through /proc/<pid>/stat, say). */
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the server ends without stop() having been called (it crashed, or someone killed it). */
  readonly died: Promise<ServiceDeath>;
  /** Closes the server and its store (SIGTERM, then SIGKILL after the grace period); resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts dynalite, the DynamoDB API on LevelDB, on 127.0.0.1, in a Node.js
 * process of its own so that its work does not compete with the handlers' on one
 * event loop. Resolves once it listens. Table creation and deletion are
 * instant, unlike AWS, so provisioning does not wait.
 * Dynalite has no TransactWriteItems and no TTL expiry: code must use single-item conditional writes.
 *
 * The process ends with this one however this one ends, even by SIGKILL: it
 * exits when its IPC channel to this process closes.
 *
 * @example
 * const server = await startDynamoDbServer({ port: 18000 });
 * try { ... new DynamoDBClient({ endpoint: server.endpoint }) ... } finally { await server.stop(); }
 *
 * @throws PortInUseError when the port is taken (before anything starts).
 * @throws DynamoDbServerError when dynalite fails to start (with its log's tail); no process is left behind.
 */
export async function startDynamoDbServer(options: DynamoDbServerOptions): Promise<DynamoDbServer> {
  const host = '127.0.0.1';
  const where = `${host}:${options.port}`;
  await assertPortFree('the local DynamoDB server (dynalite)', host, options.port, 'LOCAL_DYNAMODB_PORT');
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const stateDir = options.stateDir ?? LOCAL_STATE_DIR;
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, `dynalite-${options.port}.log`);
  writeFileSync(logFile, '');

  const args = [
    DYNALITE_PROCESS_ENTRY,
    ...['--host', host, '--port', String(options.port)],
    ...(options.dataDir ? ['--path', options.dataDir] : []),
    ...['--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0'],
  ];
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // No execArgv of this process (-r @swc-node/register, --expose-gc, --inspect): the entry is plain JavaScript.
    // Its own process group, like the broker's: a Ctrl-C in the terminal reaches npm start, which drains the
    // consumers and only then stops this server. The IPC channel is what ties its life to this process.
    child = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd, 'ipc'], detached: true });
  } finally {
    closeSync(logFd);
  }

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // 'exit' never comes when the process could not be spawned at all; 'error' does.
    child.on('error', (error) => {
      if (child.pid === undefined) {
        spawnError = error;
        resolve();
      }
    });
  });
  let reportListening: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (reportListening = resolve));
  const onMessage = (message: unknown) => {
    if (isListeningMessage(message)) reportListening();
  };
  child.on('message', onMessage);

  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const outcome = await Promise.race([
    listening.then(() => 'listening' as const),
    exited.then(() => 'exited' as const),
    delay(timeoutMs).then(() => 'timeout' as const),
  ]);
  child.removeListener('message', onMessage);
  if (outcome !== 'listening' || child.pid === undefined) {
    await stopChildProcess(child, exited, 2_000);
    throw outcome === 'timeout'
      ? startFailure(`did not report listening within ${timeoutMs} ms`, where, logFile, true)
      : startFailure(exitDescription(child, spawnError), where, logFile, false);
  }

  const pid = child.pid;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  let stopping = false;
  const died = new Promise<ServiceDeath>((resolve) => {
    void exited.then(() => {
      if (stopping) return;
      const description = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
      resolve({ service: 'the local DynamoDB server (dynalite)', pid, description, logFile });
    });
  });
  return {
    endpoint: `http://${where}`,
    pid,
    logFile,
    died,
    stop: () => {
      stopping = true;
      return stopChildProcess(child, exited, stopGraceMs);
    },
  };
}

function isListeningMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'listening';
}

function exitDescription(child: ChildProcess, spawnError: Error | undefined): string {
  if (spawnError) return `could not start a Node.js process (${spawnError.message})`;
  const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
  return `${how} before it was listening`;
}

function startFailure(what: string, where: string, logFile: string, retriable: boolean): DynamoDbServerError {
  return new DynamoDbServerError(
    `The local DynamoDB server (dynalite) on ${where} ${what}. Its log (${logFile}) ends:\n${logTail(logFile)}`,
    retriable,
  );
}
