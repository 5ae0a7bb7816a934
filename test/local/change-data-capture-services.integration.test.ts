import { Client } from 'pg';
import { findFreePort, LOCAL_STATE_DIR, PortInUseError } from '../../shared/local';
import { startConnectWorker, type ConnectWorker } from '../../shared/local/connect/connect-worker';
import { startPostgresServer, type PostgresServer } from '../../shared/local/postgres/postgres-server';
import { testConnectorConfig } from '../support/cdc';
import { eventually, readTopic, uniqueName, useTestServices } from '../support/integration';

/** Debezium's change event value, as the worker writes it (JSON, no schema envelope). */
interface ChangeEvent {
  readonly op: 'r' | 'c' | 'u' | 'd';
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly source: { readonly lsn: number; readonly snapshot: string; readonly table: string };
}

describe('The change-data-capture services: PostgreSQL and a Kafka Connect worker running Debezium', () => {
  const services = useTestServices('cdc-services');
  let postgres: PostgresServer;
  let worker: ConnectWorker;
  let database: Client;

  beforeAll(async () => {
    postgres = await startPostgresServer({ port: await findFreePort(), stateDir: LOCAL_STATE_DIR });
    database = new Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, database: 'postgres' });
    await database.connect();
    worker = await startConnectWorker({
      port: await findFreePort(),
      brokers: services.runtime.kafka.brokers,
      groupId: uniqueName('connect'),
      stateDir: LOCAL_STATE_DIR,
    });
  }, 240_000);

  afterAll(async () => {
    await database?.end();
    await worker?.stop();
    await postgres?.stop();
  });

  it('runs PostgreSQL ready for logical replication', async () => {
    const { rows } = await database.query<{ wal_level: string }>('SHOW wal_level');

    expect(rows).toEqual([{ wal_level: 'logical' }]);
  });

  it('refuses to start PostgreSQL on a port that is taken, naming the variable that moves it', async () => {
    await expect(startPostgresServer({ port: postgres.port, stateDir: LOCAL_STATE_DIR })).rejects.toThrow(PortInUseError);
    await expect(startPostgresServer({ port: postgres.port, stateDir: LOCAL_STATE_DIR })).rejects.toThrow(/LOCAL_POSTGRES_PORT/);
  });

  it('captures the rows a table holds, then its inserts, updates and deletes, keyed by primary key and ordered by LSN', async () => {
    const table = uniqueName('merchants').replace(/[^a-z0-9_]/g, '_');
    const prefix = uniqueName('monolith').replace(/[^a-z0-9_]/g, '_');
    await database.query(`CREATE TABLE ${table} (merchant_id text PRIMARY KEY, name text NOT NULL)`);
    await database.query(`INSERT INTO ${table} VALUES ('m-1', 'Shop'), ('m-2', 'Store')`);

    await worker.putConnector(prefix, testConnectorConfig(postgres, prefix, [`public.${table}`]));
    await eventually('the connector runs', async () => (await worker.connectorStatus(prefix))?.tasks[0]?.state === 'RUNNING', 60_000);
    await database.query(`UPDATE ${table} SET name = 'Shop 2' WHERE merchant_id = 'm-1'`);
    await database.query(`INSERT INTO ${table} VALUES ('m-3', 'Market')`);
    await database.query(`DELETE FROM ${table} WHERE merchant_id = 'm-2'`);

    // Two snapshot reads, an update, an insert, a delete and the delete's tombstone.
    const changes = `${prefix}.public.${table}`;
    await eventually('the worker created the change topic', async () => (await services.admin.listTopics()).includes(changes), 60_000);
    const records = await readTopic(services.kafka, changes, 6, 60_000);
    const events = records.map((record) => ({
      key: JSON.parse(record.key!) as Record<string, unknown>,
      event: record.value === null ? null : (JSON.parse(record.value) as ChangeEvent),
    }));

    expect(events.map(({ key, event }) => [key.merchant_id, event?.op ?? 'tombstone', event?.after?.name ?? null])).toEqual([
      ['m-1', 'r', 'Shop'],
      ['m-2', 'r', 'Store'],
      ['m-1', 'u', 'Shop 2'],
      ['m-3', 'c', 'Market'],
      ['m-2', 'd', null],
      ['m-2', 'tombstone', null],
    ]);
    const streamed = events.flatMap(({ event }) => (event && event.op !== 'r' ? [event.source.lsn] : []));
    expect(streamed).toEqual([...streamed].sort((a, b) => a - b));
  }, 180_000);
});
