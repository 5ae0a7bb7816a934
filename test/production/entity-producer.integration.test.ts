import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orderedProducer, readPartitionRange } from '../../shared/kafka';
import { EntityProducer, InvalidEntityError, STANDARD_HEADERS } from '../../shared/production';
import { FileSchemaRegistry, loadSubjectSchemas, TopicSerde } from '../../shared/schemas';
import { parseTraceparent, TRACE_HEADERS } from '../../shared/tracing';
import { readTopic, uniqueName, useTestServices } from '../support/integration';

interface Merchant {
  readonly merchantId: string;
  readonly name: string;
  readonly country: string;
  readonly website: string | null;
}

describe('EntityProducer (integration)', () => {
  const services = useTestServices('entity-producer-test');
  const merchantSchema = loadSubjectSchemas(join(__dirname, '..', '..', 'schemas')).get('merchants-value')!.latest.schema;

  async function merchantsProducer(encoding: 'json' | 'avro' = 'avro') {
    const topic = uniqueName('merchants');
    await services.admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      waitForLeaders: true,
    });
    const producer = orderedProducer(services.kafka);
    await producer.connect();
    const serde = new TopicSerde(
      'merchants-value',
      merchantSchema,
      new FileSchemaRegistry(join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.json')),
    );
    const entities = new EntityProducer<Merchant>({
      producer,
      topic,
      serde,
      keyOf: (merchant) => merchant.merchantId,
      sourceSystem: 'monolith',
      encoding,
    });
    return { topic, serde, entities, close: () => producer.disconnect() };
  }

  it('publishes full-state facts keyed by entity id, in the wire format, with the standard headers, and tombstones for deletes', async () => {
    const { topic, serde, entities, close } = await merchantsProducer();
    try {
      await entities.publish([{ merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null }], {
        causationId: 'order-77',
        traceId: 'trace-1',
      });
      await entities.delete(['m-1']);

      const [fact, tombstone] = await readTopic(services.kafka, topic, 2);
      const {
        messages: [factBytes],
      } = await readPartitionRange(services.kafka, topic, 0, 0, 0);
      expect(fact?.key).toBe('m-1');
      expect(await serde.decode(factBytes!.value!)).toEqual({ merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null });
      expect(fact?.headers).toMatchObject({
        [STANDARD_HEADERS.sourceSystem]: 'monolith',
        [STANDARD_HEADERS.causationId]: 'order-77',
        [STANDARD_HEADERS.traceId]: 'trace-1',
        [STANDARD_HEADERS.schemaId]: '1',
      });
      expect(fact?.headers[STANDARD_HEADERS.eventId]).toMatch(/^[0-9a-f-]{36}$/);
      expect(tombstone).toMatchObject({ key: 'm-1', value: null });
    } finally {
      await close();
    }
  });

  it('publishes JSON checked against the schema on request (a topic without a schema), with the schema id in a header', async () => {
    const { topic, entities, close } = await merchantsProducer('json');
    try {
      await entities.publish([{ merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null }]);

      const [fact] = await readTopic(services.kafka, topic, 1);
      expect(JSON.parse(fact!.value!)).toEqual({ merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null });
      expect(fact?.headers[STANDARD_HEADERS.schemaId]).toBe('1');
    } finally {
      await close();
    }
  });

  it('refuses a call with an invalid entity, naming each problem, and publishes none of it', async () => {
    const { topic, entities, close } = await merchantsProducer();
    try {
      const publishing = entities.publish([
        { merchantId: 'm-1', name: 'Fine', country: 'DE', website: null },
        { merchantId: '', name: 'No id', country: 'DE', website: null },
        { merchantId: 'm-3', country: 'FR' } as unknown as Merchant,
        { merchantId: 'm-4', name: 'Typo', country: 'FR', website: null, webSite: 'https://typo.example' } as unknown as Merchant,
      ]);

      await expect(publishing).rejects.toBeInstanceOf(InvalidEntityError);
      await expect(publishing).rejects.toThrow(
        /#1: the entity id \(record key\) must be a non-empty string \| #2: name: undefined is not a valid string \| #3: webSite: not a field of the schema$/,
      );
      const offsets = await services.admin.fetchTopicOffsets(topic);
      expect(offsets.every((partition) => partition.high === '0')).toBe(true);
    } finally {
      await close();
    }
  });

  it("stamps every record with a W3C traceparent: a new trace per record, or the caller's context with its tracestate", async () => {
    const { topic, entities, close } = await merchantsProducer();
    const callerContext = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    try {
      await entities.publish([
        { merchantId: 'm-1', name: 'One', country: 'DE', website: null },
        { merchantId: 'm-2', name: 'Two', country: 'DE', website: null },
      ]);
      await entities.publish([{ merchantId: 'm-3', name: 'Three', country: 'FR', website: null }], {
        traceparent: callerContext,
        tracestate: 'shop=7',
      });
      await entities.delete(['m-4'], { traceparent: callerContext });
      await entities.publish([{ merchantId: 'm-5', name: 'Five', country: 'FR', website: null }], {
        traceparent: 'not-a-traceparent',
        tracestate: 'shop=7',
      });

      const records = new Map((await readTopic(services.kafka, topic, 5)).map((record) => [record.key, record.headers]));
      const [one, two] = [
        parseTraceparent(records.get('m-1')![TRACE_HEADERS.traceparent]),
        parseTraceparent(records.get('m-2')![TRACE_HEADERS.traceparent]),
      ];
      expect(one).toEqual({
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
        flags: 1,
      });
      expect(two?.traceId).not.toBe(one?.traceId);
      expect(records.get('m-3')).toMatchObject({ [TRACE_HEADERS.traceparent]: callerContext, [TRACE_HEADERS.tracestate]: 'shop=7' });
      expect(records.get('m-4')).toMatchObject({ [TRACE_HEADERS.traceparent]: callerContext });
      // An invalid context is not refused: the record starts a trace of its own, without the tracestate.
      expect(parseTraceparent(records.get('m-5')![TRACE_HEADERS.traceparent])?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(records.get('m-5')![TRACE_HEADERS.tracestate]).toBeUndefined();
    } finally {
      await close();
    }
  });
});
