import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Producer } from 'kafkajs';
import { defineCatalog, type Flyer, type Item, type Merchant } from '../../example';
import { createJoinHandlers, joinStateTableVariable } from '../../shared/fk-join';
import { orderedProducer } from '../../shared/kafka';
import { runPipeline, type RunningPipeline } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { EntityProducer } from '../../shared/production';
import { repositorySchemas, TopicSerde, writeValue } from '../../shared/schemas';
import { parseTraceparent, toXRayTraceId, TRACE_HEADERS } from '../../shared/tracing';
import { eventually, NOOP_HANDLER_ENTRY, produce, readAll, uniqueName, useTestServices, type ConsumedRecord } from '../support/integration';

describe('Trace context across the joins (integration)', () => {
  const services = useTestServices('trace-journey');
  let running: RunningPipeline;
  let producer: Producer;
  const catalog = defineCatalog(`${uniqueName('traced')}.`);

  beforeAll(async () => {
    const { runtime, kafka } = services;
    // The two joins to `offers` and their topics only: no hot streams.
    const joinTopics = new Set(
      [catalog.itemsWithFlyer, catalog.offers].flatMap((join) => [join.leftTopic, join.rightTopic, join.outputTopic, join.deadLetterTopic]),
    );
    const pipeline = definePipeline({
      name: uniqueName('traced'),
      topics: catalog.topics.filter((topic) => joinTopics.has(topic.name)),
      joins: [
        { join: catalog.itemsWithFlyer, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 100 } },
        { join: catalog.offers, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 100 } },
      ],
    });
    // The handlers functions/items-with-flyer and functions/offers export, made for this copy of the catalog.
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    const handlers = pipeline.joins.map(({ join, table }) =>
      createJoinHandlers(join, {
        env: { [joinStateTableVariable(join.name)]: table.name, KAFKA_BROKERS: runtime.kafka.brokers.join(',') },
        documents,
        kafka,
      }),
    );
    running = await runPipeline(runtime, pipeline, {
      retryDelayMs: () => 20,
      handlers: Object.fromEntries(
        pipeline.joins.flatMap(({ join }, index) => [
          [`${join.name}.left`, handlers[index]!.left],
          [`${join.name}.right`, handlers[index]!.right],
        ]),
      ),
    });
    producer = orderedProducer(kafka);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await running?.stop();
  });

  /** Every record of a topic with this key. */
  async function recordsOfKey(topic: string, key: string): Promise<ConsumedRecord[]> {
    return (await readAll(services.kafka, topic)).filter((record) => record.key === key);
  }

  it('follows one item update to its offer through both joins', async () => {
    // Prepare: a merchant and its flyer, produced without trace context (the joins start traces for them).
    const merchant: Merchant = { merchantId: 'm-traced', name: 'Traced Market', country: 'DE', website: null };
    const flyer: Flyer = { flyerId: 'f-traced', merchantId: merchant.merchantId, title: 'This week', validFrom: 1, validUntil: 2 };
    const item: Item = {
      itemId: 'i-traced',
      flyerId: flyer.flyerId,
      name: 'Oat milk',
      category: 'dairy',
      description: null,
      imageUrl: null,
    };
    const format = (topic: string) => catalog.formats.get(topic)!;
    await produce(services.kafka, catalog.offers.rightTopic, [
      { key: merchant.merchantId, value: await writeValue(format(catalog.offers.rightTopic), merchant) },
    ]);
    await produce(services.kafka, catalog.itemsWithFlyer.rightTopic, [
      { key: flyer.flyerId, value: await writeValue(format(catalog.itemsWithFlyer.rightTopic), flyer) },
    ]);
    const items = new EntityProducer<Item>({
      producer,
      topic: catalog.itemsWithFlyer.leftTopic,
      serde: new TopicSerde('items-value', repositorySchemas().get('items-value')!.latest.schema, services.runtime.schemaRegistry()),
      keyOf: (entity) => entity.itemId,
      sourceSystem: 'catalog-service',
    });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const inputSpan = '00f067aa0ba902b7';

    // Act: the item update, in the caller's trace.
    await items.publish([item], { traceparent: `00-${traceId}-${inputSpan}-01`, tracestate: 'catalog=edit-42' });

    // Assess: the input carries the caller's context ...
    const [input] = await recordsOfKey(catalog.itemsWithFlyer.leftTopic, item.itemId);
    expect(input?.headers[TRACE_HEADERS.traceparent]).toBe(`00-${traceId}-${inputSpan}-01`);
    await eventually('the offer arrives', async () => (await recordsOfKey(catalog.offers.outputTopic, item.itemId)).length > 0, 60_000);
    const [joined] = await recordsOfKey(catalog.itemsWithFlyer.outputTopic, item.itemId);
    const [offer] = await recordsOfKey(catalog.offers.outputTopic, item.itemId);

    // ... the items-with-flyer result continues it as a child of the input record's span ...
    const joinedTrace = parseTraceparent(joined!.headers[TRACE_HEADERS.traceparent], joined!.headers[TRACE_HEADERS.tracestate])!;
    expect(joinedTrace).toEqual({ traceId, parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1, traceState: 'catalog=edit-42' });
    expect(joinedTrace.parentId).not.toBe(inputSpan);
    expect(joined!.headers[TRACE_HEADERS.cause]).toBe(inputSpan);
    expect(joined!.headers['x-join-name']).toBe(catalog.itemsWithFlyer.name);
    expect(joined!.headers['x-join-position']).toMatch(/^\d+:\d+$/);

    // ... and the offer continues it as a child of the items-with-flyer result's span.
    const offerTrace = parseTraceparent(offer!.headers[TRACE_HEADERS.traceparent], offer!.headers[TRACE_HEADERS.tracestate])!;
    expect(offerTrace).toEqual({ traceId, parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1, traceState: 'catalog=edit-42' });
    expect([inputSpan, joinedTrace.parentId]).not.toContain(offerTrace.parentId);
    expect(offer!.headers[TRACE_HEADERS.cause]).toBe(joinedTrace.parentId);
    expect(offer!.headers['x-join-name']).toBe(catalog.offers.name);
    // In X-Ray, the invocations that handled it are annotated with the same trace in X-Ray's form.
    expect(toXRayTraceId(offerTrace.traceId)).toBe('1-4bf92f35-77b34da6a3ce929d0e0e4736');
  });

  it('gives the offers a merchant update fans out to children of that merchant record', async () => {
    // Prepare: two items on one flyer of one merchant, all without trace context, joined through to offers.
    const merchant: Merchant = { merchantId: 'm-fan', name: 'Fan Market', country: 'FR', website: null };
    const flyer: Flyer = { flyerId: 'f-fan', merchantId: merchant.merchantId, title: 'Deals', validFrom: 1, validUntil: 2 };
    const itemIds = ['i-fan-1', 'i-fan-2'];
    const format = (topic: string) => catalog.formats.get(topic)!;
    await produce(services.kafka, catalog.offers.rightTopic, [
      { key: merchant.merchantId, value: await writeValue(format(catalog.offers.rightTopic), merchant) },
    ]);
    await produce(services.kafka, catalog.itemsWithFlyer.rightTopic, [
      { key: flyer.flyerId, value: await writeValue(format(catalog.itemsWithFlyer.rightTopic), flyer) },
    ]);
    await produce(
      services.kafka,
      catalog.itemsWithFlyer.leftTopic,
      await Promise.all(
        itemIds.map(async (itemId) => ({
          key: itemId,
          value: await writeValue(format(catalog.itemsWithFlyer.leftTopic), {
            itemId,
            flyerId: flyer.flyerId,
            name: itemId,
            category: 'pantry',
            description: null,
            imageUrl: null,
          }),
        })),
      ),
    );
    await eventually(
      'both offers arrive',
      async () =>
        (await Promise.all(itemIds.map((itemId) => recordsOfKey(catalog.offers.outputTopic, itemId)))).every(
          (records) => records.length === 1,
        ),
      60_000,
    );
    const renameSpan = 'b7ad6b7169203331';

    // Act: the merchant renamed, in a trace of its own.
    await produce(services.kafka, catalog.offers.rightTopic, [
      {
        key: merchant.merchantId,
        value: await writeValue(format(catalog.offers.rightTopic), { ...merchant, name: 'Fan Market Renamed' }),
        headers: { traceparent: `00-0af7651916cd43dd8448eb211c80319c-${renameSpan}-01` },
      },
    ]);

    // Assess: each offer it re-emits is a child of the merchant record's span.
    await eventually(
      'both offers are re-emitted',
      async () =>
        (await Promise.all(itemIds.map((itemId) => recordsOfKey(catalog.offers.outputTopic, itemId)))).every(
          (records) => records.length === 2,
        ),
      60_000,
    );
    for (const itemId of itemIds) {
      const [, reemitted] = await recordsOfKey(catalog.offers.outputTopic, itemId);
      expect(parseTraceparent(reemitted!.headers[TRACE_HEADERS.traceparent])?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(reemitted!.headers[TRACE_HEADERS.cause]).toBe(renameSpan);
    }
  });

  it('keeps the trace context of a record the join dead-letters, so its letter is in the same trace', async () => {
    const traceparent = '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01';

    await produce(services.kafka, catalog.itemsWithFlyer.leftTopic, [
      { key: 'i-poison', value: '{"not": "the wire format"}', headers: { traceparent, tracestate: 'catalog=1' } },
    ]);

    await eventually(
      'the item is dead-lettered',
      async () => (await recordsOfKey(catalog.itemsWithFlyer.deadLetterTopic, 'i-poison')).length > 0,
    );
    const [letter] = await recordsOfKey(catalog.itemsWithFlyer.deadLetterTopic, 'i-poison');
    expect(letter!.headers).toMatchObject({
      [TRACE_HEADERS.traceparent]: traceparent,
      [TRACE_HEADERS.tracestate]: 'catalog=1',
      'x-dead-letter-reason': 'InvalidRecord',
    });
  });
});
