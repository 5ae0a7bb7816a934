import { EventSourceError } from '../../../shared/local/event-source';
import { definePipeline } from '../../../shared/pipeline';
import {
  mappingFor,
  NOOP_HANDLER_ENTRY,
  produce,
  singleConsumerPipeline,
  uniqueName,
  eventually,
  committedOffsets,
  useTestServices,
} from '../../support/integration';

describe('Class: EventSourceMapping — lifecycle (integration)', () => {
  const services = useTestServices('lifecycle-test');

  it('refuses to start when its topic was never created, naming the topic', async () => {
    const topic = uniqueName('missing');
    const pipeline = definePipeline({
      name: uniqueName('lifecycle'),
      topics: [{ name: topic, kind: 'event' }],
      consumers: [{ name: 'c', handler: { entry: NOOP_HANDLER_ENTRY }, topic }],
    });
    const mapping = mappingFor(services, pipeline, async () => undefined);

    const starting = mapping.start();

    await expect(starting).rejects.toBeInstanceOf(EventSourceError);
    await expect(starting).rejects.toThrow(`needs topic(s) "${topic}"`);
  });

  it('resumes from the committed offset after a clean stop, re-delivering nothing that was handled', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin);
    const seen: number[] = [];
    const handler = async (event: { records: Record<string, readonly { offset: number }[]> }) => {
      seen.push(
        ...Object.values(event.records)
          .flat()
          .map((record) => record.offset),
      );
    };
    const first = mappingFor(services, pipeline, handler);
    await first.start();
    await produce(services.kafka, sourceTopic, [{ value: 'a' }, { value: 'b' }]);
    await eventually('the first two records are handled', () => seen.length === 2);
    await first.stop();

    // Act
    await produce(services.kafka, sourceTopic, [{ value: 'c' }]);
    const second = mappingFor(services, pipeline, handler);
    await second.start();
    try {
      await eventually('the third record is handled', () => seen.length >= 3);
      await eventually('its offset is committed', async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 3);
    } finally {
      await second.stop();
    }

    // Assess
    expect(seen).toEqual([0, 1, 2]);
  });

  it('starts from the end of the topic with startingPosition LATEST when the group has no commit', async () => {
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin, { eventSource: { startingPosition: 'LATEST' } });
    await produce(services.kafka, sourceTopic, [{ value: 'before' }]);
    const values: string[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      values.push(
        ...Object.values(event.records)
          .flat()
          .map((record) => Buffer.from(record.value ?? '', 'base64').toString()),
      );
    });
    await mapping.start();
    try {
      await produce(services.kafka, sourceTopic, [{ value: 'after' }]);
      await eventually('the new record is handled', () => values.length >= 1);
    } finally {
      await mapping.stop();
    }
    expect(values).toEqual(['after']);
  });

  it('shares partitions with a second instance of the same consumer, and takes them all over when it stops', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, { partitions: 4 });
    const handled: Array<{ by: string; partition: number; offset: number }> = [];
    const handlerFor = (by: string) => async (event: { records: Record<string, readonly { partition: number; offset: number }[]> }) => {
      for (const record of Object.values(event.records).flat()) handled.push({ by, partition: record.partition, offset: record.offset });
    };
    const first = mappingFor(services, pipeline, handlerFor('first'));
    const second = mappingFor(services, pipeline, handlerFor('second'));
    await first.start();
    await second.start();
    const messages = (from: number) =>
      Array.from({ length: 40 }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}`, partition: (from + i) % 4 }));

    try {
      // Act
      await produce(services.kafka, sourceTopic, messages(0));
      await eventually('the first 40 records are handled', () => new Set(handled.map((h) => `${h.partition}/${h.offset}`)).size === 40);
      await second.stop();
      await produce(services.kafka, sourceTopic, messages(40));
      await eventually('all 80 records are handled', () => new Set(handled.map((h) => `${h.partition}/${h.offset}`)).size === 80);
      await eventually('every partition is committed to its end', async () =>
        [...(await committedOffsets(services.admin, groupId, sourceTopic)).values()].every((offset) => offset === 20),
      );
    } finally {
      await first.stop();
      await second.stop();
    }

    // Assess: both instances worked while both ran; the survivor handled everything produced after.
    expect(new Set(handled.slice(0, 40).map((h) => h.by))).toEqual(new Set(['first', 'second']));
    const afterStop = handled.filter((h) => h.offset >= 10);
    expect(new Set(afterStop.map((h) => h.by))).toEqual(new Set(['first']));
  });

  it('pauses fetching a partition far ahead of its function and resumes it as the queue drains', async () => {
    // Prepare: 6 MB of records (a fetch brings at most 1 MB of a partition), batches of one record and a
    // slow start, so fetched records pile up past the high-water mark.
    const total = 3_000;
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, { eventSource: { batchSize: 1 } });
    for (let start = 0; start < total; start += 500) {
      await produce(
        services.kafka,
        sourceTopic,
        Array.from({ length: 500 }, (_, i) => ({ value: `v${start + i}:${'x'.repeat(2_000)}` })),
      );
    }
    let handled = 0;
    const mapping = mappingFor(services, pipeline, async () => {
      handled += 1;
      if (handled < 50) await new Promise((resolve) => setTimeout(resolve, 20));
    });
    let maxQueued = 0;

    // Act
    await mapping.start();
    try {
      await eventually(
        'every record is handled',
        () => {
          maxQueued = Math.max(maxQueued, mapping.stats.partitions.get(0)?.queued ?? 0);
          return handled >= total;
        },
        90_000,
      );
      await eventually(
        'the partition is committed to its end',
        async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === total,
      );
    } finally {
      await mapping.stop();
    }

    // Assess: the queue never held the whole backlog, yet everything arrived.
    expect(mapping.stats.backpressurePauses).toBeGreaterThanOrEqual(1);
    expect(maxQueued).toBeLessThan(total);
    expect(handled).toBe(total);
  });
});
