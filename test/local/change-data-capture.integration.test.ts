import type { Client } from 'pg';
import { findFreePort, LOCAL_STATE_DIR, runPipeline, type RunningPipeline } from '../../shared/local';
import { startChangeDataCapture, type RunningChangeDataCapture } from '../../shared/local/change-data-capture';
import type { Pipeline } from '../../shared/pipeline';
import { join } from 'node:path';
import { eventually, readAll, uniqueName, useTestServices } from '../support/integration';
import { runPlatform } from '../support/run-platform';

jest.setTimeout(300_000);

/** The local runtime with a CDC source: the monolith's database, the connector, and the mapping run by the emulator. */
describe('The local runtime with a change-data-capture source', () => {
  const services = useTestServices('cdc-runtime');
  process.env.CDC_PIPELINE_PREFIX = uniqueName('cdc')
    .replace(/[^a-z0-9_]/g, '_')
    .concat('_');
  // Loaded after the prefix is set: the handler module the emulator loads reads the same one.
  const { default: pipeline, customers } = require('../fixtures/cdc-pipeline') as typeof import('../fixtures/cdc-pipeline');
  let cdc: RunningChangeDataCapture;
  let running: RunningPipeline;
  let shop: Client;
  let ports: { postgres: number; connect: number };

  const customerEntities = async () =>
    new Map((await readAll(services.kafka, customers.entityTopic)).map((record) => [record.key, record.value && JSON.parse(record.value)]));

  beforeAll(async () => {
    // The pipeline's topics first: the connector writes its change topic, it does not create it.
    running = await runPipeline(services.runtime, pipeline as Pipeline);
    ports = { postgres: await findFreePort(), connect: await findFreePort() };
    cdc = await startChangeDataCapture(pipeline, {
      postgresPort: ports.postgres,
      connectPort: ports.connect,
      brokers: services.runtime.kafka.brokers,
      connectGroupId: uniqueName('connect'),
      stateDir: LOCAL_STATE_DIR,
      // The table comes from the source's localSchemaSql; the seed writes a row, as the monolith would.
      seed: async (database) => {
        await database.query("INSERT INTO customers VALUES ('c-1', 'Ada Lovelace')");
      },
    });
    shop = await cdc.connectToSource(customers.source.name);
  });

  afterAll(async () => {
    await shop?.end();
    await running?.stop();
    await cdc?.stop();
  });

  it('publishes the seeded rows, then a live change, as entities through the mapping consumer', async () => {
    await eventually('the seeded customer is an entity', async () => (await customerEntities()).has('c-1'), 60_000);

    await shop.query("UPDATE customers SET full_name = 'Ada King' WHERE customer_id = 'c-1'");

    await eventually(
      'the update reached the entity stream',
      async () => (await customerEntities()).get('c-1')?.name === 'Ada King',
      60_000,
    );
    expect((await customerEntities()).get('c-1')).toEqual({ customerId: 'c-1', name: 'Ada King' });
  });

  it('reports the connector and its task running, and the replication slot caught up to within the WAL written since', async () => {
    await eventually(
      'the connector and its task run, and the slot is active',
      async () => {
        const [status] = await cdc.statuses();
        return status?.connector === 'RUNNING' && status.task === 'RUNNING' && status.slotActive === true;
      },
      30_000,
    );
    const [status] = await cdc.statuses();

    expect(status).toMatchObject({ source: customers.source.name, connector: 'RUNNING', task: 'RUNNING', failure: undefined });
    expect(status!.lagBytes).toEqual(expect.any(Number));
    expect(status!.lagBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it("shows the connector's state and slot lag on its change topic in `platform topics`", async () => {
    const topics = await runPlatform(['topics', '--json', '--pipeline', join(__dirname, '..', 'fixtures', 'cdc-pipeline.ts')], {
      env: {
        ...process.env,
        KAFKA_BROKERS: services.runtime.kafka.brokers.join(','),
        LOCAL_POSTGRES_PORT: String(ports.postgres),
        LOCAL_CONNECT_PORT: String(ports.connect),
      },
    });

    expect(topics.code).toBe(0);
    const rows = JSON.parse(topics.stdout) as Array<{ topic: string; capture?: { source: string; connector: string; lagBytes?: number } }>;
    const changeTopic = rows.find((row) => row.topic === customers.changeTopic);
    expect(changeTopic?.capture).toMatchObject({
      source: customers.source.name,
      connector: 'RUNNING',
      task: 'RUNNING',
      lagBytes: expect.any(Number),
    });
    expect(rows.find((row) => row.topic === customers.entityTopic)?.capture).toBeUndefined();
  });
});
