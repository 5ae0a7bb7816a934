import { Client } from 'pg';
import { debeziumConnectorConfig } from '../cdc/connector-config';
import type { Pipeline } from '../pipeline';
import type { ServiceDeath } from './child-process';
import { cdcSourceStatuses, type CdcSourceStatus } from './cdc-status';
import { startConnectWorker, type ConnectWorker } from './connect/connect-worker';
import { LocalConfigError } from './errors';
import { startPostgresServer, type PostgresServer } from './postgres/postgres-server';

export interface ChangeDataCaptureOptions {
  /** On 127.0.0.1. @default 15432 */
  readonly postgresPort: number;
  /** The Connect worker's REST API on 127.0.0.1. @default 18083 */
  readonly connectPort: number;
  readonly brokers: readonly string[];
  /** The Connect worker group, which names its internal topics. @default local-connect */
  readonly connectGroupId?: string;
  readonly stateDir: string;
  /** Keep the databases here across restarts; by default each start gets a fresh cluster. */
  readonly postgresDataDir?: string;
  /**
   * Runs once per source database, when it is created, after the source's `localSchemaSql`: the
   * monolith's rows (tests use it for tables too).
   */
  readonly seed?: (database: Client, source: string) => Promise<void>;
  readonly log?: (line: string) => void;
}

/** The change-data-capture services of a pipeline, running. */
export interface RunningChangeDataCapture {
  readonly postgres: PostgresServer;
  readonly worker: ConnectWorker;
  /** A client of a source's database, for whoever plays the monolith (the demo traffic, a test). */
  connectToSource(source: string): Promise<Client>;
  /** Each source's connector state and replication-slot lag. Never throws. */
  statuses(): Promise<CdcSourceStatus[]>;
  /** Resolves when PostgreSQL or the worker ends without stop() having been called. */
  readonly died: Promise<ServiceDeath>;
  /**
   * Stops the worker (committing its offsets), then PostgreSQL. `killWorker`: kill the worker instead, for
   * when the broker is gone (a graceful stop would wait out its timeouts; nothing committed is lost).
   */
  stop(options?: { readonly killWorker?: boolean }): Promise<void>;
}

/**
 * Starts what a pipeline's change-data-capture sources need locally: one
 * PostgreSQL server (a database per source, seeded), one Kafka Connect worker,
 * and one Debezium connector per source, capturing the tables its mappings
 * read into their change topics. The pipeline's topics must exist first: the
 * connector writes the change topics, it does not create them.
 */
export async function startChangeDataCapture(pipeline: Pipeline, options: ChangeDataCaptureOptions): Promise<RunningChangeDataCapture> {
  const log = options.log ?? (() => undefined);
  const postgres = await startPostgresServer({
    port: options.postgresPort,
    stateDir: options.stateDir,
    ...(options.postgresDataDir === undefined ? {} : { dataDir: options.postgresDataDir }),
    log,
  });
  const connectToSource = async (source: string): Promise<Client> => {
    const database = pipeline.cdcSources.find((candidate) => candidate.source.name === source)?.source.database ?? source;
    const client = new Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, database });
    await client.connect();
    return client;
  };
  let worker: ConnectWorker | undefined;
  try {
    for (const { source } of pipeline.cdcSources) {
      const admin = new Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, database: 'postgres' });
      await admin.connect();
      try {
        const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [source.database]);
        if (exists.rowCount === 0) {
          await admin.query(`CREATE DATABASE "${source.database.replace(/"/g, '""')}"`);
          const client = await connectToSource(source.name);
          try {
            if (source.localSchemaSql) await client.query(source.localSchemaSql);
            await options.seed?.(client, source.name);
          } finally {
            await client.end();
          }
        }
      } finally {
        await admin.end();
      }
    }
    await assertTablesExist(pipeline, connectToSource);
    worker = await startConnectWorker({
      port: options.connectPort,
      brokers: options.brokers,
      stateDir: options.stateDir,
      ...(options.connectGroupId === undefined ? {} : { groupId: options.connectGroupId }),
      log,
    });
    for (const { source, mappings } of pipeline.cdcSources) {
      const tables = mappings.map(({ mapping }) => mapping.table);
      await worker.putConnector(
        source.name,
        debeziumConnectorConfig(
          source,
          mappings.map(({ mapping }) => mapping),
          // The local server trusts 127.0.0.1; Debezium wants a password all the same.
          { hostname: postgres.host, port: postgres.port, user: postgres.superuser, password: 'local' },
          { exactlyOnce: true, replicationFactor: 1 },
        ),
      );
      log(`Capturing ${tables.join(', ')} of database "${source.database}" (connector "${source.name}")`);
    }
  } catch (error) {
    await worker?.stop();
    await postgres.stop();
    throw error;
  }
  const running = worker;
  return {
    postgres,
    worker: running,
    connectToSource,
    statuses: () =>
      cdcSourceStatuses(
        pipeline.cdcSources.map(({ source }) => source.name),
        { connectUrl: running.url, postgres: { host: postgres.host, port: postgres.port, user: postgres.superuser } },
      ),
    died: Promise.race([postgres.died, running.died]),
    async stop(stopOptions = {}) {
      await (stopOptions.killWorker ? running.kill() : running.stop());
      await postgres.stop();
    },
  };
}

/** The connector's publication names the captured tables: each must exist before it starts, or it fails later, less clearly. */
async function assertTablesExist(pipeline: Pipeline, connectToSource: (source: string) => Promise<Client>): Promise<void> {
  for (const { source, mappings } of pipeline.cdcSources) {
    const client = await connectToSource(source.name);
    try {
      for (const { mapping } of mappings) {
        const found = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [mapping.table]);
        if (found.rows[0]?.found == null) {
          throw new LocalConfigError(
            `CDC mapping "${mapping.name}" captures ${mapping.table}, which database "${source.database}" does not have: ` +
              `give source "${source.name}" a localSchemaSql that creates it (see shared/cdc/README.md)`,
          );
        }
      }
    } finally {
      await client.end();
    }
  }
}
