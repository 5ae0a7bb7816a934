import type { Admin, Kafka } from 'kafkajs';
import { EventSourceError } from '../../shared/event-source';
import type { LocalRuntime } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { connectToTestServices, mappingFor, NOOP_HANDLER_ENTRY, produce, singleConsumerPipeline, uniqueName, eventually, committedOffsets } from '../support/integration';

describe('Class: EventSourceMapping — lifecycle (integration)', () => {
  let runtime: LocalRuntime;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    runtime = await connectToTestServices();
    kafka = runtime.kafkaClient('lifecycle-test');
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('refuses to start when its topic was never created, naming the topic', async () => {
    const topic = uniqueName('missing');
    const pipeline = definePipeline({
      name: uniqueName('lifecycle'),
      topics: [{ name: topic, kind: 'event' }],
      consumers: [{ name: 'c', handler: { entry: NOOP_HANDLER_ENTRY }, topic }],
    });
    const mapping = mappingFor(runtime, kafka, pipeline, async () => undefined);

    const starting = mapping.start();

    await expect(starting).rejects.toBeInstanceOf(EventSourceError);
    await expect(starting).rejects.toThrow(`needs topic(s) "${topic}"`);
  });

  it('resumes from the committed offset after a clean stop, re-delivering nothing that was handled', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(admin);
    const seen: number[] = [];
    const handler = async (event: { records: Record<string, readonly { offset: number }[]> }) => {
      seen.push(...Object.values(event.records).flat().map((record) => record.offset));
    };
    const first = mappingFor(runtime, kafka, pipeline, handler);
    await first.start();
    await produce(kafka, sourceTopic, [{ value: 'a' }, { value: 'b' }]);
    await eventually('the first two records are handled', () => seen.length === 2);
    await first.stop();

    // Act
    await produce(kafka, sourceTopic, [{ value: 'c' }]);
    const second = mappingFor(runtime, kafka, pipeline, handler);
    await second.start();
    try {
      await eventually('the third record is handled', () => seen.length >= 3);
      await eventually('its offset is committed', async () => (await committedOffsets(admin, groupId, sourceTopic)).get(0) === 3);
    } finally {
      await second.stop();
    }

    // Assess
    expect(seen).toEqual([0, 1, 2]);
  });

  it('starts from the end of the topic with startingPosition LATEST when the group has no commit', async () => {
    const { pipeline, sourceTopic } = await singleConsumerPipeline(admin, { eventSource: { startingPosition: 'LATEST' } });
    await produce(kafka, sourceTopic, [{ value: 'before' }]);
    const values: string[] = [];
    const mapping = mappingFor(runtime, kafka, pipeline, async (event) => {
      values.push(...Object.values(event.records).flat().map((record) => Buffer.from(record.value ?? '', 'base64').toString()));
    });
    await mapping.start();
    try {
      await produce(kafka, sourceTopic, [{ value: 'after' }]);
      await eventually('the new record is handled', () => values.length >= 1);
    } finally {
      await mapping.stop();
    }
    expect(values).toEqual(['after']);
  });
});
