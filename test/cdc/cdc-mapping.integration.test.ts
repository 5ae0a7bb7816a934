import { Client } from 'pg';
import {
  CDC_POSITION_HEADER,
  cdcPositionsTableVariable,
  createCdcMappingHandler,
  defineCdcMapping,
  MAX_CHANGE_EVENT_BYTES,
  type CdcMappingHandler,
} from '../../shared/cdc';
import { findFreePort, LOCAL_STATE_DIR, provisionTables, provisionTopics } from '../../shared/local';
import { startConnectWorker, type ConnectWorker } from '../../shared/local/connect/connect-worker';
import { startPostgresServer, type PostgresServer } from '../../shared/local/postgres/postgres-server';
import { buildMskEvent, toMskRecord, type MskEvent } from '../../shared/msk';
import { DEAD_LETTER_HEADERS } from '../../shared/dead-letter';
import type { Topic, TopicKind } from '../../shared/pipeline';
import { testConnectorConfig } from '../support/cdc';
import { eventually, readAll, readTopic, uniqueName, useTestServices, type ConsumedRecord } from '../support/integration';

interface Merchant {
  readonly merchantId: string;
  readonly name: string;
  readonly country: string;
  readonly website?: string;
}

/**
 * The mapping handler against the real chain: PostgreSQL, Debezium in a Kafka
 * Connect worker, the suite's broker and dynalite. The handler is invoked with
 * the events the change topic really holds, in the aws:kafka shape.
 */
jest.setTimeout(300_000);

