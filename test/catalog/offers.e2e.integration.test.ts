import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Kafka, Message } from 'kafkajs';
import { isDeepStrictEqual } from 'node:util';
import { defineCatalog, generateCatalog, offerOf, type Flyer, type Item, type Merchant, type Offer } from '../../shared/catalog';
import { DEAD_LETTER_HEADERS } from '../../shared/dead-letter';
import { repositorySchemas } from '../../shared/schemas';
import { createJoinHandlers, joinStateTableVariable } from '../../shared/fk-join';
import { createHotStreamHandler, hotStateTableVariable } from '../../shared/hot-path';
import { runPipeline, type LocalRuntime, type RunningPipeline } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { connectToTestServices, eventually, NOOP_HANDLER_ENTRY, produce, readTopic, recordCount, uniqueName } from '../support/integration';
import { seededRandom } from '../support/seeded-random';

/** The newest value per key of a topic, kept up to date as records arrive (null: deleted). */
async function follow(kafka: Kafka, topic: string) {
  const latest = new Map<string, unknown>();
  const consumer = kafka.consumer({ groupId: uniqueName('follow'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  void consumer.run({
    eachMessage: async ({ message }) => {
      latest.set(message.key!.toString(), message.value === null ? null : (JSON.parse(message.value.toString()) as unknown));
    },
  });
  return { latest, stop: () => consumer.disconnect() };
}

describe('The example domain end to end (integration)', () => {
  let runtime: LocalRuntime;
  let kafka: Kafka;
  let running: RunningPipeline;
  const catalog = defineCatalog(`${uniqueName('e2e')}.`);

  beforeAll(async () => {
    runtime = await connectToTestServices();
    kafka = runtime.kafkaClient('catalog-e2e');
    const pipeline = definePipeline({
      name: uniqueName('catalog'),
      topics: catalog.topics,
      joins: [
        { join: catalog.itemsWithFlyer, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 100 } },
        { join: catalog.offers, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 100 } },
      ],
      hotStreams: [{ stream: catalog.prices, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 100 } }],
    });
    // The handlers the functions/ modules export, made here for this copy of the catalog.
    const env = (variable: string, table: string) => ({ [variable]: table, KAFKA_BROKERS: runtime.kafka.brokers.join(',') });
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    const joinHandlers = pipeline.joins.map(({ join, table }) => createJoinHandlers(join, { env: env(joinStateTableVariable(join.name), table.name), documents, kafka }));
    const hot = pipeline.hotStreams[0]!;
    running = await runPipeline(runtime, pipeline, {
      retryDelayMs: () => 20,
      handlers: {
        [`${catalog.itemsWithFlyer.name}.left`]: joinHandlers[0]!.left,
        [`${catalog.itemsWithFlyer.name}.right`]: joinHandlers[0]!.right,
        [`${catalog.offers.name}.left`]: joinHandlers[1]!.left,
        [`${catalog.offers.name}.right`]: joinHandlers[1]!.right,
        [hot.consumer.name]: createHotStreamHandler(catalog.prices, { env: env(hotStateTableVariable(catalog.prices.name), hot.table.name), documents, kafka }),
      },
    });
  });
  afterAll(() => running.stop());

  /** Every record a topic holds now. */
  async function allRecords(topic: string) {
    const total = await recordCount(kafka, topic);
    return total === 0 ? [] : readTopic(kafka, topic, total);
  }

  it('produces, for every item, the offer a reference computes from the seeded data, also after updates, foreign-key changes and deletes', async () => {
    // Prepare: a seeded catalog, then rounds of random changes to all three entities.
    const random = seededRandom(7);
    const data = generateCatalog({ merchants: 12, flyers: 40, items: 200 }, random);
    const merchants = new Map<string, Merchant | null>(data.merchants.map((merchant) => [merchant.merchantId, merchant]));
    const flyers = new Map<string, Flyer | null>(data.flyers.map((flyer) => [flyer.flyerId, flyer]));
    const items = new Map<string, Item | null>(data.items.map((item) => [item.itemId, item]));
    const offers = await follow(kafka, catalog.offers.outputTopic);
    const facts = <T>(entries: Iterable<[string, T | null]>): Message[] => [...entries].map(([key, value]) => ({ key, value: value === null ? null : JSON.stringify(value) }));
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

    try {
      // Act
      await produce(kafka, catalog.offers.rightTopic, facts(merchants));
      await produce(kafka, catalog.itemsWithFlyer.rightTopic, facts(flyers));
      await produce(kafka, catalog.itemsWithFlyer.leftTopic, facts(items));
      for (let round = 0; round < 3; round += 1) {
        const itemChanges = Array.from({ length: 20 }, (): [string, Item | null] => {
          const item = pick(data.items);
          return [item.itemId, random() < 0.15 ? null : { ...item, name: `${item.name} r${round}`, flyerId: pick(data.flyers).flyerId }];
        });
        const flyerChanges = Array.from({ length: 6 }, (): [string, Flyer | null] => {
          const flyer = pick(data.flyers);
          return [flyer.flyerId, random() < 0.2 ? null : { ...flyer, merchantId: pick(data.merchants).merchantId }];
        });
        const merchantChanges = Array.from({ length: 2 }, (): [string, Merchant | null] => {
          const merchant = pick(data.merchants);
          return [merchant.merchantId, random() < 0.3 ? null : { ...merchant, name: `${merchant.name} r${round}` }];
        });
        for (const [key, value] of itemChanges) items.set(key, value);
        for (const [key, value] of flyerChanges) flyers.set(key, value);
        for (const [key, value] of merchantChanges) merchants.set(key, value);
        await produce(kafka, catalog.itemsWithFlyer.leftTopic, facts(itemChanges));
        await produce(kafka, catalog.itemsWithFlyer.rightTopic, facts(flyerChanges));
        await produce(kafka, catalog.offers.rightTopic, facts(merchantChanges));
      }

      // Assess: the offers topic converges to the reference, key by key (a missing or deleted offer is null).
      const expected = new Map<string, Offer | null>();
      for (const [itemId, item] of items) {
        const flyer = item ? flyers.get(item.flyerId) : null;
        expected.set(itemId, item && flyer ? offerOf(item, flyer, merchants.get(flyer.merchantId) ?? null) : null);
      }
      const differences = () =>
        [...expected].filter(([itemId, offer]) => !isDeepStrictEqual(offers.latest.get(itemId) ?? null, offer)).map(([itemId]) => itemId);
      await eventually('every offer equals the reference', () => differences().length === 0, 120_000).catch((error: unknown) => {
        throw new Error(`${String(error)}; still different: ${differences().slice(0, 10).join(', ')}`);
      });
      expect([...expected.values()].filter((offer) => offer !== null).length).toBeGreaterThan(50);
      // Every offer keeps the Core Event's contract.
      const offerSchema = repositorySchemas().get('offers-value')!.latest.type;
      for (const offer of offers.latest.values()) if (offer !== null) expect(offerSchema.isValid(offer)).toBe(true);
    } finally {
      await offers.stop();
    }
  });

  it('dead-letters a record that does not match its topic schema with every validation error', async () => {
    await produce(kafka, catalog.itemsWithFlyer.leftTopic, [{ key: 'schema-poison', value: JSON.stringify({ itemId: 'schema-poison', flyerId: 7 }) }]);

    await eventually('the invalid item is dead-lettered', async () => (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).some((letter) => letter.key === 'schema-poison'));
    const letter = (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).find((candidate) => candidate.key === 'schema-poison');
    expect(letter?.headers[DEAD_LETTER_HEADERS.error]).toBe(
      'CodecError: value does not match schema items-value v1: flyerId: 7; name: "missing"; category: "missing"'.replace(/"missing"/g, 'missing'),
    );
  });

  it('dead-letters an item too large for the join state instead of retrying it forever, and the partition moves on', async () => {
    const huge: Item = { itemId: 'huge', flyerId: 'f-any', name: 'x'.repeat(200_000), category: 'pantry', description: null, imageUrl: null };
    const after: Item = { itemId: 'after-huge', flyerId: 'f-after', name: 'Small', category: 'pantry', description: null, imageUrl: null };
    const flyer: Flyer = { flyerId: 'f-after', merchantId: 'm-none', title: 'After', validFrom: 1, validUntil: 2 };
    const offers = await follow(kafka, catalog.offers.outputTopic);
    try {
      await produce(kafka, catalog.itemsWithFlyer.rightTopic, [{ key: flyer.flyerId, value: JSON.stringify(flyer) }]);
      await produce(kafka, catalog.itemsWithFlyer.leftTopic, [
        { key: huge.itemId, value: JSON.stringify(huge) },
        { key: after.itemId, value: JSON.stringify(after) },
      ]);

      await eventually('the huge item is dead-lettered', async () => (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).some((letter) => letter.key === 'huge'));
      const letter = (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).find((candidate) => candidate.key === 'huge');
      expect(letter?.headers[DEAD_LETTER_HEADERS.error]).toMatch(/InvalidJoinInputError: value of 200\d{3} bytes is larger than a join takes/);
      await eventually('the next item still makes its offer', () => isDeepStrictEqual(offers.latest.get('after-huge'), offerOf(after, flyer, null)), 60_000);
    } finally {
      await offers.stop();
    }
  });

  it('dead-letters a malformed record in each input topic with its reason, while the valid ones still arrive', async () => {
    const poison = { key: 'poison', value: '{"name": "unterminated' };
    const merchant: Merchant = { merchantId: 'm-ok', name: 'Still arrives', country: 'DE', website: null };
    const flyer: Flyer = { flyerId: 'f-ok', merchantId: 'm-ok', title: 'Deals', validFrom: 1, validUntil: 2 };
    const item: Item = { itemId: 'i-ok', flyerId: 'f-ok', name: 'Fine item', category: 'dairy', description: null, imageUrl: null };
    const offers = await follow(kafka, catalog.offers.outputTopic);
    try {
      await produce(kafka, catalog.offers.rightTopic, [poison, { key: merchant.merchantId, value: JSON.stringify(merchant) }]);
      await produce(kafka, catalog.itemsWithFlyer.rightTopic, [poison, { key: flyer.flyerId, value: JSON.stringify(flyer) }]);
      await produce(kafka, catalog.itemsWithFlyer.leftTopic, [poison, { key: item.itemId, value: JSON.stringify(item) }]);
      await produce(kafka, catalog.prices.inputTopic, [poison]);

      for (const [dlq, reason] of [
        [catalog.itemsWithFlyer.deadLetterTopic, /not valid JSON/],
        [catalog.offers.deadLetterTopic, /not valid JSON/],
        [catalog.prices.deadLetterTopic, /not valid JSON/],
      ] as const) {
        await eventually(`the poison record is in ${dlq}`, async () => (await allRecords(dlq)).some((letter) => letter.key === 'poison'));
        const letter = (await allRecords(dlq)).find((candidate) => candidate.key === 'poison');
        expect(letter?.headers[DEAD_LETTER_HEADERS.error]).toMatch(reason);
      }
      await eventually('the valid records still make their offer', () => isDeepStrictEqual(offers.latest.get('i-ok'), offerOf(item, flyer, merchant)), 60_000);
    } finally {
      await offers.stop();
    }
  });
});
