import type { Message, Producer } from 'kafkajs';
import { orderedProducer } from '../../../shared/kafka';
import type { MskEvent } from '../../../shared/msk';
import { delay } from '../../support/delay';
import {
  committedOffsets,
  decodedRecords,
  eventually,
  mappingFor,
  singleConsumerPipeline,
  useTestServices,
  whileRunning,
} from '../../support/integration';

const SIX_MB = 6 * 1024 * 1024;

describe('Class: EventSourceMapping — batching, ordering and commits (integration)', () => {
  const services = useTestServices('batching-test');
  let producer: Producer;
  /** Idempotent, so that a retried request cannot write a record twice and upset the exact counts below. */
  const produce = async (topic: string, messages: Message[]) => {
    await producer.send({ topic, acks: -1, messages });
  };

  beforeAll(async () => {
    producer = orderedProducer(services.kafka);
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  it('invokes with at most batchSize records, filling batches from waiting records, and delivers every record once in order', async () => {
    // Prepare
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin, { eventSource: { batchSize: 10 } });
    const events: MskEvent[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      events.push(event);
    });
    const delivered = () => events.flatMap(decodedRecords);

    // Act
    await whileRunning(mapping, async () => {
      await produce(
        sourceTopic,
        Array.from({ length: 35 }, (_, i) => ({ key: `key-${i}`, value: `record-${i}` })),
      );
      await eventually('35 records were delivered', () => delivered().length >= 35);
    });

    // Assess
    const sizes = events.map((event) => decodedRecords(event).length);
    expect(sizes.every((size) => size >= 1 && size <= 10)).toBe(true);
    // The 35 records are fetched together, so the worker fills each batch up to batchSize.
    expect(sizes).toEqual([10, 10, 10, 5]);
    expect(delivered().map((record) => record.offset)).toEqual(Array.from({ length: 35 }, (_, i) => i));
    expect(delivered().map((record) => record.value)).toEqual(Array.from({ length: 35 }, (_, i) => `record-${i}`));
  });

  it('gathers records that arrive within the batching window into one invocation', async () => {
    // Prepare
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin, {
      eventSource: { batchSize: 100, maximumBatchingWindowMs: 1_500 },
    });
    const events: MskEvent[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      events.push(event);
    });

    // Act
    await whileRunning(mapping, async () => {
      await produce(sourceTopic, [{ key: 'k', value: 'first' }]);
      // The first record is fetched on its own; the window keeps its batch open for the next ones.
      await eventually('the first record was fetched', () => mapping.stats.recordsFetched >= 1);
      for (const value of ['second', 'third', 'fourth', 'fifth']) {
        await produce(sourceTopic, [{ key: 'k', value }]);
      }
      await eventually('5 records were delivered', () => events.flatMap(decodedRecords).length >= 5);
    });

    // Assess
    expect(events).toHaveLength(1);
    expect(decodedRecords(events[0]!).map((record) => record.value)).toEqual(['first', 'second', 'third', 'fourth', 'fifth']);
    expect(mapping.stats.invocations).toBe(1);
  });

  it('keeps every invocation payload within 6 MB, splitting large records across invocations in order', async () => {
    // Prepare
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin, {
      eventSource: { batchSize: 100, maximumBatchingWindowMs: 2_000 },
    });
    const recordCount = 8;
    const valueBytes = 900 * 1024;
    const events: MskEvent[] = [];
    const payloadBytes: number[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      events.push(event);
      payloadBytes.push(Buffer.byteLength(JSON.stringify(event)));
    });
    const largeValue = (i: number) => Buffer.alloc(valueBytes, String.fromCharCode(97 + i));

    // Act
    await whileRunning(mapping, async () => {
      // One record per request: each must fit the broker's ~1 MB message limit.
      for (let i = 0; i < recordCount; i++) await produce(sourceTopic, [{ key: `big-${i}`, value: largeValue(i) }]);
      await eventually('8 large records were delivered', () => events.flatMap(decodedRecords).length >= recordCount);
    });

    // Assess
    expect(payloadBytes.every((bytes) => bytes <= SIX_MB)).toBe(true);
    // ~9.8 MB of base64 cannot travel in one invocation, but several records share one.
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.some((event) => decodedRecords(event).length > 1)).toBe(true);
    const delivered = events.flatMap(decodedRecords);
    expect(delivered.map((record) => record.offset)).toEqual(Array.from({ length: recordCount }, (_, i) => i));
    delivered.forEach((record, i) => {
      expect(record.key).toBe(`big-${i}`);
      expect(record.value).toBe(largeValue(i).toString());
    });
  });

  it('keeps one in-flight batch and increasing offsets per partition while different partitions run concurrently', async () => {
    // Prepare
    const partitions = 3;
    const perPartition = 20;
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin, { partitions, eventSource: { batchSize: 5 } });
    const inFlight = new Map<number, number>();
    let maxInFlightInOnePartition = 0;
    let maxPartitionsInFlight = 0;
    let invocationsStarted = 0;
    const deliveredByPartition = new Map<number, { offset: number; key: string | null; value: string | null }[]>();
    const mapping = mappingFor(services, pipeline, async (event) => {
      const records = decodedRecords(event);
      const touched = [...new Set(records.map((record) => record.partition))];
      invocationsStarted += 1;
      for (const partition of touched) {
        const count = (inFlight.get(partition) ?? 0) + 1;
        inFlight.set(partition, count);
        maxInFlightInOnePartition = Math.max(maxInFlightInOnePartition, count);
      }
      maxPartitionsInFlight = Math.max(maxPartitionsInFlight, [...inFlight.values()].filter((count) => count > 0).length);
      // Hold the invocation open so that overlapping ones can be seen.
      await delay(60);
      for (const record of records) {
        const list = deliveredByPartition.get(record.partition) ?? [];
        list.push({ offset: record.offset, key: record.key, value: record.value });
        deliveredByPartition.set(record.partition, list);
      }
      for (const partition of touched) inFlight.set(partition, (inFlight.get(partition) ?? 1) - 1);
    });
    // Six keys, each always written to the same partition, with a per-key sequence number.
    const messages = Array.from({ length: partitions * perPartition }, (_, i) => ({
      key: `key-${i % 6}`,
      value: `key-${i % 6}#${Math.floor(i / 6)}`,
      partition: i % partitions,
    }));
    const total = () => [...deliveredByPartition.values()].reduce((sum, list) => sum + list.length, 0);

    // Act
    await whileRunning(mapping, async () => {
      // Four rounds of one batch per partition; later rounds arrive while earlier batches run.
      const perRound = partitions * 5;
      const rounds = Array.from({ length: messages.length / perRound }, (_, round) =>
        messages.slice(round * perRound, (round + 1) * perRound),
      );
      await produce(sourceTopic, rounds[0]!);
      await eventually('the first invocation started', () => invocationsStarted >= 1);
      for (const round of rounds.slice(1)) await produce(sourceTopic, round);
      await eventually(`${messages.length} records were delivered`, () => total() >= messages.length);
    });

    // Assess
    expect(maxInFlightInOnePartition).toBe(1);
    expect(maxPartitionsInFlight).toBeGreaterThanOrEqual(2);
    expect([...deliveredByPartition.keys()].sort()).toEqual([0, 1, 2]);
    for (const [partition, delivered] of deliveredByPartition) {
      expect(delivered.map((record) => record.offset)).toEqual(Array.from({ length: perPartition }, (_, i) => i));
      const expected = messages.filter((message) => message.partition === partition).map((message) => message.value);
      expect(delivered.map((record) => record.value)).toEqual(expected);
    }
  });

  it('commits a batch only after its handler succeeds, to the offset after its last record', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin);
    const held: { offsets: number[]; release: () => void }[] = [];
    let holdInvocations = false;
    const mapping = mappingFor(services, pipeline, async (event) => {
      const offsets = decodedRecords(event).map((record) => record.offset);
      if (holdInvocations) await new Promise<void>((release) => held.push({ offsets, release }));
    });
    const committed = async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0);
    const records = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: `key-${from + i}`, value: `record-${from + i}` }));

    // Act & Assess
    await mapping.start();
    try {
      await produce(sourceTopic, records(0, 3));
      await eventually('the first batch (offsets 0–2) was committed', async () => (await committed()) === 3);

      holdInvocations = true;
      await produce(sourceTopic, records(3, 4));
      await eventually('the handler is running the second batch', () => held.length === 1);
      expect(held[0]!.offsets).toEqual([3, 4, 5, 6]);
      await produce(sourceTopic, records(7, 2));
      await eventually('the records behind the running batch were fetched', () => mapping.stats.recordsFetched >= 9);
      expect(await committed()).toBe(3);

      held[0]!.release();
      await eventually('the handler is running the third batch', () => held.length === 2);
      expect(held[1]!.offsets).toEqual([7, 8]);
      await eventually('the second batch (offsets 3–6) was committed', async () => (await committed()) === 7);
      expect(await committed()).toBe(7);

      held[1]!.release();
      await eventually('the third batch (offsets 7–8) was committed', async () => (await committed()) === 9);
    } finally {
      holdInvocations = false;
      for (const invocation of held) invocation.release();
      await mapping.stop();
    }
  });

  it('commits past the commit markers of records written in transactions, and past an aborted transaction, so the lag of a transactional topic reaches 0', async () => {
    // Prepare: a transactional producer, as Kafka Connect's exactly-once source tasks are; each commit writes a marker record.
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin);
    const delivered: string[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      delivered.push(...decodedRecords(event).map((record) => record.value ?? ''));
    });
    const transactional = services.kafka.producer({ transactionalId: `${sourceTopic}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const writeInTransaction = async (values: string[]) => {
      const transaction = await transactional.transaction();
      await transaction.send({ topic: sourceTopic, messages: values.map((value) => ({ key: value, value })) });
      await transaction.commit();
    };

    // Act
    try {
      await whileRunning(mapping, async () => {
        await writeInTransaction(['a', 'b']);
        await writeInTransaction(['c']);
        await eventually('3 records were delivered', () => delivered.length >= 3);
        // Assess: two transactions of 2 and 1 records and their 2 markers end at offset 5; the commit gets there.
        const [end] = await services.admin.fetchTopicOffsets(sourceTopic);
        expect(Number(end!.high)).toBe(5);
        await eventually(
          'the commit passed the last marker',
          async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 5,
        );

        // A transaction aborted: its record and its abort marker are fetched with nothing to deliver (kafkajs
        // reports such a fetch only as an event), and the commit must still move past them.
        const aborted = await transactional.transaction();
        await aborted.send({ topic: sourceTopic, messages: [{ key: 'never', value: 'never' }] });
        await aborted.abort();
        await eventually(
          'the commit passed the aborted transaction',
          async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 7,
        );
      });
    } finally {
      await transactional.disconnect();
    }
    expect(delivered).toEqual(['a', 'b', 'c']);
  });
});
