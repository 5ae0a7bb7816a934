import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import pipeline from '../../pipeline';
import { catalog, monolithId, offerOf, type Flyer, type Item, type Merchant, type Offer } from '../../example';
import { LOCAL_STATE_DIR } from '../../shared/local';
import { readValue } from '../../shared/schemas';
import { delay } from '../support/delay';
import { eventually, factsFor, produce, readAll, recordCount } from '../support/integration';
import {
  brokerRecordOn,
  connectWorkersOn,
  exitCodeWithin,
  freePlatformPorts,
  isRunning,
  postgresServersOn,
  killQuietly,
  startPlatformProcess,
  theDynaliteProcessOn,
  untilRunning,
  type PlatformProcess,
} from '../support/local-processes';

/**
 * `npm start -- --persist` when its broker or dynalite dies under running consumers: it exits non-zero
 * naming the service, and the next `npm start -- --persist` on the same state resumes where the
 * consumers had committed, without seeding the catalog again, until every offer equals what a reference
 * computes from the input topics, and every merchant equals its row in the monolith's database (change
 * data capture resumed from its slot, without a second snapshot). Real entry, real broker JVM, dynalite,
 * PostgreSQL and Connect worker, on free ports, with a state directory (LOCAL_PERSIST_DIR) of the test's
 * own; every pid is checked gone at the end.
 */
const SIZE = { merchants: 5, flyers: 20, items: 300 };
const DEMO_FLAGS = ['--merchants', String(SIZE.merchants), '--flyers', String(SIZE.flyers), '--items', String(SIZE.items)];

/** What one run started, read from the broker's record and /proc while it runs. */
interface Services {
  readonly platform: number;
  readonly broker: number;
  readonly watchdog: number;
  readonly dynalite: number;
  readonly postgres: number;
  readonly connectWorker: number;
  readonly brokerLogFile: string;
}

/** Every topic's newest value per key, decoded from its wire format (null: deleted). Records no reader can decode are dead-lettered by the platform, so they change nothing. */
async function latestValues(kafka: Kafka, topic: string): Promise<Map<string, unknown>> {
  const records = await readAll(kafka, topic);
  const format = catalog.formats.get(topic)!;
  const latest = new Map<string, unknown>();
  for (const record of records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    try {
      latest.set(record.key!, await readValue(format, record.valueBytes));
    } catch {
      // malformed on purpose (the demo sends some): the join dead-letters it
    }
  }
  return latest;
}

/** The offer every item must have from the latest items, flyers and merchants (null: none), as the joins define it. */
async function referenceOffers(kafka: Kafka): Promise<Map<string, Offer | null>> {
  const [items, flyers, merchants] = await Promise.all([
    latestValues(kafka, catalog.itemsWithFlyer.leftTopic) as Promise<Map<string, Item | null>>,
    latestValues(kafka, catalog.itemsWithFlyer.rightTopic) as Promise<Map<string, Flyer | null>>,
    latestValues(kafka, catalog.offers.rightTopic) as Promise<Map<string, Merchant | null>>,
  ]);
  const expected = new Map<string, Offer | null>();
  for (const [itemId, item] of items) {
    const flyer = item ? flyers.get(item.flyerId) : null;
    expected.set(itemId, item && flyer ? offerOf(item, flyer, merchants.get(flyer.merchantId) ?? null) : null);
  }
  return expected;
}

async function expectOffersEqualReference(kafka: Kafka): Promise<void> {
  const [expected, offers] = await Promise.all([referenceOffers(kafka), latestValues(kafka, catalog.offers.outputTopic)]);
  const differences = [...new Set([...expected.keys(), ...offers.keys()])]
    .filter((itemId) => !isDeepStrictEqual(offers.get(itemId) ?? null, expected.get(itemId) ?? null))
    .map((itemId) => ({ itemId, offer: offers.get(itemId) ?? null, reference: expected.get(itemId) ?? null }));
  expect(differences.slice(0, 5)).toEqual([]);
  expect([...expected.values()].filter((offer) => offer !== null).length).toBeGreaterThan(SIZE.items / 2);
}

/**
 * Waits until each hot stream's latest delta per item carries the value of its latest valid update (what a
 * shopper must see once the coalescing window has passed), or fails naming the items that differ.
 */
