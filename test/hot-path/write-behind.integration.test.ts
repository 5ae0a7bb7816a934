import fc from 'fast-check';
import { defineStockStream, type PriceUpdate, type StockUpdate } from '../../example';
import { HotPathProcessor, HotStateStore, type BufferedRange, type HotDelta, type HotUpdateRecord } from '../../shared/hot-path';
import { provisionTables } from '../../shared/local';
import { produce, uniqueName, useTestServices } from '../support/integration';
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

describe('High-frequency path: coalescing across batches (integration)', () => {
  const services = useTestServices('write-behind-test');

  it('holds updates back for the window, then stores and emits each key once, whatever the number of batches', async () => {
    // Prepare
    let now = 1_000_000;
    const stream = prices(1_000, 1_000);
    const { handler, stored, deltas } = await deployHotStream(services, stream, { now: () => now });

    // Act: three batches inside one window…
    await handler(
      eventOf(
        stream.inputTopic,
        [
          ['item-1', price(1, 100)],
          ['item-2', price(1, 50)],
        ],
        0,
        0,
      ),
      context,
    );
    await handler(
      eventOf(
        stream.inputTopic,
        [
          ['item-1', price(2, 110)],
          ['item-1', price(3, 120)],
        ],
        0,
        2,
      ),
      context,
    );
    now += 500;
    await handler(eventOf(stream.inputTopic, [['item-1', price(4, 130)]], 0, 4), context);
    const writesInWindow = handler.store.usage.writeRequests;
    const storedInWindow = await stored('item-1');
    // …then the window ends and a flush tick arrives.
    now += 600;
    await handler(tickEvent(stream.inputTopic, 0, 5), context);

    // Assess: one write per batch (its offsets) while held; then one write per key, and the range released.
    expect(storedInWindow).toBeUndefined();
    expect(writesInWindow).toBe(3);
    expect(handler.store.usage.writeRequests - writesInWindow).toBe(2 + 1);
    expect((await stored('item-1'))?.value).toEqual(price(4, 130));
    expect(handler.totals).toMatchObject({ updates: 5, keysApplied: 2, emitted: 2 });
    expect((await deltas(2)).map((delta) => [delta.key, delta.version]).sort()).toEqual([
      ['item-1', 4],
      ['item-2', 1],
    ]);
  });

  it('does not hold back a change that may pass through: stock reaching zero is stored and emitted at once', async () => {
    // Prepare: a stock level already emitted, then a held-back change.
    let now = 1_000_000;
    const stream = defineStockStream({ ...hotStreamTopics('stock'), minEmitIntervalMs: 60_000, coalesceWindowMs: 60_000 });
    const { handler, stored, deltas } = await deployHotStream(services, stream, { now: () => now });
    const stock = (version: number, quantity: number): StockUpdate => ({ version, sourceTimestamp: version, quantity });
    await handler(eventOf(stream.inputTopic, [['item-1', stock(1, 5)]], 0, 0), context);
    now += 60_000;
    await handler(tickEvent(stream.inputTopic, 0, 1), context);

    // Act
    await handler(
      eventOf(
        stream.inputTopic,
        [
          ['item-1', stock(2, 3)],
          ['item-1', stock(3, 0)],
        ],
        0,
        2,
      ),
      context,
    );

    // Assess
    expect((await stored('item-1'))?.value).toEqual(stock(3, 0));
    expect((await deltas(2)).map((delta) => [delta.version, (delta as unknown as StockUpdate).quantity])).toEqual([
      [1, 5],
      [3, 0],
    ]);
    // The older change still held is dropped when the window ends: never emitted after the zero.
    now += 60_000;
    await handler(tickEvent(stream.inputTopic, 0, 4), context);
    expect(handler.totals.stale).toBe(1);
    expect(handler.totals.emitted).toBe(2);
  });

  it('replays from the input topic what an environment held and never stored, and that environment coming back changes nothing', async () => {
    // Prepare: updates on the real topic, consumed by environment A, which then goes away.
    let now = 1_000_000;
    const windowMs = 1_000;
    const stream = prices(windowMs, windowMs);
    const {
      handler: environmentA,
      handlerIn,
      stored,
      deltas,
    } = await deployHotStream(services, stream, {
      now: () => now,
      environmentId: 'environment-a',
    });
    const environmentB = handlerIn({ now: () => now, environmentId: 'environment-b' });
    const updates: Array<[string, PriceUpdate]> = [
      ['item-1', price(1, 100)],
      ['item-2', price(1, 70)],
      ['item-1', price(2, 90)],
      ['item-1', price(3, 80)],
    ];
    await produce(
      services.kafka,
      stream.inputTopic,
      updates.map(([key, value]) => ({ key, value: JSON.stringify(value), partition: 0 })),
    );
    await environmentA(eventOf(stream.inputTopic, updates, 0, 0), context);

    // Act: within the window nothing is replayed; three windows later the partition's next invocation (in B) replays.
    now += windowMs;
    await environmentB(tickEvent(stream.inputTopic, 0, 4), context);
    const replayedEarly = environmentB.totals.replayed;
    now += 2 * windowMs + 1;
    await environmentB(tickEvent(stream.inputTopic, 0, 5), context);
    await environmentB(tickEvent(stream.inputTopic, 0, 6), context);

    // Assess
    expect(replayedEarly).toBe(0);
    expect(environmentB.totals.replayed).toBe(4); // once: the range is released after it is stored
    expect((await stored('item-1'))?.value).toEqual(price(3, 80));
    expect((await stored('item-2'))?.value).toEqual(price(1, 70));
    expect((await deltas(2)).map((delta) => [delta.key, delta.version]).sort()).toEqual([
      ['item-1', 3],
      ['item-2', 1],
    ]);

    // A comes back for the partition: what it held is no newer than what is stored.
    now += windowMs;
    await environmentA(tickEvent(stream.inputTopic, 0, 7), context);
    expect((await stored('item-1'))?.value).toEqual(price(3, 80));
    const all = await deltas(environmentB.totals.emitted + environmentA.totals.emitted);
    expect(all.filter((delta) => delta.key === 'item-1').at(-1)?.version).toBe(3);
  });

  it('keeps held updates when publishing fails as they are stored, and publishes an equal newer value after a lost claim', async () => {
    // Prepare: a sink that fails its first non-empty publish.
    let now = 0;
    const { processor, store, published, failNextPublish, partition } = await processorWithFlakySink(services, prices(1_000, 1_000), {
      now: () => now,
      readRange: async () => ({ records: [], lostBefore: undefined }),
    });
    failNextPublish();

    // Act: v1 is claimed as the window ends, but its publish fails; then v2, with the same price, follows.
    await processor.processBatch([{ recordKey: 'item-1', offset: 0, partition: 0, update: price(1, 100) }], [partition]);
    now += 1_000;
    await expect(processor.processBatch([], [partition])).rejects.toThrow('broker unreachable');
    await processor.processBatch([{ recordKey: 'item-1', offset: 1, partition: 0, update: price(2, 100) }], [partition]);
    now += 1_000;
    await processor.processBatch([], [partition]);

    // Assess: the value got out, as the newest version.
    expect(published.map((delta) => [delta.key, delta.update.version, delta.update.amountMinor])).toEqual([['item-1', 2, 100]]);
    expect((await store.get('item-1'))?.value).toEqual(price(2, 100));
  });

  it('ends, for random streams spread over environments that come and go, with the newest update stored and emitted per key, never going back', async () => {
    const windowMs = 1_000;
    const stream = prices(windowMs, windowMs);
    const pipeline = pipelineWith(stream);
    await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
    const table = pipeline.hotStreams[0]!.table.name;
    const keyArbitrary = fc.oneof(
      { weight: 6, arbitrary: fc.constant('hot') },
      { weight: 3, arbitrary: fc.constantFrom('warm-1', 'warm-2') },
      { weight: 1, arbitrary: fc.constantFrom('c1', 'c2', 'c3') },
    );
    const partition = `${stream.inputTopic}-0`;

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: keyArbitrary, amountMinor: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 40 }),
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 8 }),
            environment: fc.nat(2),
            lose: fc.boolean(),
            elapsedMs: fc.integer({ min: 0, max: 1_500 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (updates, batches) => {
          // Prepare: the "topic" is the list of records; versions increase per key in production order.
          const run = uniqueName('run');
          const versions = new Map<string, number>();
          const topic: HotUpdateRecord<PriceUpdate>[] = updates.map((update, offset) => {
            const version = (versions.get(update.key) ?? 0) + 1;
            versions.set(update.key, version);
            return { recordKey: `${run}-${update.key}`, offset, partition: 0, update: price(version, update.amountMinor) };
          });
          let now = 0;
          const emitted: HotDelta<PriceUpdate>[] = [];
          const readRange = async (range: BufferedRange) => ({
            records: topic.filter((record) => record.offset >= range.fromOffset && record.offset <= range.toOffset),
            lostBefore: undefined,
          });
          let environmentCount = 0;
          const environment = () =>
            new HotPathProcessor(
              stream,
              new HotStateStore<PriceUpdate>(services.documents, table),
              { publish: async (deltas) => void emitted.push(...deltas) },
              {
                now: () => now,
                readRange,
                environmentId: `${run}-environment-${environmentCount++}`,
              },
            );
          const environments = [environment(), environment(), environment()];

          // Act: batches in order, each to some environment, which may be lost afterwards (replaced by a fresh one).
          let position = 0;
          for (let index = 0; position < topic.length; index += 1) {
            const batch = batches[index % batches.length]!;
            await environments[batch.environment]!.processBatch(topic.slice(position, position + batch.size), [partition]);
            if (batch.lose) environments[batch.environment] = environment();
            position += batch.size;
            now += batch.elapsedMs;
          }
          // Quiet: flush ticks in every environment, long after every window and replay delay, and again an
          // interval later (a key emitted by one environment's flush is due again only then).
          for (let round = 0; round < 2; round += 1) {
            now += 10 * windowMs;
            for (const survivor of environments) await survivor.processBatch([], [partition]);
          }

          // Assess
          const store = new HotStateStore<PriceUpdate>(services.documents, table);
          for (const key of new Set(topic.map((record) => record.recordKey))) {
            const newest = topic.filter((record) => record.recordKey === key).at(-1)!.update;
            const ofKey = emitted.filter((delta) => delta.key === key).map((delta) => delta.update);
            const emittedVersions = ofKey.map((update) => update.version);
            expect((await store.get(key))?.value).toEqual(newest);
            expect(ofKey.at(-1)?.amountMinor).toBe(newest.amountMinor);
            expect(emittedVersions).toEqual([...emittedVersions].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
    );
  });
});
