import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import {
  createHotStreamHandler,
  hotStateTableVariable,
  HotPathProcessor,
  HotStateStore,
  TimeBudgetExceededError,
  type HotDelta,
} from '../../shared/hot-path';
import { definePriceStream, defineStockStream, type PriceUpdate } from '../../example';
import { provisionTables, runPipeline } from '../../shared/local';
import { eventually, produce, readTopic, recordCount, uniqueName, useTestServices } from '../support/integration';
import {
  context,
  deployHotStream,
  eventOf,
  hotStreamTopics,
  pipelineWith,
  price,
  prices,
  processorWithFlakySink,
  tickEvent,
} from './hot-stream-harness';

describe('High-frequency path (integration)', () => {
  const services = useTestServices('hot-path-test');

  const deployed = (stream: Parameters<typeof deployHotStream>[1], options: Parameters<typeof deployHotStream>[2] = {}) =>
    deployHotStream(services, stream, options);

  it('applies only the newest update per key of a batch, and emits it once', async () => {
    const stream = prices(60_000);
    const { handler, stored, deltas } = await deployed(stream);

    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', price(3, 300)],
        ['item-1', price(5, 500)],
        ['item-1', price(4, 400)],
        ['item-2', price(1, 10)],
      ]),
      context,
    );

    expect(handler.totals).toMatchObject({ updates: 4, keysApplied: 2, stale: 0, emitted: 2 });
    expect((await stored('item-1'))?.value).toEqual(price(5, 500));
    const emitted = await deltas(2);
    expect(emitted.map((delta) => [delta.key, delta.version, delta.amountMinor]).sort()).toEqual([
      ['item-1', 5, 500],
      ['item-2', 1, 10],
    ]);
  });

  it('ignores an older version arriving after a newer one, and a redelivered batch changes nothing', async () => {
    const stream = prices(0);
    const { handler, stored } = await deployed(stream);
    const batch = eventOf(stream.inputTopic, [['item-1', price(7, 700)]]);
    await handler(batch, context);

    await handler(eventOf(stream.inputTopic, [['item-1', price(6, 600)]], 0, 1), context);
    await handler(batch, context);

    expect((await stored('item-1'))?.value).toEqual(price(7, 700));
    expect(handler.totals).toMatchObject({ keysApplied: 2, stale: 1, emitted: 1 });
  });

  it('decides a tie of version and timestamp by offset, whether or not the two land in one batch', async () => {
    const stream = prices(0);
    const { handler, stored } = await deployed(stream);

    await handler(eventOf(stream.inputTopic, [['item-1', price(5, 1_000)]], 0, 7), context);
    await handler(eventOf(stream.inputTopic, [['item-1', price(5, 1_200)]], 0, 8), context);

    expect((await stored('item-1'))?.value.amountMinor).toBe(1_200);
  });

  it('drops an update whose value equals the last one emitted', async () => {
    const stream = prices(0);
    const { handler, stored } = await deployed(stream);
    await handler(eventOf(stream.inputTopic, [['item-1', price(1, 250)]]), context);

    await handler(eventOf(stream.inputTopic, [['item-1', price(2, 250)]], 0, 1), context);

    expect(handler.totals).toMatchObject({ emitted: 1, unchanged: 1 });
    expect((await stored('item-1'))?.value.version).toBe(2);
    expect((await stored('item-1'))?.pendingPartition).toBeUndefined();
  });

  it('holds a change back within the interval and emits the final value when the partition is flushed', async () => {
    let now = 1_000_000;
    const stream = prices(10_000);
    const { handler, deltas } = await deployed(stream, { now: () => now });
    await handler(eventOf(stream.inputTopic, [['item-1', price(1, 100)]]), context);

    now += 1_000;
    await handler(eventOf(stream.inputTopic, [['item-1', price(2, 90)]], 0, 1), context);
    await handler(eventOf(stream.inputTopic, [['item-1', price(3, 80)]], 0, 2), context);
    expect(handler.totals.emitted).toBe(1);

    // A flush tick after the interval: no update, only the wake-up of the partition's consumer.
    now += 10_000;
    await handler(tickEvent(stream.inputTopic, 0, 3), context);

    expect(handler.totals.emitted).toBe(2);
    expect((await deltas(2)).map((delta) => [delta.version, delta.amountMinor])).toEqual([
      [1, 100],
      [3, 80],
    ]);
  });

  it('lets pass-through changes through at once: stock reaching zero does not wait for the interval', async () => {
    const stream = defineStockStream({ ...hotStreamTopics('stock'), minEmitIntervalMs: 3_600_000 });
    const { handler, deltas } = await deployed(stream);
    const stock = (version: number, quantity: number) => ({ version, sourceTimestamp: version, quantity, storeId: 's1' });
    await handler(eventOf(stream.inputTopic, [['item-1', stock(1, 5)]]), context);

    await handler(eventOf(stream.inputTopic, [['item-1', stock(2, 3)]], 0, 1), context);
    await handler(eventOf(stream.inputTopic, [['item-1', stock(3, 0)]], 0, 2), context);

    expect(handler.totals.emitted).toBe(2);
    expect((await deltas(2)).map((delta) => [delta.key, (delta as unknown as { quantity: number }).quantity])).toEqual([
      ['item-1@s1', 5],
      ['item-1@s1', 0],
    ]);
  });

  it('retries DynamoDB throttling and loses no update', async () => {
    // Prepare: a client whose first 5 requests are throttled, behind the SDK's own retry.
    const client = services.runtime.dynamoDbClient();
    let throttled = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        if (throttled < 5) {
          throttled += 1;
          throw new ProvisionedThroughputExceededException({ message: 'injected throttling', $metadata: {} });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'injectThrottling' },
    );
    const throttledDocuments = DynamoDBDocumentClient.from(client);
    const stream = prices(0);
    const { handler, stored } = await deployed(stream, { documents: throttledDocuments });

    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', price(1, 100)],
        ['item-2', price(1, 200)],
        ['item-3', price(1, 300)],
      ]),
      context,
    );

    expect(throttled).toBe(5);
    expect((await Promise.all(['item-1', 'item-2', 'item-3'].map(stored))).map((state) => state?.value.amountMinor)).toEqual([
      100, 200, 300,
    ]);
    expect(handler.totals.emitted).toBe(3);
    throttledDocuments.destroy();
  });

  it('fails a batch that runs out of time cleanly, and its retry completes it without losing the newest values', async () => {
    // Prepare: time runs out after two keys.
    const stream = prices(0);
    const { handler, stored } = await deployed(stream);
    let checks = 0;
    const shortOnTime = { getRemainingTimeInMillis: () => (checks++ < 2 ? 60_000 : 1_000) } as Context;
    const batch = eventOf(stream.inputTopic, [
      ['a', price(1, 1)],
      ['b', price(1, 2)],
      ['c', price(1, 3)],
      ['d', price(1, 4)],
      ['c', price(2, 33)],
    ]);

    // Act
    const first = handler(batch, shortOnTime);
    await expect(first).rejects.toBeInstanceOf(TimeBudgetExceededError);
    await expect(first).rejects.toMatchObject({ retriable: true });
    await handler(batch, context);

    // Assess
    expect((await Promise.all(['a', 'b', 'c', 'd'].map(stored))).map((state) => state?.value)).toEqual([
      price(1, 1),
      price(1, 2),
      price(2, 33),
      price(1, 4),
    ]);
  });

  it('also refreshes the full current value on a compacted entity topic with delta-and-entity verbosity', async () => {
    const topics = hotStreamTopics('prices');
    const entityTopic = `${topics.name}.current`;
    const stream = definePriceStream({ ...topics, minEmitIntervalMs: 0, verbosity: { mode: 'delta-and-entity', entityTopic } });
    const { handler, deltas } = await deployed(stream);

    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', price(1, 120)],
        ['item-2', price(4, 80)],
      ]),
      context,
    );

    const current = (await readTopic(services.kafka, entityTopic, 2)).map((record) => [
      record.key,
      (JSON.parse(record.value!) as PriceUpdate).amountMinor,
    ]);
    expect(current.sort()).toEqual([
      ['item-1', 120],
      ['item-2', 80],
    ]);
    expect(await deltas(2)).toHaveLength(2);
  });

  it('claims a due emission in the write that stores it, and publishes it again when the publish was lost', async () => {
    // Prepare: a processor whose sink fails once, after the key was emitted before (so the claim path is taken).
    let now = 1_000_000;
    const { processor, store, published, failNextPublish, partition } = await processorWithFlakySink(services, prices(1_000), {
      now: () => now,
    });
    await processor.processBatch([{ recordKey: 'item-1', offset: 0, partition: 0, update: price(1, 100) }], [partition]);
    now += 5_000;
    const writesBefore = store.usage.writeRequests;

    // Act: the due update is stored and claimed in one write, then its publish fails; the batch is redelivered.
    failNextPublish();
    const batch = [{ recordKey: 'item-1', offset: 1, partition: 0, update: price(2, 90) }];
    await expect(processor.processBatch(batch, [partition])).rejects.toThrow('broker unreachable');
    await processor.processBatch(batch, [partition]);

    // Assess
    expect(published.map((delta) => delta.update.version)).toEqual([1, 2]);
    expect((await store.get('item-1'))?.emittedValue).toEqual(price(2, 90));

    // …and on the happy path a due update costs one write: store and claim together.
    now += 5_000;
    const writesBeforeHappyPath = store.usage.writeRequests;
    await processor.processBatch([{ recordKey: 'item-1', offset: 2, partition: 0, update: price(3, 80) }], [partition]);
    expect(store.usage.writeRequests - writesBeforeHappyPath).toBe(1);
    expect(published.map((delta) => delta.update.version)).toEqual([1, 2, 3]);
    expect(writesBefore).toBeGreaterThan(0);
  });

  it('dead-letters an update that does not parse, with the reason', async () => {
    const stream = prices(0);
    const { handler } = await deployed(stream);

    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', { amountMinor: -1, currency: 'EUR', version: 1, sourceTimestamp: 1 }],
        ['item-2', price(1, 5)],
      ]),
      context,
    );

    const [letter] = await readTopic(services.kafka, stream.deadLetterTopic, 1);
    expect(letter?.key).toBe('item-1');
    expect(letter?.headers['x-dead-letter-error']).toMatch(/InvalidUpdateError: amountMinor must be a whole number/);
    expect(handler.totals.emitted).toBe(1);
  });

  it('runs through the event-source emulator with flush ticks: a key that went quiet still gets its final value out', async () => {
    // Prepare: a 3 s interval, far longer than the burst takes, and flush ticks every 200 ms.
    const stream = prices(3_000);
    const pipeline = pipelineWith(stream);
    const table = pipeline.hotStreams[0]!.table.name;
    const handler = createHotStreamHandler(stream, {
      env: { [hotStateTableVariable(stream.name)]: table, KAFKA_BROKERS: services.runtime.kafka.brokers.join(',') },
      documents: services.documents,
      kafka: services.kafka,
    });
    const running = await runPipeline(services.runtime, pipeline, { handlers: { [stream.name]: handler } });
    try {
      // Act: a burst for one key, then silence.
      for (let version = 1; version <= 5; version += 1) {
        await produce(services.kafka, stream.inputTopic, [{ key: 'item-9', value: JSON.stringify(price(version, 1_000 - version)) }]);
      }

      // Assess
      const store = new HotStateStore<PriceUpdate>(services.documents, table);
      await eventually('the final value is recorded as emitted', async () => (await store.get('item-9'))?.emittedValue?.version === 5);
      const emitted = (await readTopic(services.kafka, stream.outputTopic, await recordCount(services.kafka, stream.outputTopic))).map(
        (record) => JSON.parse(record.value!) as PriceUpdate,
      );
      expect(emitted.at(-1)).toMatchObject({ version: 5, amountMinor: 995 });
      // Rate-limited: fewer deltas than updates.
      expect(emitted.length).toBeLessThan(5);
    } finally {
      await running.stop();
    }
  });

  it('ends, for random skewed streams with random redeliveries, with the newest update stored and emitted per key', async () => {
    const stream = prices(5_000);
    const pipeline = pipelineWith(stream);
    await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
    const table = pipeline.hotStreams[0]!.table.name;
    const keyArbitrary = fc.oneof(
      { weight: 6, arbitrary: fc.constant('hot') },
      { weight: 3, arbitrary: fc.constantFrom('warm-1', 'warm-2') },
      { weight: 1, arbitrary: fc.constantFrom('c1', 'c2', 'c3', 'c4') },
    );

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: keyArbitrary, amountMinor: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ after: fc.nat(10), size: fc.integer({ min: 1, max: 8 }) }), { maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        async (updates, redeliveries, batchSizes) => {
          // Prepare: versions increase per key in production order; keys are unique to this run.
          const run = uniqueName('run');
          const versions = new Map<string, number>();
          const records = updates.map((update, offset) => {
            const version = (versions.get(update.key) ?? 0) + 1;
            versions.set(update.key, version);
            return { recordKey: `${run}-${update.key}`, offset, partition: 0, update: price(version, update.amountMinor) };
          });
          let now = 0;
          const emitted: HotDelta<PriceUpdate>[] = [];
          const processor = new HotPathProcessor(
            stream,
            new HotStateStore<PriceUpdate>(services.documents, table),
            { publish: async (deltas) => void emitted.push(...deltas) },
            { now: () => now },
          );

          // Act: batches of random sizes, with random re-deliveries of earlier ranges, time moving on.
          let position = 0;
          let batch = 0;
          while (position < records.length) {
            const size = batchSizes[batch % batchSizes.length]!;
            await processor.processBatch(records.slice(position, position + size), [`${stream.inputTopic}-0`]);
            const redelivery = redeliveries[batch];
            if (redelivery)
              await processor.processBatch(
                records.slice(Math.max(0, position - redelivery.after), position - redelivery.after + redelivery.size),
                [`${stream.inputTopic}-0`],
              );
            position += size;
            batch += 1;
            now += 1_000;
          }
          now += 10_000;
          await processor.processBatch([], [`${stream.inputTopic}-0`]);

          // Assess
          const store = new HotStateStore<PriceUpdate>(services.documents, table);
          for (const key of new Set(records.map((record) => record.recordKey))) {
            const newest = records.filter((record) => record.recordKey === key).at(-1)!.update;
            const lastEmitted = emitted.filter((delta) => delta.key === key).at(-1)?.update;
            expect((await store.get(key))?.value).toEqual(newest);
            expect(lastEmitted?.amountMinor).toBe(newest.amountMinor);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