async function untilHotDeltasMatchUpdates(kafka: Kafka, timeoutMs = 45_000): Promise<void> {
  const streams = [
    { stream: catalog.prices, value: (update: { amountMinor: number; currency: string }) => [update.amountMinor, update.currency] },
    { stream: catalog.stocks, value: (update: { quantity: number }) => [update.quantity] },
  ] as const;
  let differences: string[] = [];
  for (const deadline = Date.now() + timeoutMs; ; await delay(2_000)) {
    differences = [];
    for (const { stream, value } of streams) {
      const [updates, deltas] = await Promise.all([latestValues(kafka, stream.inputTopic), latestValues(kafka, stream.outputTopic)]);
      // Demo items only: not the flush ticks, nor the refused prices the demo sends now and then.
      for (const [key, update] of updates) {
        if (!/^item-\d+$/.test(key)) continue;
        const delta = deltas.get(key);
        if (!delta || !isDeepStrictEqual(value(delta as never), value(update as never))) differences.push(`${stream.name} ${key}`);
      }
      if (updates.size === 0) differences.push(`${stream.name}: no updates at all`);
    }
    if (differences.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `after ${timeoutMs} ms, the latest delta still differs from the latest update for ${differences.slice(0, 10).join(', ')}`,
      );
  }
}

/**
 * Waits until every consumer of the pipeline has committed everything its topic holds: two looks half a second
 * apart that find no lag and no topic grown between them (a join's output is the next join's input).
 */
async function untilCaughtUp(kafka: Kafka, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let lag = new Map<string, number>();
  const look = async () => {
    lag = new Map<string, number>();
    let records = 0;
    for (const consumer of pipeline.consumers) {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(consumer.topic.name),
        admin.fetchOffsets({ groupId: consumer.eventSource.consumerGroupId, topics: [consumer.topic.name] }),
      ]);
      let behind = 0;
      for (const end of ends) {
        const at = Number(committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? -1);
        behind += Number(end.high) - (at >= 0 ? at : Number(end.low));
        records += Number(end.high);
      }
      lag.set(consumer.name, behind);
    }
    return [...lag.values()].every((behind) => behind === 0) ? records : undefined;
  };
  try {
    await eventually(
      'every consumer’s lag is 0',
      async () => {
        const first = await look();
        if (first === undefined) return false;
        await delay(500);
        return (await look()) === first;
      },
      timeoutMs,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; lag: ${JSON.stringify([...lag])}`);
    });
  } finally {
    await admin.disconnect();
  }
}

/** The merchants the monolith's table holds, as the mapping publishes them. */
async function monolithMerchants(postgresPort: number): Promise<Map<string, Merchant>> {
  const client = new Client({
    host: '127.0.0.1',
    port: postgresPort,
    user: 'postgres',
    database: catalog.merchantsFromMonolith.source.database,
  });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT * FROM public.merchants WHERE length(country_code) = 2');
    return new Map(rows.map((row) => [catalog.merchantsFromMonolith.entityKey(row), catalog.merchantsFromMonolith.toEntity(row)]));
  } finally {
    await client.end();
  }
}

/** Waits until the `merchants` entity stream's latest value per key equals the monolith's row, for every row. */
async function untilMerchantsEqualMonolith(kafka: Kafka, postgresPort: number): Promise<void> {
  let differences: string[] = [];
  await eventually(
    'every merchant equals its row in the monolith',
    async () => {
      const [rows, entities] = await Promise.all([monolithMerchants(postgresPort), latestValues(kafka, catalog.offers.rightTopic)]);
      differences = [...new Set([...rows.keys(), ...entities.keys()])].filter(
        (key) => !isDeepStrictEqual(rows.get(key) ?? null, entities.get(key) ?? null),
      );
      return differences.length === 0 && rows.size >= SIZE.merchants;
    },
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; differing: ${differences.slice(0, 5).join(', ')}`);
  });
}

async function catalogCounts(kafka: Kafka) {
  const [merchants, flyers, items] = await Promise.all(
    [catalog.offers.rightTopic, catalog.itemsWithFlyer.rightTopic, catalog.itemsWithFlyer.leftTopic].map((topic) =>
      recordCount(kafka, topic),
    ),
  );
  return { merchants: merchants!, flyers: flyers!, items: items! };
}

const facts = factsFor(catalog.formats);

