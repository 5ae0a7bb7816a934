import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { gzipSync } from 'node:zlib';
import { catalog } from '../../example';
import { EventSourceMapping } from '../../shared/local/event-source';
import type { MskEvent, MskHandler } from '../../shared/msk';
import {
  createHotStreamHandler,
  hotStateTableVariable,
  HotPathProcessor,
  HotStateStore,
  HotStateTableError,
  MAX_UPDATE_BYTES,
  TimeBudgetExceededError,
  type HotStream,
  type HotUpdateRecord,
  type RefusedUpdate,
} from '../../shared/hot-path';
import type { PriceUpdate } from '../../example';
import { encodeWireFormat } from '../../shared/schemas';
import { eventually, produce, recordCount, uniqueName, useTestServices } from '../support/integration';
import { context, deployHotStream, eventOf, noted, notedPrices, price, prices, switchableProxy } from './hot-stream-harness';

/** A context whose invocation has time for `keys` more keys, then runs short (the handler keeps a 10 s reserve). */
const timeFor = (keys: number) => {
  let checks = 0;
  return { getRemainingTimeInMillis: () => (checks++ < keys ? 60_000 : 1_000) } as Context;
};
const record = (recordKey: string, offset: number, update: PriceUpdate): HotUpdateRecord<PriceUpdate> => ({
  recordKey,
  offset,
  partition: 0,
  update,
});

