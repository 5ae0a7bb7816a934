import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay, logTail, type ServiceDeath } from '../child-process';
import { ConnectWorkerError } from '../errors';
import { DEBEZIUM_POSTGRES_PLUGIN } from '../../cdc/debezium-plugin/debezium-plugin';
import { resolveJars, type JarSet } from '../../maven/resolve-jars';
import { assertPortFree } from '../ports';
import { log4jFileConfig } from '../log4j-file-config';
import { startUnderWatchdog } from '../service-keeper';

/** The worker's jars: connect-runtime at the broker's version. */
const WORKER_JARS: JarSet = {
  name: 'connect-libs',
  description: "the Kafka Connect worker's jars",
  pom: join(__dirname, 'pom.xml'),
  requiredJarPrefix: 'connect-runtime-',
  error: ConnectWorkerError,
};

const PLUGIN_JARS: JarSet = { ...DEBEZIUM_POSTGRES_PLUGIN, error: ConnectWorkerError };

/** A worker group's internal topics: connector configs, source offsets (the LSN a connector has reached) and statuses. */
export function connectInternalTopics(groupId: string): { configs: string; offsets: string; status: string } {
  return { configs: `_${groupId}-configs`, offsets: `_${groupId}-offsets`, status: `_${groupId}-status` };
}