describe('npm start --persist, when its broker or dynalite dies under running consumers (integration)', () => {
  let ports: { kafka: number; dynamodb: number; postgres: number; connect: number };
  let workDir: string;
  let kafka: Kafka;
  const started: PlatformProcess[] = [];
  const services: Services[] = [];
  /** The run the next test continues from (test 2 starts one if test 1 left none). */
  let current: PlatformProcess | undefined;

  beforeAll(async () => {
    ports = await freePlatformPorts();
    workDir = mkdtempSync(join(tmpdir(), 'platform-test-persist-faults-'));
    // As root, PostgreSQL runs as the postgres user, which must be able to reach its data dir in here.
    chmodSync(workDir, 0o755);
    kafka = new Kafka({
      clientId: 'persist-faults-test',
      brokers: [`127.0.0.1:${ports.kafka}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
  });

  afterAll(async () => {
    // After a failure too: nothing of these runs may outlive the suite, and nothing they wrote stays outside workDir.
    for (const platform of started) killQuietly(-platform.pid, 'SIGKILL');
    for (const { broker, watchdog, dynalite, postgres, connectWorker } of services)
      for (const pid of [broker, watchdog, dynalite, postgres, connectWorker]) killQuietly(pid, 'SIGKILL');
    await eventually(
      'every process these runs started is gone',
      () => services.every((run) => Object.values(run).every((pid) => typeof pid !== 'number' || !isRunning(pid))),
      15_000,
    );
    rmSync(workDir, { recursive: true, force: true });
    for (const file of [
      `kafka-broker-${ports.kafka}.log`,
      `kafka-broker-${ports.kafka}.json`,
      `dynalite-${ports.dynamodb}.log`,
      `postgres-${ports.postgres}.log`,
      `connect-${ports.connect}.log`,
    ])
      rmSync(join(LOCAL_STATE_DIR, file), { force: true });
  });

  /** `npm start -- --persist <demo flags> <more>` without npm: the same entry, in a process group of its own. */
  function start(more: readonly string[]): PlatformProcess {
    const platform = startPlatformProcess(ports, ['--persist', ...DEMO_FLAGS, ...more], {
      LOCAL_PERSIST_DIR: join(workDir, 'state'),
      LOCAL_MAPPINGS_DIR: join(workDir, 'mappings'),
    });
    started.push(platform);
    current = platform;
    return platform;
  }

  /** Waits until it runs, and notes what it started. */
  async function running(platform: PlatformProcess): Promise<Services> {
    await untilRunning(platform);
    const record = brokerRecordOn(ports.kafka);
    expect(record.dataDir).toBe(join(workDir, 'state', 'kafka'));
    const [postgres, ...morePostgres] = postgresServersOn(ports.postgres);
    const [connectWorker, ...moreWorkers] = connectWorkersOn(ports.connect);
    expect({ morePostgres, moreWorkers }).toEqual({ morePostgres: [], moreWorkers: [] });
    const run = {
      platform: platform.pid,
      broker: record.pid,
      watchdog: record.watchdogPid,
      dynalite: theDynaliteProcessOn(ports.dynamodb),
      postgres: postgres!,
      connectWorker: connectWorker!,
      brokerLogFile: record.logFile,
    };
    services.push(run);
    return run;
  }

  async function expectGone(run: Services): Promise<void> {
    await eventually(
      'npm start, the broker, its watchdog, dynalite, PostgreSQL and the Connect worker are gone, with the broker’s record',
      () =>
        [run.platform, run.broker, run.watchdog, run.dynalite, run.postgres, run.connectWorker].every((pid) => !isRunning(pid)) &&
        !existsSync(join(LOCAL_STATE_DIR, `kafka-broker-${ports.kafka}.json`)),
      20_000,
    );
  }

  it('resumes after the broker dies under a running consumer: restarted with --persist, nothing lost or stale', async () => {
    // Prepare: a fresh state, the demo catalog seeded and ticking (prices, stocks, item and flyer changes).
    const first = start(['--ticks', '50']);
    const firstServices = await running(first);
    expect(first.output()).toContain(`Seeded ${SIZE.merchants} merchants, ${SIZE.flyers} flyers and ${SIZE.items} items.`);
    await eventually('offers exist', async () => (await recordCount(kafka, catalog.offers.outputTopic)) > 0, 30_000);
    const before = await catalogCounts(kafka);

    // Act: the broker JVM dies under the running consumers.
    process.kill(firstServices.broker, 'SIGKILL');

    // Assess: npm start names it and exits non-zero, leaving nothing running.
    expect(await exitCodeWithin(first, 20_000)).toBe(1);
    expect(first.output()).toContain(
      `The Kafka broker (pid ${firstServices.broker}) was killed by SIGKILL; its log: ${firstServices.brokerLogFile}. Stopping everything.`,
    );
    await expectGone(firstServices);

    // Act: start again on the same state and ports, the catalog only (no ticks), so what the topics hold stays put.
    const second = start(['--ticks', '0']);
    await running(second);

    // Assess: not seeded again; every record acknowledged before the kill is there; the consumers catch up from
    // their commits, and every offer equals the reference computed from the input topics.
    expect(second.output()).toContain('The catalog is there from an earlier run (--persist): not seeding it again.');
    await untilCaughtUp(kafka);
    const after = await catalogCounts(kafka);
    // The merchants come from the monolith through change data capture: the restarted connector resumes from its
    // slot; a second snapshot would publish every merchant again.
    await untilMerchantsEqualMonolith(kafka, ports.postgres);
    expect(after.merchants).toBeGreaterThanOrEqual(before.merchants);
    expect(after.merchants).toBeLessThan(before.merchants + SIZE.merchants);
    expect(after.flyers).toBeGreaterThanOrEqual(before.flyers);
    expect(after.items).toBeGreaterThanOrEqual(before.items);
    expect(after.flyers).toBeLessThan(2 * SIZE.flyers);
    expect(after.items).toBeLessThan(2 * SIZE.items);
    await expectOffersEqualReference(kafka);
    // The hot streams' pending prices and stocks are emitted once their window passes, none older than the latest.
    await untilHotDeltasMatchUpdates(kafka);
  }, 150_000);

  it('resumes after dynalite dies: restarted with --persist, the join state kept', async () => {
    // Prepare: a run with the catalog in place and consumed (the one the test before left, or a new one).
    const platform = current && isRunning(current.pid) ? current : start(['--ticks', '0']);
    const before = await running(platform);
    await untilCaughtUp(kafka);
    const offersBefore = await recordCount(kafka, catalog.offers.outputTopic);
    // Upstream changes arrive: every item renamed, a third of them moved to another flyer, flyers moved to another merchant.
    const items = [...((await latestValues(kafka, catalog.itemsWithFlyer.leftTopic)) as Map<string, Item | null>).values()].filter(
      (item): item is Item => item !== null,
    );
    const flyers = [...((await latestValues(kafka, catalog.itemsWithFlyer.rightTopic)) as Map<string, Flyer | null>).values()].filter(
      (flyer): flyer is Flyer => flyer !== null,
    );
    const itemChanges = items.map(
      (item, index) =>
        [
          item.itemId,
          { ...item, name: `${item.name} (renamed)`, flyerId: index % 3 === 0 ? flyers[index % flyers.length]!.flyerId : item.flyerId },
        ] as const,
    );
    const flyerChanges = flyers
      .slice(0, 4)
      .map((flyer, index) => [flyer.flyerId, { ...flyer, merchantId: `merchant-${index % SIZE.merchants}` }] as const);
    await produce(kafka, catalog.itemsWithFlyer.rightTopic, await facts(catalog.itemsWithFlyer.rightTopic, flyerChanges));
    await produce(kafka, catalog.itemsWithFlyer.leftTopic, await facts(catalog.itemsWithFlyer.leftTopic, itemChanges));
    await eventually(
      'the joins are at work on them',
      async () => (await recordCount(kafka, catalog.offers.outputTopic)) > offersBefore,
      30_000,
    );

    // Act: dynalite dies while they are.
    process.kill(before.dynalite, 'SIGKILL');

    // Assess: npm start names it and exits non-zero, leaving nothing running.
    expect(await exitCodeWithin(platform, 20_000)).toBe(1);
    expect(platform.output()).toContain(`The local DynamoDB server (dynalite) (pid ${before.dynalite}) was killed by SIGKILL`);
    await expectGone(before);

    // Act: start again on the same state; then changes only the kept join state can answer: a merchant renamed
    // in the monolith's table (the offers join finds that merchant's items in its state) and a flyer moved (the
    // first join finds its items).
    const restarted = start(['--ticks', '0']);
    const restartedServices = await running(restarted);
    expect(restarted.output()).toContain('not seeding it again');
    await untilCaughtUp(kafka);
    const merchantsBefore = await recordCount(kafka, catalog.offers.rightTopic);
    const renamed = { merchantId: 'merchant-1', name: 'Merchant 1, renamed after the restart' };
    const moved = { ...flyers[5]!, merchantId: 'merchant-1', title: 'Moved after the restart' };
    const monolith = new Client({
      host: '127.0.0.1',
      port: ports.postgres,
      user: 'postgres',
      database: catalog.merchantsFromMonolith.source.database,
    });
    await monolith.connect();
    await monolith
      .query('UPDATE public.merchants SET display_name = $1 WHERE id = $2', [renamed.name, monolithId(renamed.merchantId)])
      .finally(() => monolith.end());
    await produce(kafka, catalog.itemsWithFlyer.rightTopic, await facts(catalog.itemsWithFlyer.rightTopic, [[moved.flyerId, moved]]));

    // Assess: the consumers catch up and every offer equals the reference, the renamed merchant in each of its offers.
    await untilMerchantsEqualMonolith(kafka, ports.postgres);
    await untilCaughtUp(kafka);
    expect(await recordCount(kafka, catalog.offers.rightTopic)).toBe(merchantsBefore + 1);
    await expectOffersEqualReference(kafka);
    const offers = (await latestValues(kafka, catalog.offers.outputTopic)) as Map<string, Offer | null>;
    expect([...offers.values()].filter((offer) => offer?.merchant?.name === renamed.name).length).toBeGreaterThan(0);

    // Act: Ctrl-C. Assess: it stops, and leaves nothing running.
    process.kill(restarted.pid, 'SIGINT');
    expect(await exitCodeWithin(restarted, 45_000)).toBe(0);
    await expectGone(restartedServices);
  }, 150_000);
});