describe('High-frequency path: a way out of a bad batch (integration)', () => {
  const services = useTestServices('hot-path-bad-batches-test');

  const deployed = (stream: HotStream<never> | ReturnType<typeof prices>, options: Parameters<typeof deployHotStream>[2] = {}) =>
    deployHotStream(services, stream as HotStream<never>, options);

  describe('what no retry can fix is dead-lettered with the reason, and the batch goes on', () => {
    it('dead-letters records the hot state could never store (an empty key, an oversized value) as it reads them, and applies the valid updates around them', async () => {
      // Prepare
      const stream = prices(0);
      const { handler, stored, letters } = await deployed(stream);
      const oversized = { ...price(1, 200), padding: 'x'.repeat(MAX_UPDATE_BYTES) };

      // Act
      const response = await handler(
        eventOf(stream.inputTopic, [
          ['item-1', price(1, 100)],
          ['', price(1, 150)],
          ['item-2', oversized],
          ['item-3', price(1, 300)],
        ]),
        context,
      );

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      const letter = await letters(2);
      expect(letter.get(1)?.headers).toMatchObject({
        'x-dead-letter-reason': 'InvalidRecord',
        'x-dead-letter-error': 'HotPathError: updates need a non-empty key: the item id',
      });
      expect(letter.get(2)?.headers['x-dead-letter-error']).toMatch(
        /^HotPathError: a value of 131\d{3} bytes is larger than a hot-stream update may be \(131072 bytes\)$/,
      );
      expect(letter.get(2)?.value).toBe(JSON.stringify(oversized));
      expect((await stored('item-1'))?.value).toEqual(price(1, 100));
      expect((await stored('item-3'))?.value).toEqual(price(1, 300));
      expect(handler.totals).toMatchObject({ updates: 2, keysApplied: 2, refused: 0 });
    });

    it("dead-letters an update DynamoDB refuses (a ValidationException) with DynamoDB's reason, and applies the valid updates around it", async () => {
      // Prepare: the processor on its own, given a key the handler would have refused as it read it.
      const stream = prices(0);
      const { tableName, stored } = await deployed(stream);
      const refused: RefusedUpdate<PriceUpdate>[] = [];
      const processor = new HotPathProcessor(
        stream,
        new HotStateStore<PriceUpdate>(services.documents, tableName),
        { publish: async () => undefined },
        {
          deadLetter: async (updates) => void refused.push(...updates),
        },
      );

      // Act
      const result = await processor.processBatch(
        [record('item-1', 0, price(1, 100)), record('', 1, price(1, 150)), record('item-2', 2, price(1, 200))],
        [`${stream.inputTopic}-0`],
      );

      // Assess
      expect(refused.map(({ record: { offset }, error }) => [offset, error.name, error.retriable])).toEqual([
        [1, 'UpdateRefusedError', false],
      ]);
      expect(refused[0]!.error.message).toMatch(
        /^the hot state refuses the update of key "": DynamoDB refused it: ValidationException: .*empty string/,
      );
      expect(result).toMatchObject({ keysApplied: 2, refused: 1 });
      expect((await stored('item-1'))?.value).toEqual(price(1, 100));
      expect((await stored('item-2'))?.value).toEqual(price(1, 200));
    });

    it("stores a key's newest update that can be stored when the newest one is refused, and dead-letters that one as it was on the broker", async () => {
      // Prepare: compressed values, so a small record can carry an update far too large to store.
      const stream = notedPrices();
      const { handler, stored, letters, deltas } = await deployed(stream as unknown as HotStream<never>);
      const tooLarge = gzipSync(JSON.stringify(noted(3, 90, 'x'.repeat(200_000))));

      // Act
      await handler(
        eventOf(stream.inputTopic, [
          ['item-1', gzipSync(JSON.stringify(noted(1, 100, 'first')))],
          ['item-1', gzipSync(JSON.stringify(noted(2, 95, 'second')))],
          ['item-1', tooLarge],
          ['item-2', gzipSync(JSON.stringify(noted(1, 50, 'other')))],
        ]),
        context,
      );

      // Assess
      expect(tooLarge.length).toBeLessThan(1_000);
      expect((await stored('item-1'))?.value).toEqual(noted(2, 95, 'second'));
      expect((await stored('item-2'))?.value).toEqual(noted(1, 50, 'other'));
      const letter = (await letters(1)).get(2);
      expect(letter?.headers['x-dead-letter-error']).toMatch(
        /^UpdateRefusedError: the hot state refuses the update of key "item-1": it is 200\d{3} bytes as stored, more than a hot-state item takes \(131072/,
      );
      expect(letter?.valueBytes).toEqual(tooLarge);
      expect((await deltas(2)).map((delta) => [delta.key, delta.version]).sort()).toEqual([
        ['item-1', 2],
        ['item-2', 1],
      ]);
      expect(handler.totals).toMatchObject({ keysApplied: 2, refused: 1 });
    });

    it('falls back, for a key held across batches, to the newest update before the refused one, read again from the topic', async () => {
      // Prepare: a write-behind window; the "topic" is a list the processor reads ranges of again.
      let now = 0;
      const stream = prices(1_000, 1_000);
      const { tableName, stored } = await deployed(stream);
      const store = new HotStateStore<PriceUpdate>(services.documents, tableName);
      const tooLarge = { ...price(3, 90), note: 'x'.repeat(200_000) } as PriceUpdate;
      const topic = [record('item-1', 0, price(1, 100)), record('item-1', 1, price(2, 95)), record('item-1', 2, tooLarge)];
      const refused: RefusedUpdate<PriceUpdate>[] = [];
      const processor = new HotPathProcessor(
        stream,
        store,
        { publish: async () => undefined },
        {
          now: () => now,
          readRange: async (range) => ({
            records: topic.filter(({ offset }) => offset >= range.fromOffset && offset <= range.toOffset),
            lostBefore: undefined,
          }),
          deadLetter: async (updates) => void refused.push(...updates),
        },
      );
      const partition = `${stream.inputTopic}-0`;

      // Act: two batches held back; the buffer keeps only the newest of the key, which the hot state refuses.
      await processor.processBatch(topic.slice(0, 2), [partition]);
      await processor.processBatch(topic.slice(2), [partition]);
      now += 1_000;
      await processor.processBatch([], [partition]);

      // Assess
      expect(refused.map(({ record: { offset } }) => offset)).toEqual([2]);
      expect((await stored('item-1'))?.value).toEqual(price(2, 95));
      expect(processor.bufferedKeys).toBe(0);
    });

    it('dead-letters an update written with a schema id the registry does not know (SCHEMA_NOT_FOUND) instead of retrying it, and applies the others', async () => {
      // Prepare: the catalog's Avro price updates, in the wire format.
      const name = uniqueName('avro-prices');
      const format = catalog.formats.get(catalog.prices.inputTopic)!;
      const stream = prices(0);
      const avroStream = {
        ...stream,
        name,
        inputTopic: `${name}.updates`,
        outputTopic: `${name}.deltas`,
        deadLetterTopic: `${name}.dlq`,
        formats: { ...stream.formats, input: format },
      };
      const { handler, stored, letters } = await deployed(avroStream);
      const valid = await format.encode(price(1, 100));

      // Act
      await handler(
        eventOf(avroStream.inputTopic, [
          ['unknown-schema', encodeWireFormat(999_999, valid.subarray(5))],
          ['item-1', valid],
        ]),
        context,
      );

      // Assess
      expect((await letters(1)).get(0)?.headers['x-dead-letter-error']).toMatch(
        /^UnreadableValueError: SCHEMA_NOT_FOUND: no schema with id 999999/,
      );
      expect((await stored('item-1'))?.value).toMatchObject({ version: 1, amountMinor: 100 });
    });
  });

  describe("what is not the record's fault fails the batch, to be retried, and nothing is dead-lettered", () => {
    it('retries a write DynamoDB cannot take now (DynamoDB unreachable) instead of dead-lettering it, and the partition moves on once DynamoDB is back', async () => {
      // Prepare: the handler reaches DynamoDB through a proxy that is closed: connections are refused.
      const stream = prices(0);
      const { pipeline, handlerIn, stored } = await deployed(stream);
      const proxy = await switchableProxy(services.runtime.dynamodb.endpoint);
      const unreachable = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: proxy.endpoint,
          region: services.runtime.awsRegion,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          maxAttempts: 1,
        }),
      );
      const mapping = new EventSourceMapping({
        consumer: pipeline.consumers[0]!,
        kafka: services.kafka,
        bootstrapServers: services.runtime.kafka.brokers,
        handler: handlerIn({ documents: unreachable }),
        retryDelayMs: () => 100,
      });
      await mapping.start();
      try {
        // Act: updates arrive while DynamoDB is away…
        await produce(
          services.kafka,
          stream.inputTopic,
          [1, 2, 3].map((n) => ({ key: `item-${n}`, value: JSON.stringify(price(1, n * 100)), partition: 0 })),
        );
        await eventually('invocations have failed and been retried', () => mapping.stats.failedInvocations >= 3);

        // Assess: retried, not dead-lettered, not committed.
        expect(mapping.stats.lastError).toMatch(/ECONNREFUSED/);
        expect(await recordCount(services.kafka, stream.deadLetterTopic)).toBe(0);
        expect(mapping.stats.partitions.get(0)?.committedOffset).toBeUndefined();

        // Act: …and come back.
        await proxy.open();
        await eventually('the partition is committed past every update', () => mapping.stats.partitions.get(0)?.committedOffset === 3);

        // Assess
        expect((await Promise.all(['item-1', 'item-2', 'item-3'].map(stored))).map((state) => state?.value.amountMinor)).toEqual([
          100, 200, 300,
        ]);
        expect(await recordCount(services.kafka, stream.deadLetterTopic)).toBe(0);
      } finally {
        await mapping.stop();
        await proxy.close();
        unreachable.destroy();
      }
    });

    it('fails the batch, dead-lettering nothing, when DynamoDB refuses every write because the table is not the one declared', async () => {
      // Prepare: a table with another key than the hot state's `pk`: DynamoDB answers every write with a ValidationException.
      const stream = prices(0);
      await deployed(stream);
      const wrongTable = uniqueName('wrong-key');
      const client = services.runtime.dynamoDbClient();
      await client.send(
        new CreateTableCommand({
          TableName: wrongTable,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      client.destroy();
      const handler = createHotStreamHandler(stream, {
        env: { [hotStateTableVariable(stream.name)]: wrongTable, KAFKA_BROKERS: services.runtime.kafka.brokers.join(',') },
        documents: services.documents,
        kafka: services.kafka,
      });

      // Act
      const handling = handler(
        eventOf(stream.inputTopic, [
          ['item-1', price(1, 100)],
          ['item-2', price(1, 200)],
        ]),
        context,
      );

      // Assess
      await expect(handling).rejects.toBeInstanceOf(HotStateTableError);
      await expect(handling).rejects.toMatchObject({
        retriable: true,
        message: expect.stringContaining('The provided key element does not match the schema'),
      });
      expect(await recordCount(services.kafka, stream.deadLetterTopic)).toBe(0);
    });
  });

  describe('partial batch responses: a failed batch is retried from its first record not done', () => {
    it('reports the first record of the first key not applied when a batch runs short of time, and the retry from there completes it', async () => {
      // Prepare: the mapping takes partial batch responses; time for two keys.
      const stream = prices(0);
      const { handler, stored } = await deployed(stream, { reportBatchItemFailures: true });
      const batch: Array<[string, PriceUpdate]> = [
        ['a', price(1, 1)],
        ['b', price(1, 2)],
        ['c', price(1, 3)],
        ['d', price(1, 4)],
        ['c', price(2, 33)],
      ];

      // Act
      const response = await handler(eventOf(stream.inputTopic, batch), timeFor(2));
      const storedBeforeRetry = await Promise.all(['a', 'b', 'c'].map(stored));
      await handler(eventOf(stream.inputTopic, batch.slice(2), 0, 2), context);

      // Assess: keys go in the order of their first record, so "c" (first at offset 2) is where the retry starts.
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: { partition: `${stream.inputTopic}-0`, offset: 2 } }] });
      expect(storedBeforeRetry.map((state) => state?.value)).toEqual([price(1, 1), price(1, 2), undefined]);
      expect((await Promise.all(['a', 'b', 'c', 'd'].map(stored))).map((state) => state?.value)).toEqual([
        price(1, 1),
        price(1, 2),
        price(2, 33),
        price(1, 4),
      ]);
    });

    it('fails the invocation instead when nothing was done, and never reports items unless the mapping takes them', async () => {
      // Prepare
      const stream = prices(0);
      const { handler, handlerIn } = await deployed(stream, { reportBatchItemFailures: true });
      const withoutPartialResponses = handlerIn({});
      const batch = eventOf(stream.inputTopic, [
        ['a', price(1, 1)],
        ['b', price(1, 2)],
        ['c', price(1, 3)],
      ]);

      // Act + Assess: no time for any key; time for one key, but the mapping would ignore a partial response.
      await expect(handler(batch, timeFor(0))).rejects.toBeInstanceOf(TimeBudgetExceededError);
      await expect(withoutPartialResponses(batch, timeFor(1))).rejects.toBeInstanceOf(TimeBudgetExceededError);
    });

    it('lets the event source commit what was done and redeliver only from the first record not done', async () => {
      // Prepare: the mapping as a hot stream's with partial batch responses; its first invocation has time for two keys.
      const stream = prices(0);
      const { pipeline, handler, stored } = await deployed(stream, { reportBatchItemFailures: true });
      const declared = pipeline.consumers[0]!;
      const delivered: number[][] = [];
      const firstShortOnTime: MskHandler = (event: MskEvent, invocationContext: Context) => {
        delivered.push(
          Object.values(event.records)
            .flat()
            .map(({ offset }) => offset),
        );
        return handler(event, delivered.length === 1 ? timeFor(2) : invocationContext);
      };
      const mapping = new EventSourceMapping({
        consumer: { ...declared, eventSource: { ...declared.eventSource, reportBatchItemFailures: true } },
        kafka: services.kafka,
        bootstrapServers: services.runtime.kafka.brokers,
        handler: firstShortOnTime,
        retryDelayMs: () => 50,
      });
      await mapping.start();
      try {
        // Act
        await produce(
          services.kafka,
          stream.inputTopic,
          ['a', 'b', 'c', 'd', 'e'].map((key, index) => ({ key, value: JSON.stringify(price(1, index + 1)), partition: 0 })),
        );
        await eventually('every update is committed', () => mapping.stats.partitions.get(0)?.committedOffset === 5);

        // Assess
        expect(delivered[0]).toEqual([0, 1, 2, 3, 4]);
        expect(delivered[1]?.[0]).toBe(2);
        expect(mapping.stats.failedInvocations).toBe(1);
        expect((await Promise.all(['a', 'b', 'c', 'd', 'e'].map(stored))).map((state) => state?.value.amountMinor)).toEqual([
          1, 2, 3, 4, 5,
        ]);
      } finally {
        await mapping.stop();
      }
    });
  });
});