describe('A CDC mapping: a table of the monolith becomes an entity stream', () => {
  const services = useTestServices('cdc-mapping');
  let postgres: PostgresServer;
  let worker: ConnectWorker;
  let database: Client;
  const source = { name: uniqueName('monolith').replace(/[^a-z0-9_]/g, '_'), database: 'postgres' };
  const mapping = defineCdcMapping<Merchant>({
    name: `${source.name}-merchants`,
    source,
    table: 'public.merchants',
    entityTopic: `${source.name}-merchants-entity`,
    deadLetterTopic: `${source.name}-merchants.dlq`,
    entityKey: (row) => String(row.merchant_id),
    toEntity: (row) => {
      if (row.country === 'XX') throw new Error('country XX is no country');
      // A column the table gained later reaches the mapping as one more field, and one it lost as one fewer.
      const website = typeof row.website === 'string' ? { website: row.website } : {};
      return { merchantId: String(row.merchant_id), name: String(row.name), country: String(row.country), ...website };
    },
  });
  const positionsTable = `${mapping.name}.positions`;
  let handler: CdcMappingHandler;
  let changesRead = 0;

  /** The change records the topic holds beyond those already handed to the handler, as one aws:kafka event. */
  const nextChanges = async (count: number): Promise<MskEvent> => {
    const records = (await readTopic(services.kafka, mapping.changeTopic, changesRead + count, 60_000)).slice(changesRead);
    changesRead += count;
    return eventOf(records);
  };
  const eventOf = (records: readonly ConsumedRecord[]): MskEvent =>
    buildMskEvent(
      records.map((record) =>
        toMskRecord({
          topic: mapping.changeTopic,
          partition: record.partition,
          offset: record.offset,
          timestamp: Date.now(),
          timestampType: 'CREATE_TIME',
          key: record.key === null ? null : Buffer.from(record.key),
          value: record.valueBytes,
          headers: [],
        }),
      ),
      { eventSourceArn: 'arn:aws:kafka:local', bootstrapServers: [...services.runtime.kafka.brokers] },
    );
  const entities = async () => {
    const latest = new Map<string, Merchant | null>();
    for (const record of await readAll(services.kafka, mapping.entityTopic)) {
      latest.set(record.key!, record.value === null ? null : (JSON.parse(record.value) as Merchant));
    }
    return latest;
  };

  beforeAll(async () => {
    postgres = await startPostgresServer({ port: await findFreePort(), stateDir: LOCAL_STATE_DIR });
    database = new Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, database: 'postgres' });
    await database.connect();
    await database.query('CREATE TABLE merchants (merchant_id text PRIMARY KEY, name text NOT NULL, country text NOT NULL)');
    await database.query("INSERT INTO merchants VALUES ('m-1', 'Shop', 'DE'), ('m-2', 'Store', 'FR')");
    worker = await startConnectWorker({
      port: await findFreePort(),
      brokers: services.runtime.kafka.brokers,
      groupId: uniqueName('connect'),
      stateDir: LOCAL_STATE_DIR,
    });
    const topic = (name: string, partitions: number, kind: TopicKind, config: Record<string, string> = {}): Topic => ({
      name,
      kind,
      partitions,
      retentionMs: -1,
      replicationFactor: 1,
      config,
    });
    // As definePipeline declares them: the change topic and the mapping's dead-letter topic take wide rows' change events.
    const wide = { 'max.message.bytes': String(MAX_CHANGE_EVENT_BYTES) };
    await provisionTopics(services.admin, [
      topic(mapping.entityTopic, 3, 'entity'),
      topic(mapping.deadLetterTopic, 1, 'dead-letter', wide),
      topic(mapping.changeTopic, 1, 'entity', { 'cleanup.policy': 'compact', ...wide }),
    ]);
    await provisionTables(services.runtime.dynamoDbClient(), [
      {
        name: positionsTable,
        partitionKey: { name: 'entityKey', type: 'S' },
        environmentVariable: cdcPositionsTableVariable(mapping.name),
      },
    ]);
    handler = createCdcMappingHandler(mapping, {
      env: { [cdcPositionsTableVariable(mapping.name)]: positionsTable },
      documents: services.documents,
      kafka: services.kafka,
    });
    await worker.putConnector(source.name, testConnectorConfig(postgres, source.name, [mapping.table], source.database));
    await eventually('the connector runs', async () => (await worker.connectorStatus(source.name))?.tasks[0]?.state === 'RUNNING', 60_000);
    await eventually(
      'the worker created the change topic',
      async () => (await services.admin.listTopics()).includes(mapping.changeTopic),
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await database?.end();
    await worker?.stop();
    await postgres?.stop();
  });

  it('publishes each existing row as its entity, keyed by the entity id, from the snapshot', async () => {
    await handler(await nextChanges(2));

    expect(await entities()).toEqual(
      new Map([
        ['m-1', { merchantId: 'm-1', name: 'Shop', country: 'DE' }],
        ['m-2', { merchantId: 'm-2', name: 'Store', country: 'FR' }],
      ]),
    );
    const [record] = await readTopic(services.kafka, mapping.entityTopic, 1);
    expect(record!.headers[CDC_POSITION_HEADER]).toMatch(/^\d+ snapshot$/);
  });

  it('publishes an update as the full new state, and a delete as a tombstone', async () => {
    await database.query("UPDATE merchants SET name = 'Shop 2' WHERE merchant_id = 'm-1'");
    await database.query("DELETE FROM merchants WHERE merchant_id = 'm-2'");

    // The update, the delete and the tombstone Debezium writes after it.
    await handler(await nextChanges(3));

    expect(await entities()).toEqual(
      new Map([
        ['m-1', { merchantId: 'm-1', name: 'Shop 2', country: 'DE' }],
        ['m-2', null],
      ]),
    );
  });

  it('publishes nothing again when a batch is delivered twice, so the entity never moves backwards', async () => {
    const before = (await readAll(services.kafka, mapping.entityTopic)).length;
    // Every change handed over so far (the connector writes in transactions, whose markers take offsets too).
    const everything = eventOf(await readTopic(services.kafka, mapping.changeTopic, changesRead));

    await handler(everything);

    expect((await readAll(services.kafka, mapping.entityTopic)).length).toBe(before);
    expect((await entities()).get('m-1')).toEqual({ merchantId: 'm-1', name: 'Shop 2', country: 'DE' });
  });

  it('dead-letters a row the mapping refuses, with the reason, and maps the rest of the batch', async () => {
    await database.query("INSERT INTO merchants VALUES ('m-3', 'Nowhere', 'XX'), ('m-4', 'Market', 'NL')");

    await handler(await nextChanges(2));

    const [letter] = await readTopic(services.kafka, mapping.deadLetterTopic, 1);
    expect(letter!.headers[DEAD_LETTER_HEADERS.error]).toMatch(/^InvalidChangeError: toEntity refused the row: country XX is no country/);
    expect((await entities()).get('m-4')).toEqual({ merchantId: 'm-4', name: 'Market', country: 'NL' });
    expect((await entities()).has('m-3')).toBe(false);
  });

  it('follows the table through a new nullable column and a dropped one, mid-stream', async () => {
    await database.query('ALTER TABLE merchants ADD COLUMN website text');
    await database.query("UPDATE merchants SET website = 'https://shop.example' WHERE merchant_id = 'm-1'");
    await handler(await nextChanges(1));
    expect((await entities()).get('m-1')).toEqual({ merchantId: 'm-1', name: 'Shop 2', country: 'DE', website: 'https://shop.example' });

    await database.query('ALTER TABLE merchants DROP COLUMN website');
    await database.query("UPDATE merchants SET name = 'Shop 3' WHERE merchant_id = 'm-1'");
    await handler(await nextChanges(1));

    expect((await entities()).get('m-1')).toEqual({ merchantId: 'm-1', name: 'Shop 3', country: 'DE' });
  });

  it('dead-letters, whole, a row wider than the broker takes by default and its entity topic takes, and maps the next one', async () => {
    // 1.5 MB of name: its change event is over the producer's and the broker's 1 MB defaults.
    const wideName = 'x'.repeat(1_536 * 1024);
    await database.query("INSERT INTO merchants VALUES ('m-5', $1, 'DE'), ('m-6', 'Kiosk', 'AT')", [wideName]);

    await handler(await nextChanges(2));

    const letters = await readTopic(services.kafka, mapping.deadLetterTopic, 2);
    expect(letters[1]!.headers[DEAD_LETTER_HEADERS.error]).toMatch(/the mapped entity takes \d+ bytes, more than the entity topic takes/);
    expect(letters[1]!.value).toContain(wideName);
    expect((await entities()).has('m-5')).toBe(false);
    expect((await entities()).get('m-6')).toEqual({ merchantId: 'm-6', name: 'Kiosk', country: 'AT' });
  });
});
