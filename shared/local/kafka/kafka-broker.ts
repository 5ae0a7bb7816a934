import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBrokerError, PortInUseError } from '../errors';
import { assertPortFree } from '../ports';
import { describeProcess, listProcesses } from '../processes';
import { resolveBrokerClasspath } from './resolve-broker-classpath';
import { logTail, type ServiceDeath } from '../child-process';
import { log4jFileConfig } from '../log4j-file-config';
import { startUnderWatchdog } from '../service-keeper';
import {
  brokerRecordFile,
  describeBroker,
  liveBrokerUsing,
  stopLeftoverBrokers,
  temporaryDataDir,
  writeBrokerRecord,
  type BrokerRecord,
} from './broker-record';

export interface KafkaBrokerOptions {
  /** Client port on 127.0.0.1; the KRaft controller listens on `port + 1`. */
  readonly port: number;
  /** Where jars are cached and logs are written. */
  readonly stateDir: string;
  /** Keep the broker's data here across restarts; by default each start gets a fresh, temporary log dir. */
  readonly dataDir?: string;
  /** @default 768 */
  readonly heapMb?: number;
  /**
   * Also a TLS listener on 127.0.0.1 (`SSL`, no client certificates), for tests of clients that speak TLS:
   * its port and a PKCS#12 key store with the broker's key and certificate. The plaintext listener stays. @default none
   */
  readonly tlsListener?: { readonly port: number; readonly keyStoreFile: string; readonly keyStorePassword: string };
  /** @default 90_000 (the first start may include the Maven download) */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** A running single-node KRaft broker started by {@link startKafkaBroker}. */
export interface KafkaBroker {
  readonly brokers: readonly string[];
  readonly clusterId: string;
  readonly logFile: string;
  /** The broker's JVM. */
  readonly pid: number;
  /** Resolves when the broker ends without stop() having been called (it crashed, or someone killed it). */
  readonly died: Promise<ServiceDeath>;
  /** Stops the broker (SIGTERM, SIGKILL after 10 s) and removes a temporary data dir; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a real Apache Kafka broker (KRaft, single node) bound to 127.0.0.1 with
 * topic auto-creation off and the settings a single node needs for consumer
 * groups to form in well under a second. Resolves once it answers metadata requests.
 *
 * The JVM ends with this process however this process ends (SIGKILL, SIGHUP, a crash): a small
 * watchdog process (../service-watchdog.js) holding an IPC channel to this one stops it. Its pid, ports
 * and data dir are on record in `<stateDir>/kafka-broker-<port>.json`, so that a broker a killed
 * run left behind anyway (its watchdog killed with it) is recognised and stopped by the next start.
 *
 * @throws PortInUseError when the client or controller port is taken.
 * @throws KafkaBrokerError when Java or Maven is missing, or the broker fails to start (with its log's tail).
 */
export async function startKafkaBroker(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const log = options.log ?? (() => undefined);
  const host = '127.0.0.1';
  const controllerPort = options.port + 1;
  mkdirSync(options.stateDir, { recursive: true });
  // A broker an earlier, killed run of this checkout left behind would hold the ports (and a persistent data dir).
  await stopLeftoverBrokers(options.stateDir, log);
  for (const port of [options.port, controllerPort]) {
    const other = liveBrokerUsing(options.stateDir, { port });
    if (other) throw new PortInUseError('the Kafka broker', host, port, 'LOCAL_KAFKA_PORT', describeBroker(other));
  }
  await assertPortFree('the Kafka broker', host, options.port, 'LOCAL_KAFKA_PORT');
  await assertPortFree('the Kafka KRaft controller', host, controllerPort, 'LOCAL_KAFKA_PORT');
  if (options.tlsListener) await assertPortFree('the TLS listener of the Kafka broker', host, options.tlsListener.port, 'LOCAL_KAFKA_PORT');
  if (options.dataDir !== undefined) {
    const other = liveBrokerUsing(options.stateDir, { dataDir: options.dataDir });
    if (other) {
      throw new KafkaBrokerError(
        `The Kafka data directory ${options.dataDir} is in use by ${describeBroker(other)}: stop that run first, or start without --persist.`,
      );
    }
  }

  const libsDir = await resolveBrokerClasspath(options.stateDir, log);
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? temporaryDataDir(options.stateDir);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(options.stateDir, `kafka-broker-${options.port}.log`);
  const configFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j2.properties');
  writeFileSync(
    configFile,
    serverProperties({ host, port: options.port, controllerPort, logDir: join(dataDir, 'log'), tlsListener: options.tlsListener }),
  );
  writeFileSync(log4jFile, log4jFileConfig(logFile, { 'state.change.logger': 'WARN' }));
  writeFileSync(logFile, '');

  const javaArgs = (mainClass: string, ...args: string[]) => [
    `-Xms128m`,
    `-Xmx${options.heapMb ?? 768}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    join(libsDir, '*'),
    mainClass,
    ...args,
  ];

  const metaProperties = join(dataDir, 'log', 'meta.properties');
  let clusterId: string;
  try {
    if (existsSync(metaProperties)) {
      clusterId = /cluster\.id=(\S+)/.exec(readFileSync(metaProperties, 'utf8'))?.[1] ?? 'unknown';
    } else {
      clusterId = randomClusterId();
      await runToCompletion('java', javaArgs('kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile), logFile);
    }
  } catch (error) {
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const recordFile = brokerRecordFile(options.stateDir, options.port);
  const keeper = await startUnderWatchdog(
    {
      service: 'the Kafka broker',
      command: 'java',
      args: javaArgs('kafka.Kafka', configFile),
      logFile,
      removeOnExit: ephemeral ? [dataDir] : [],
      recordFile,
    },
    KafkaBrokerError,
  );
  const record: BrokerRecord = {
    pid: keeper.pid,
    watchdogPid: keeper.watchdogPid,
    ownerPid: process.pid,
    port: options.port,
    controllerPort,
    dataDir,
    ephemeral,
    logFile,
    startedAt: new Date().toISOString(),
  };
  writeBrokerRecord(options.stateDir, record);
  const cleanUp = () => {
    rmSync(recordFile, { force: true });
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
  };

  const brokers = [`${host}:${options.port}`];
  try {
    await waitUntilAnswering(brokers, keeper.died, options.startTimeoutMs ?? 90_000, logFile);
  } catch (error) {
    await keeper.stop();
    cleanUp();
    throw error;
  }
  log(`Kafka broker ${clusterId} is up on ${brokers.join(',')} (pid ${keeper.pid}, log: ${logFile})`);

  return {
    brokers,
    clusterId,
    logFile,
    pid: keeper.pid,
    died: keeper.died.then((description) => ({ service: 'the Kafka broker', pid: keeper.pid, description, logFile })),
    async stop() {
      await keeper.stop();
      cleanUp();
    },
  };
}

function serverProperties(settings: {
  host: string;
  port: number;
  controllerPort: number;
  logDir: string;
  tlsListener: KafkaBrokerOptions['tlsListener'];
}): string {
  const { host, port, controllerPort, logDir, tlsListener } = settings;
  const tls = tlsListener ? `,SSL://${host}:${tlsListener.port}` : '';
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}${tls}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}${tls}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${tlsListener ? ',SSL:SSL' : ''}`,
    ...(tlsListener
      ? [
          'ssl.keystore.type=PKCS12',
          `ssl.keystore.location=${tlsListener.keyStoreFile}`,
          `ssl.keystore.password=${tlsListener.keyStorePassword}`,
          'ssl.client.auth=none',
        ]
      : []),
    `log.dirs=${logDir}`,
    // Topics come only from the pipeline declaration.
    'auto.create.topics.enable=false',
    // A single node: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'min.insync.replicas=1',
    'default.replication.factor=1',
    // Consumer groups form at once instead of waiting for more members.
    'group.initial.rebalance.delay.ms=0',
    // Compaction runs often enough to be observable locally.
    'log.cleaner.backoff.ms=1000',
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
  ].join('\n')}\n`;
}

/**
 * KRaft cluster ids are 16 random bytes in URL-safe base64 without padding. Like
 * Kafka's own generator, never start with "-", which command lines read as a flag.
 */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function runToCompletion(command: string, args: readonly string[], logFile: string): Promise<void> {
  const logFd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new KafkaBrokerError(
          error.code === 'ENOENT' ? 'Java is not on PATH; the local Kafka broker needs Java 17+' : error.message,
          false,
          { cause: error },
        ),
      ),
    );
    child.once('exit', resolve);
  });
  if (code !== 0) {
    throw new KafkaBrokerError(`Formatting the Kafka storage failed (exit ${code}):\n${logTail(logFile)}`);
  }
}

