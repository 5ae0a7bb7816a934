import type { MskEvent } from '../../../shared/msk';
import { eventually, mappingFor, produce, singleConsumerPipeline, useTestServices } from '../../support/integration';

describe('EventSourceMapping: the event a handler receives (integration)', () => {
  const services = useTestServices('event-shape-test');

  it('matches the AWS MSK event field by field, with signed header bytes, an omitted null key and an omitted tombstone value', async () => {
    // Prepare
    const { pipeline, sourceTopic } = await singleConsumerPipeline(services.admin);
    const events: MskEvent[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      events.push(event);
    });
    await mapping.start();
    const producedAt = Date.now();

    // Act
    await produce(services.kafka, sourceTopic, [
      {
        key: 'item-1',
        value: '{"id":"item-1"}',
        timestamp: String(producedAt),
        headers: { source: 'monolith', raw: Buffer.from([0x00, 0x7f, 0x80, 0xff]) },
      },
      { key: null, value: 'no key' },
      { key: 'item-2', value: null },
    ]);
    await eventually('the three records were delivered', () => events.flatMap((event) => Object.values(event.records).flat()).length === 3);
    await mapping.stop();

    // Assess
    const event = events[0]!;
    expect(Object.keys(event).sort()).toEqual(['bootstrapServers', 'eventSource', 'eventSourceArn', 'records']);
    expect(event.eventSource).toBe('aws:kafka');
    expect(event.eventSourceArn).toMatch(/^arn:aws:kafka:[a-z0-9-]+:\d{12}:cluster\/[^/]+\/.+$/);
    expect(event.bootstrapServers).toBe(services.runtime.kafka.brokers.join(','));
    const records = events.flatMap((delivered) => delivered.records[`${sourceTopic}-0`] ?? []);
    expect([...new Set(events.flatMap((delivered) => Object.keys(delivered.records)))]).toEqual([`${sourceTopic}-0`]);

    const [withHeaders, withoutKey, tombstone] = records;
    expect(withHeaders).toEqual({
      topic: sourceTopic,
      partition: 0,
      offset: 0,
      timestamp: producedAt,
      timestampType: 'CREATE_TIME',
      key: Buffer.from('item-1').toString('base64'),
      value: Buffer.from('{"id":"item-1"}').toString('base64'),
      headers: [{ source: [109, 111, 110, 111, 108, 105, 116, 104] }, { raw: [0, 127, -128, -1] }],
    });
    expect(withoutKey).not.toHaveProperty('key');
    expect(withoutKey?.value).toBe(Buffer.from('no key').toString('base64'));
    expect(withoutKey?.offset).toBe(1);
    expect(tombstone).not.toHaveProperty('value');
    expect(tombstone?.key).toBe(Buffer.from('item-2').toString('base64'));
    expect(tombstone?.headers).toEqual([]);
    expect(typeof tombstone?.offset).toBe('number');
  });
});
