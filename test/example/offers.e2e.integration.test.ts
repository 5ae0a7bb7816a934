import { Type, type Schema } from 'avsc';
import type { Kafka } from 'kafkajs';
import { isDeepStrictEqual } from 'node:util';
import { defineCatalog, generateCatalog, offerOf, type Flyer, type Item, type Merchant, type Offer } from '../../example';
import { DEAD_LETTER_HEADERS } from '../../shared/dead-letter';
import { encodeWireFormat, readValue, repositorySchemas, type ValueFormat } from '../../shared/schemas';
import type { RunningPipeline } from '../../shared/local';
import { runCatalogPipeline } from '../support/catalog-pipeline';
import { eventually, factsFor, produce, readAll, uniqueName, useTestServices } from '../support/integration';
import { seededRandom } from '../support/seeded-random';

/** The newest value per key of a topic, decoded from its wire format, kept up to date as records arrive (null: deleted). */
async function follow(kafka: Kafka, topic: string, format: ValueFormat) {
  const latest = new Map<string, unknown>();
  const consumer = kafka.consumer({ groupId: uniqueName('follow'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  void consumer.run({
    eachMessage: async ({ message }) => {
      latest.set(message.key!.toString(), await readValue(format, message.value));
    },
  });
  return { latest, stop: () => consumer.disconnect() };
}

describe('The example domain end to end (integration)', () => {
  const services = useTestServices('catalog-e2e');
  let running: RunningPipeline;
  const catalog = defineCatalog(`${uniqueName('e2e')}.`);

  beforeAll(async () => {
    ({ running } = await runCatalogPipeline(services, catalog));
  });
  afterAll(() => running.stop());

  const facts = factsFor(catalog.formats);
  const followOffers = () => follow(services.kafka, catalog.offers.outputTopic, catalog.formats.get(catalog.offers.outputTopic)!);
  const allRecords = (topic: string) => readAll(services.kafka, topic);

  it('produces, for every item, the offer a reference computes from the seeded data, also after updates, foreign-key changes and deletes', async () => {
    // Prepare: a seeded catalog, then rounds of random changes to all three entities.
    const random = seededRandom(7);
    const data = generateCatalog({ merchants: 12, flyers: 40, items: 200 }, random);
    const merchants = new Map<string, Merchant | null>(data.merchants.map((merchant) => [merchant.merchantId, merchant]));
    const flyers = new Map<string, Flyer | null>(data.flyers.map((flyer) => [flyer.flyerId, flyer]));
    const items = new Map<string, Item | null>(data.items.map((item) => [item.itemId, item]));
    const offers = await followOffers();
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

    try {
      // Act
      await produce(services.kafka, catalog.offers.rightTopic, await facts(catalog.offers.rightTopic, merchants));
      await produce(services.kafka, catalog.itemsWithFlyer.rightTopic, await facts(catalog.itemsWithFlyer.rightTopic, flyers));
      await produce(services.kafka, catalog.itemsWithFlyer.leftTopic, await facts(catalog.itemsWithFlyer.leftTopic, items));
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
        await produce(services.kafka, catalog.itemsWithFlyer.leftTopic, await facts(catalog.itemsWithFlyer.leftTopic, itemChanges));
        await produce(services.kafka, catalog.itemsWithFlyer.rightTopic, await facts(catalog.itemsWithFlyer.rightTopic, flyerChanges));
        await produce(services.kafka, catalog.offers.rightTopic, await facts(catalog.offers.rightTopic, merchantChanges));
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

  it('turns price and stock updates into the slim price and stock Core Events, in their wire format', async () => {
    const price = { amountMinor: 199, currency: 'EUR', version: 3, sourceTimestamp: 1_767_225_600_000 };
    const stock = { quantity: 12, version: 5, sourceTimestamp: 1_767_225_600_000 };
    const priceDeltas = await follow(services.kafka, catalog.prices.outputTopic, catalog.formats.get(catalog.prices.outputTopic)!);
    const stockDeltas = await follow(services.kafka, catalog.stocks.outputTopic, catalog.formats.get(catalog.stocks.outputTopic)!);
    try {
      await produce(services.kafka, catalog.prices.inputTopic, await facts(catalog.prices.inputTopic, [['i-priced', price]]));
      await produce(services.kafka, catalog.stocks.inputTopic, await facts(catalog.stocks.inputTopic, [['i-stocked', stock]]));

      // Trailing edge: the first delta of a key comes when its coalescing window ends.
      await eventually('both deltas arrive', () => priceDeltas.latest.has('i-priced') && stockDeltas.latest.has('i-stocked'), 60_000);
      expect(priceDeltas.latest.get('i-priced')).toEqual({ key: 'i-priced', ...price, urgent: false, emittedAt: expect.any(Number) });
      expect(stockDeltas.latest.get('i-stocked')).toEqual({ key: 'i-stocked', ...stock, storeId: null, emittedAt: expect.any(Number) });
    } finally {
      await Promise.all([priceDeltas.stop(), stockDeltas.stop()]);
    }
  });

  it('dead-letters a record written with a schema its topic cannot read, or with an unknown schema id, with the reason', async () => {
    // A producer that registered its own idea of an item elsewhere: a flyerId that is a number, no name or category.
    const rogueSchema: Schema = {
      type: 'record',
      name: 'Item',
      namespace: 'platform.catalog',
      fields: [
        { name: 'itemId', type: 'string' },
        { name: 'flyerId', type: 'int' },
      ],
    };
    const rogueId = await services.runtime.schemaRegistry().register(uniqueName('rogue-value'), rogueSchema);
    const rogue = Type.forSchema(rogueSchema).toBuffer({ itemId: 'schema-poison', flyerId: 7 });
    await produce(services.kafka, catalog.itemsWithFlyer.leftTopic, [
      { key: 'schema-poison', value: encodeWireFormat(rogueId, rogue) },
      { key: 'unknown-schema', value: encodeWireFormat(999_999, rogue) },
    ]);

    const letters = async () =>
      new Map(
        (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).map((letter) => [letter.key, letter.headers[DEAD_LETTER_HEADERS.error]]),
      );
    await eventually('both items are dead-lettered', async () => {
      const keys = await letters();
      return keys.has('schema-poison') && keys.has('unknown-schema');
    });
    const errors = await letters();
    expect(errors.get('schema-poison')).toMatch(
      new RegExp(
        `^UnreadableValueError: DESERIALIZATION_ERROR: schema ${rogueId} cannot be read as the current ".*items-value" schema: cannot read "int" as "string"`,
      ),
    );
    expect(errors.get('unknown-schema')).toMatch(/^UnreadableValueError: SCHEMA_NOT_FOUND: no schema with id 999999/);
  });

  it('dead-letters an item too large for the join state instead of retrying it forever, and the partition moves on', async () => {
    const huge: Item = {
      itemId: 'huge',
      flyerId: 'f-any',
      name: 'x'.repeat(200_000),
      category: 'pantry',
      description: null,
      imageUrl: null,
    };
    const after: Item = { itemId: 'after-huge', flyerId: 'f-after', name: 'Small', category: 'pantry', description: null, imageUrl: null };
    const flyer: Flyer = { flyerId: 'f-after', merchantId: 'm-none', title: 'After', validFrom: 1, validUntil: 2 };
    const offers = await followOffers();
    try {
      await produce(
        services.kafka,
        catalog.itemsWithFlyer.rightTopic,
        await facts(catalog.itemsWithFlyer.rightTopic, [[flyer.flyerId, flyer]]),
      );
      await produce(
        services.kafka,
        catalog.itemsWithFlyer.leftTopic,
        await facts(catalog.itemsWithFlyer.leftTopic, [
          [huge.itemId, huge],
          [after.itemId, after],
        ]),
      );

      await eventually('the huge item is dead-lettered', async () =>
        (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).some((letter) => letter.key === 'huge'),
      );
      const letter = (await allRecords(catalog.itemsWithFlyer.deadLetterTopic)).find((candidate) => candidate.key === 'huge');
      expect(letter?.headers[DEAD_LETTER_HEADERS.error]).toMatch(
        /InvalidJoinInputError: value of 200\d{3} bytes is larger than a join takes/,
      );
      await eventually(
        'the next item still makes its offer',
        () => isDeepStrictEqual(offers.latest.get('after-huge'), offerOf(after, flyer, null)),
        60_000,
      );
    } finally {
      await offers.stop();
    }
  });

  it('dead-letters every kind of poison record in each input topic with its reason (malformed bytes, a foreign writer schema, an oversized value, an oversized key), while the valid ones still arrive', async () => {
    // Prepare: a writer schema another team registered for its own idea of these records.
    const rogueSchema: Schema = { type: 'record', name: 'Rogue', fields: [{ name: 'id', type: 'int' }] };
    const rogue = encodeWireFormat(
      await services.runtime.schemaRegistry().register(uniqueName('rogue-value'), rogueSchema),
      Type.forSchema(rogueSchema).toBuffer({ id: 1 }),
    );
    const huge = 'x'.repeat(300_000);
    const longKey = (label: string) => `${label}-${'k'.repeat(3_000)}`;
    const merchant: Merchant = { merchantId: 'm-ok', name: 'Still arrives', country: 'DE', website: null };
    const flyer: Flyer = { flyerId: 'f-ok', merchantId: 'm-ok', title: 'Deals', validFrom: 1, validUntil: 2 };
    const item: Item = { itemId: 'i-ok', flyerId: 'f-ok', name: 'Fine item', category: 'dairy', description: null, imageUrl: null };
    const price = { amountMinor: 99, currency: 'EUR', version: 1, sourceTimestamp: 1 };
    const stock = { quantity: 3, version: 1, sourceTimestamp: 1 };
    const inputs = [
      {
        label: 'items',
        topic: catalog.itemsWithFlyer.leftTopic,
        dlq: catalog.itemsWithFlyer.deadLetterTopic,
        valid: [item.itemId, item],
        oversized: { ...item, name: huge },
        tooLarge: /value of 300\d{3} bytes is larger than a join takes/,
      },
      {
        label: 'flyers',
        topic: catalog.itemsWithFlyer.rightTopic,
        dlq: catalog.itemsWithFlyer.deadLetterTopic,
        valid: [flyer.flyerId, flyer],
        oversized: { ...flyer, title: huge },
        tooLarge: /value of 300\d{3} bytes is larger than a join takes/,
      },
      {
        label: 'merchants',
        topic: catalog.offers.rightTopic,
        dlq: catalog.offers.deadLetterTopic,
        valid: [merchant.merchantId, merchant],
        oversized: { ...merchant, name: huge },
        tooLarge: /value of 300\d{3} bytes is larger than a join takes/,
      },
      {
        label: 'prices',
        topic: catalog.prices.inputTopic,
        dlq: catalog.prices.deadLetterTopic,
        valid: ['p-ok', price],
        oversized: { ...price, currency: huge },
        tooLarge: /currency must be an ISO 4217 code/,
      },
      {
        label: 'stocks',
        topic: catalog.stocks.inputTopic,
        dlq: catalog.stocks.deadLetterTopic,
        valid: ['s-ok', stock],
        oversized: { ...stock, storeId: huge },
        tooLarge: /state key of 300\d{3} bytes is longer than a hot stream takes/,
      },
    ] as const;
    const offers = await followOffers();
    const priceDeltas = await follow(services.kafka, catalog.prices.outputTopic, catalog.formats.get(catalog.prices.outputTopic)!);
    const stockDeltas = await follow(services.kafka, catalog.stocks.outputTopic, catalog.formats.get(catalog.stocks.outputTopic)!);
    try {
      // Act: in each topic, the four poisons, then a valid record.
      for (const input of inputs) {
        const [validKey, validValue] = input.valid;
        await produce(services.kafka, input.topic, [
          { key: `${input.label}-malformed`, value: '{"name": "unterminated' },
          { key: `${input.label}-rogue`, value: rogue },
          ...(await facts(input.topic, [[`${input.label}-oversized`, input.oversized as unknown]])),
          ...(await facts(input.topic, [[longKey(input.label), validValue as unknown]])),
          ...(await facts(input.topic, [[validKey, validValue as unknown]])),
        ]);
      }

      // Assess: each poison is in its consumer's dead-letter topic with its reason ...
      for (const input of inputs) {
        const expected = new Map<string, RegExp>([
          [`${input.label}-malformed`, /NOT_WIRE_FORMAT: first byte is 123, not the wire format's magic byte 0/],
          [`${input.label}-rogue`, /DESERIALIZATION_ERROR: schema \d+ cannot be read as the current ".*-value" schema/],
          [`${input.label}-oversized`, input.tooLarge],
          [longKey(input.label), /key of 3\d{3} bytes is longer than a (join|hot stream) takes/],
        ]);
        const letters = async () =>
          new Map((await allRecords(input.dlq)).map((letter) => [letter.key!, letter.headers[DEAD_LETTER_HEADERS.error] ?? '']));
        await eventually(`the ${input.label} poisons are in ${input.dlq}`, async () => {
          const arrived = await letters();
          return [...expected.keys()].every((key) => arrived.has(key));
        });
        const arrived = await letters();
        for (const [key, reason] of expected)
          expect([key.slice(0, 40), arrived.get(key)]).toEqual([key.slice(0, 40), expect.stringMatching(reason)]);
      }
      // ... and the valid records after them still arrive.
      await eventually(
        'the valid entities still make their offer',
        () => isDeepStrictEqual(offers.latest.get('i-ok'), offerOf(item, flyer, merchant)),
        60_000,
      );
      await eventually(
        'the valid price and stock still make their deltas',
        () => priceDeltas.latest.has('p-ok') && stockDeltas.latest.has('s-ok'),
        60_000,
      );
    } finally {
      await Promise.all([offers.stop(), priceDeltas.stop(), stockDeltas.stop()]);
    }
  });
});
