import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { findFreePort, LOCAL_STATE_DIR } from '../../shared/local';
import { startConnectWorker, type ConnectWorker } from '../../shared/local/connect/connect-worker';
import { startPostgresServer, type PostgresServer } from '../../shared/local/postgres/postgres-server';
import { debeziumConnectorConfig } from '../../shared/cdc';
import { testConnectorConfig } from '../support/cdc';
import { eventually, readTopic, uniqueName, useTestServices } from '../support/integration';

jest.setTimeout(300_000);

/** What a user does to the change-data-capture services: kill the Connect worker, restart the database. */
describe('Change data capture under faults', () => {
  const services = useTestServices('cdc-faults');
  const dataDir = mkdtempSync(join(LOCAL_STATE_DIR, 'cdc-faults-postgres-'));
  const groupId = uniqueName('connect');
  const source = uniqueName('faults').replace(/[^a-z0-9_]/g, '_');
  const changeTopic = `${source}.public.items`;
  let postgresPort: number;
  let postgres: PostgresServer;
  let worker: ConnectWorker;
  let database: Client;

  const connectDatabase = async () => {
    database = new Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, database: 'postgres' });
    await database.connect();
  };
  const startWorker = async () =>
    startConnectWorker({ port: await findFreePort(), brokers: services.runtime.kafka.brokers, groupId, stateDir: LOCAL_STATE_DIR });
  /** The ids of the inserts the change topic holds, read committed, in order. */
  const insertedIds = async (count: number) => {
    await eventually('the worker created the change topic', async () => (await services.admin.listTopics()).includes(changeTopic), 60_000);
    const records = await readTopic(services.kafka, changeTopic, count, 120_000);
    return records.map((record) => (JSON.parse(record.key!) as { id: number }).id);
  };
  const insert = async (from: number, to: number) => {
    for (let id = from; id <= to; id += 1) await database.query('INSERT INTO items VALUES ($1, $2)', [id, `item ${id}`]);
  };

  beforeAll(async () => {
    postgresPort = await findFreePort();
    postgres = await startPostgresServer({ port: postgresPort, stateDir: LOCAL_STATE_DIR, dataDir });
    await connectDatabase();
    await database.query('CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL)');
    worker = await startWorker();
    await worker.putConnector(source, testConnectorConfig(postgres, source, ['public.items']));
    await eventually('the connector runs', async () => (await worker.connectorStatus(source))?.tasks[0]?.state === 'RUNNING', 60_000);
  });

  afterAll(async () => {
    await database?.end().catch(() => undefined);
    await worker?.stop();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no change and repeats none when the Connect worker is killed mid-stream and started again', async () => {
    await insert(1, 100);
    // SIGKILL: no shutdown, no offset flush; the watchdog sees the worker go.
    process.kill(worker.pid, 'SIGKILL');
    const death = await worker.died;
    expect(death.description).toMatch(/SIGKILL/);
    await insert(101, 200);

    worker = await startWorker();
    await eventually('the connector runs again', async () => (await worker.connectorStatus(source))?.tasks[0]?.state === 'RUNNING', 60_000);
    await insert(201, 250);

    const ids = await insertedIds(250);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, index) => index + 1));
  });

  it('goes on capturing when PostgreSQL is restarted mid-stream', async () => {
    await database.end();
    await postgres.stop();
    postgres = await startPostgresServer({ port: postgresPort, stateDir: LOCAL_STATE_DIR, dataDir });
    await connectDatabase();
    await insert(251, 260);

    const ids = await insertedIds(260);
    expect(ids.slice(250)).toEqual(Array.from({ length: 10 }, (_, index) => 251 + index));
    expect((await worker.connectorStatus(source))?.tasks[0]?.state).toBe('RUNNING');
  });

  it('stops its task on a row wider than a change event may be, with the reason, and resumes from that row, losing nothing, once the column is cut', async () => {
    // 5 MiB of name: its change event is over MAX_CHANGE_EVENT_BYTES, which the connector's producer takes.
    await database.query('INSERT INTO items VALUES (261, $1), (262, $2)', ['x'.repeat(5 * 1024 * 1024), 'after the wide one']);

    await eventually('the task failed', async () => (await worker.connectorStatus(source))?.tasks[0]?.state === 'FAILED', 60_000);
    expect((await worker.connectorStatus(source))!.tasks[0]!.trace).toMatch(/RecordTooLargeException/);

    // The operator's fix: capture the column cut to 1,024 characters (truncateColumns in the mapping), and restart.
    await worker.putConnector(
      source,
      debeziumConnectorConfig(
        { name: source, database: 'postgres' },
        [{ table: 'public.items', truncateColumns: { name: 1_024 } }],
        { hostname: postgres.host, port: postgres.port, user: postgres.superuser, password: 'local' },
        { exactlyOnce: true, replicationFactor: 1 },
      ),
    );
    await worker.restartFailed(source);

    const records = await readTopic(services.kafka, changeTopic, 262, 120_000);
    expect(records.map((record) => (JSON.parse(record.key!) as { id: number }).id)).toEqual(
      Array.from({ length: 262 }, (_, index) => index + 1),
    );
    const nameAfter = (record: (typeof records)[number]) => (JSON.parse(record.value!) as { after: { name: string } }).after.name;
    expect(nameAfter(records[260]!)).toBe('x'.repeat(1_024));
    expect(nameAfter(records[261]!)).toBe('after the wide one');
  });
});