export interface ConnectWorkerOptions {
  /** The REST API's port on 127.0.0.1. */
  readonly port: number;
  readonly brokers: readonly string[];
  /** The worker group, which names its internal topics too: two groups on one broker never meet. @default local-connect */
  readonly groupId?: string;
  /** Where jars are cached and logs are written. */
  readonly stateDir: string;
  /** @default 512 */
  readonly heapMb?: number;
  /** @default 120_000 (the first start may include the Maven download) */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** A connector's state as the worker's REST API reports it. */
export interface ConnectorStatus {
  readonly connector: { readonly state: ConnectorState; readonly trace?: string };
  readonly tasks: ReadonlyArray<{ readonly id: number; readonly state: ConnectorState; readonly trace?: string }>;
}
export type ConnectorState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'RESTARTING';

/** A running Kafka Connect worker started by {@link startConnectWorker}. */
export interface ConnectWorker {
  /** The REST API, e.g. `http://127.0.0.1:18083`. */
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the worker ends without stop() having been called. */
  readonly died: Promise<ServiceDeath>;
  /** Creates the connector, or updates its configuration (idempotent). */
  putConnector(name: string, config: Readonly<Record<string, string>>): Promise<void>;
  /** The connector's status; undefined when the worker knows no such connector. */
  connectorStatus(name: string): Promise<ConnectorStatus | undefined>;
  /** Restarts a connector's failed parts (its instance, its tasks), as an operator does once the cause is dealt with. */
  restartFailed(name: string): Promise<void>;
  /** Stops the worker (SIGTERM: it commits its source offsets; SIGKILL after 20 s). */
  stop(): Promise<void>;
  /**
   * Kills the worker at once: when the broker is gone, a graceful stop would only wait out its timeouts.
   * With exactly-once source support nothing is lost: offsets are committed in the records' transactions.
   */
  kill(): Promise<void>;
}

/**
 * Starts a real Kafka Connect worker (distributed mode, one worker) against the
 * local broker, with Debezium's PostgreSQL connector on its plugin path. Its
 * connector configurations, source offsets and statuses live in Kafka topics,
 * and exactly-once source support is on: a worker killed and restarted resumes
 * from the offsets it committed with the records, so no change is lost and, for
 * a read-committed consumer, none is repeated. It runs under a watchdog that
 * stops it however this process ends.
 *
 * @throws PortInUseError when the REST port is taken
 * @throws ConnectWorkerError when Java or Maven is missing, or the worker does not start (with its log's tail)
 */
export async function startConnectWorker(options: ConnectWorkerOptions): Promise<ConnectWorker> {
  const log = options.log ?? (() => undefined);
  const host = '127.0.0.1';
  await assertPortFree('the Kafka Connect worker', host, options.port, 'LOCAL_CONNECT_PORT');
  mkdirSync(options.stateDir, { recursive: true });
  const libsDir = await resolveJars(WORKER_JARS, options.stateDir, log);
  const pluginPath = join(options.stateDir, 'connect-plugins');
  // Gathered in the state dir, not on the plugin path: the worker loads every folder there.
  const pluginDir = await resolveJars(PLUGIN_JARS, pluginPath, log, options.stateDir);
  // Only the pinned version may be there.
  for (const entry of readdirSync(pluginPath)) {
    if (join(pluginPath, entry) !== pluginDir) rmSync(join(pluginPath, entry), { recursive: true, force: true });
  }

  const logFile = join(options.stateDir, `connect-${options.port}.log`);
  rmSync(logFile, { force: true });
  const configDir = join(options.stateDir, `connect-${options.port}`);
  mkdirSync(configDir, { recursive: true });
  const workerProperties = join(configDir, 'worker.properties');
  const log4jFile = join(configDir, 'log4j2.properties');
  writeFileSync(
    workerProperties,
    workerConfig({ host, port: options.port, brokers: options.brokers, pluginPath, groupId: options.groupId ?? 'local-connect' }),
  );
  writeFileSync(log4jFile, log4jFileConfig(logFile, { 'org.reflections': 'ERROR' }));

  const keeper = await startUnderWatchdog(
    {
      service: 'the Kafka Connect worker',
      command: 'java',
      args: [
        '-Xms128m',
        `-Xmx${options.heapMb ?? 512}m`,
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jFile}`,
        '-cp',
        join(libsDir, '*'),
        'org.apache.kafka.connect.cli.ConnectDistributed',
        workerProperties,
      ],
      logFile,
      removeOnExit: [configDir],
      graceMs: 20_000,
    },
    ConnectWorkerError,
  );
  const url = `http://${host}:${options.port}`;
  try {
    await waitUntilAnswering(url, keeper.died, options.startTimeoutMs ?? 120_000, logFile);
  } catch (error) {
    await keeper.stop();
    throw error;
  }
  log(`Kafka Connect worker is up on ${url} (pid ${keeper.pid}, log: ${logFile})`);

  return {
    url,
    pid: keeper.pid,
    logFile,
    died: keeper.died.then((description) => ({ service: 'the Kafka Connect worker', pid: keeper.pid, description, logFile })),
    async putConnector(name, config) {
      // A rebalance in progress answers 409: the worker is still joining its group.
      for (let attempt = 0; ; attempt += 1) {
        const response = await fetch(`${url}/connectors/${encodeURIComponent(name)}/config`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(config),
        });
        if (response.ok) return;
        const body = await response.text();
        if (response.status === 409 && attempt < 60) {
          await delay(500);
          continue;
        }
        throw new ConnectWorkerError(`The Kafka Connect worker refused connector "${name}" (HTTP ${response.status}): ${body}`);
      }
    },
    async connectorStatus(name) {
      const response = await fetch(`${url}/connectors/${encodeURIComponent(name)}/status`);
      if (response.status === 404) return undefined;
      if (!response.ok) throw new ConnectWorkerError(`Connector "${name}" status: HTTP ${response.status} ${await response.text()}`, true);
      return (await response.json()) as ConnectorStatus;
    },
    async restartFailed(name) {
      const response = await fetch(`${url}/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`, {
        method: 'POST',
      });
      if (!response.ok)
        throw new ConnectWorkerError(`Restarting connector "${name}": HTTP ${response.status} ${await response.text()}`, true);
    },
    stop: () => keeper.stop(),
    kill: () => keeper.kill(),
  };
}

function workerConfig(settings: { host: string; port: number; brokers: readonly string[]; pluginPath: string; groupId: string }): string {
  const topics = connectInternalTopics(settings.groupId);
  return `${[
    `bootstrap.servers=${settings.brokers.join(',')}`,
    `group.id=${settings.groupId}`,
    'key.converter=org.apache.kafka.connect.json.JsonConverter',
    'value.converter=org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable=false',
    'value.converter.schemas.enable=false',
    `config.storage.topic=${topics.configs}`,
    `offset.storage.topic=${topics.offsets}`,
    `status.storage.topic=${topics.status}`,
    'config.storage.replication.factor=1',
    'offset.storage.replication.factor=1',
    'status.storage.replication.factor=1',
    // Source offsets are committed in the transaction that writes the records: a killed worker repeats nothing.
    'exactly.once.source.support=enabled',
    'offset.flush.interval.ms=1000',
    `listeners=http://${settings.host}:${settings.port}`,
    `rest.advertised.host.name=${settings.host}`,
    `plugin.path=${settings.pluginPath}`,
    // Connect and Debezium ship ServiceLoader manifests: found through them, not a reflective scan of every jar (5 s a start).
    'plugin.discovery=service_load',
  ].join('\n')}\n`;
}

async function waitUntilAnswering(url: string, died: Promise<string>, timeoutMs: number, logFile: string): Promise<void> {
  let death: string | undefined;
  void died.then((description) => {
    death = description;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (death !== undefined) throw new ConnectWorkerError(`The Kafka Connect worker ${death} while starting:\n${logTail(logFile)}`);
    try {
      const response = await fetch(`${url}/connector-plugins`);
      if (response.ok) {
        const plugins = (await response.json()) as Array<{ class: string }>;
        if (plugins.some((plugin) => plugin.class === 'io.debezium.connector.postgresql.PostgresConnector')) return;
        throw new ConnectWorkerError(`The Kafka Connect worker runs without Debezium's PostgreSQL connector:\n${logTail(logFile)}`);
      }
    } catch (error) {
      if (error instanceof ConnectWorkerError) throw error;
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new ConnectWorkerError(`The Kafka Connect worker did not answer within ${timeoutMs} ms:\n${logTail(logFile)}`);
    }
    await delay(250);
  }
}