async function waitUntilAnswering(brokers: string[], died: Promise<string>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let death: string | undefined;
  void died.then((description) => {
    death = description;
  });
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  while (Date.now() < deadline) {
    if (death !== undefined) throw startFailure(death, logFile);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch {
      // Not listening yet.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new KafkaBrokerError(`The Kafka broker did not answer within ${timeoutMs} ms:\n${logTail(logFile)}`, true);
}

/** Why the broker ended while starting: one line for the causes a user can fix, the log's tail otherwise. */
function startFailure(death: string, logFile: string): KafkaBrokerError {
  const tail = logTail(logFile, 200);
  const lock = /Failed to acquire lock on file \.lock in (\S+?)\.? /.exec(tail);
  if (lock) {
    const dir = lock[1]!;
    const holder = listProcesses().find((info) => info.args.includes(' kafka.Kafka ') && info.args.includes(dir.replace(/\/log$/, '')));
    return new KafkaBrokerError(
      `The Kafka broker could not lock its data directory ${dir}: another Kafka process uses it${holder ? ` (${describeProcess(holder)})` : ''}. ` +
        `Stop that process, or start without --persist. (Log: ${logFile})`,
    );
  }
  return new KafkaBrokerError(`The Kafka broker ${death} while starting. Its log (${logFile}) ends:\n${logTail(logFile)}`);
}
