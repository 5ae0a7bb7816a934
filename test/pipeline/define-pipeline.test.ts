import { join } from 'node:path';
import {
  definePipeline,
  effectiveMaximumRetryAttempts,
  PipelineDeclarationError,
  type ConsumerDeclaration,
  type PipelineDeclaration,
  type TopicDeclaration,
} from '../../shared/pipeline';
import { problemsOf } from '../support/problems';
import { defineCdcMapping, MAX_CHANGE_EVENT_BYTES, type CdcSource } from '../../shared/cdc';

const HANDLER_ENTRY = join(__dirname, '..', 'fixtures', 'noop-handler.ts');

/** A valid declaration: an event topic read by one consumer, and a dead-letter topic. */
function declaration(consumer: Partial<ConsumerDeclaration> = {}, extra: Partial<PipelineDeclaration> = {}): PipelineDeclaration {
  return {
    name: 'catalog',
    topics: [
      { name: 'orders', kind: 'event', partitions: 3 },
      { name: 'orders.dlq', kind: 'dead-letter', partitions: 1 },
    ],
    consumers: [{ name: 'order-audit', handler: { entry: HANDLER_ENTRY }, topic: 'orders', ...consumer }],
    ...extra,
  };
}

/** The problems definePipeline reports, or fails the test when it accepts the declaration. */
const declarationProblems = (pipeline: PipelineDeclaration) => problemsOf(PipelineDeclarationError, () => definePipeline(pipeline));

describe('Function: definePipeline', () => {
  it('applies the AWS event source defaults when the consumer declares none', () => {
    // Act
    const pipeline = definePipeline(declaration());

    // Assess
    const consumer = pipeline.consumers[0]!;
    expect(consumer.eventSource).toEqual({
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      startingPosition: 'TRIM_HORIZON',
      startingPositionTimestampMs: undefined,
      consumerGroupId: 'catalog.order-audit',
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      onFailure: undefined,
    });
    expect(consumer.handler).toEqual({ entry: HANDLER_ENTRY, exportName: 'handler' });
    expect(consumer.timeoutSeconds).toBe(60);
    expect(consumer.memorySizeMb).toBe(512);
    expect(consumer.topic.name).toBe('orders');
  });

  it('keeps settings the consumer declares, including an explicit consumer group id', () => {
    // Act
    const pipeline = definePipeline(
      declaration({
        eventSource: { batchSize: 10, maximumBatchingWindowMs: 0, startingPosition: 'LATEST', consumerGroupId: 'legacy-group' },
      }),
    );

    // Assess
    const settings = pipeline.consumers[0]!.eventSource;
    expect(settings.batchSize).toBe(10);
    expect(settings.maximumBatchingWindowMs).toBe(0);
    expect(settings.startingPosition).toBe('LATEST');
    expect(settings.consumerGroupId).toBe('legacy-group');
  });

  it('compacts entity topics and keeps tombstones for a day, while event topics are deleted after seven days', () => {
    // Act
    const pipeline = definePipeline(
      declaration(
        { topic: 'merchants' },
        {
          topics: [
            { name: 'merchants', kind: 'entity' },
            { name: 'orders', kind: 'event' },
          ],
        },
      ),
    );

    // Assess
    const [entity, event] = pipeline.topics;
    expect(entity?.config).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '86400000' });
    expect(entity?.partitions).toBe(3);
    expect(entity?.replicationFactor).toBe(3);
    expect(event?.config).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': '604800000' });
  });

  it('resolves the topics a consumer produces, and refuses one that is not declared', () => {
    const pipeline = definePipeline(declaration({ produces: ['orders.dlq'] }));

    expect(pipeline.consumers[0]!.produces.map((topic) => topic.name)).toEqual(['orders.dlq']);
    expect(declarationProblems(declaration({ produces: ['order-totals'] }))).toEqual([
      'consumer "order-audit": produces topic "order-totals", which is not declared',
    ]);
  });

  it('gives a consumer that dead-letters records itself its topic: to produce, and by name in ORDER_AUDIT_DEAD_LETTER_TOPIC', () => {
    const consumer = definePipeline(declaration({ deadLetterTopic: 'orders.dlq' })).consumers[0]!;

    expect(consumer.deadLetterTopic?.name).toBe('orders.dlq');
    expect(consumer.produces.map((topic) => topic.name)).toEqual(['orders.dlq']);
    expect(consumer.environment).toMatchObject({ ORDER_AUDIT_DEAD_LETTER_TOPIC: 'orders.dlq' });
    expect(declarationProblems(declaration({ deadLetterTopic: 'orders' }))).toEqual([
      'consumer "order-audit": its dead-letter topic "orders" must be declared with kind "dead-letter"',
    ]);
    expect(declarationProblems(declaration({ deadLetterTopic: 'nowhere.dlq' }))).toEqual([
      'consumer "order-audit": dead-letters to topic "nowhere.dlq", which is not declared',
    ]);
  });

  it('returns a frozen pipeline so that no reader can change the topology', () => {
    // Act
    const pipeline = definePipeline(declaration());

    // Assess
    expect(Object.isFrozen(pipeline)).toBe(true);
    expect(Object.isFrozen(pipeline.consumers[0]!.eventSource)).toBe(true);
  });

  it('reports every problem of a declaration together in one PipelineDeclarationError', () => {
    // Prepare
    const invalid: PipelineDeclaration = {
      name: 'catalog',
      topics: [
        { name: 'orders', kind: 'event', partitions: 0 },
        { name: 'orders', kind: 'event' },
      ],
      consumers: [
        {
          name: 'order-audit',
          handler: { entry: 'relative/handler.ts' },
          topic: 'orders',
          timeoutSeconds: 900,
          eventSource: { batchSize: 20_000, maximumBatchingWindowMs: -1 },
        },
        { name: 'ghost', handler: { entry: HANDLER_ENTRY }, topic: 'missing-topic' },
      ],
    };

    // Act
    const act = () => definePipeline(invalid);

    // Assess
    expect(act).toThrow(PipelineDeclarationError);
    const problems = declarationProblems(invalid);
    const expected = [
      /topic "orders": partitions must be an integer from 1/,
      /topic "orders" is declared more than once/,
      /consumer "order-audit": handler.entry must be an absolute path/,
      /consumer "order-audit": timeoutSeconds must be an integer from 1 to 840/,
      /consumer "order-audit": batchSize must be an integer from 1 to 10000/,
      /consumer "order-audit": maximumBatchingWindowMs must be an integer from 0 to 300000/,
      /consumer "ghost": reads topic "missing-topic", which is not declared/,
    ];
    for (const pattern of expected) expect(problems).toContainEqual(expect.stringMatching(pattern));
    expect(problems).toHaveLength(expected.length);
    expect(act).toThrow(/Pipeline "catalog" is not valid/);
  });

  it('rejects a handler entry that does not exist', () => {
    // Act
    const problems = declarationProblems(declaration({ handler: { entry: join(__dirname, 'no-such-handler.ts') } }));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/handler.entry ".*no-such-handler.ts" does not exist/)]);
  });

  it('rejects finite retries without an on-failure destination, because records would be lost', () => {
    // Act
    const problems = declarationProblems(declaration({ eventSource: { maximumRetryAttempts: 2 } }));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/declare eventSource.onFailure/)]);
  });

  it('rejects a maximum record age without an on-failure destination', () => {
    // Act
    const problems = declarationProblems(declaration({ eventSource: { maximumRecordAgeSeconds: 60 } }));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/declare eventSource.onFailure/)]);
  });

  it('accepts finite retries with a dead-letter on-failure destination', () => {
    // Act
    const pipeline = definePipeline(
      declaration({ eventSource: { maximumRetryAttempts: 2, onFailure: { kind: 'kafka', topic: 'orders.dlq' } } }),
    );

    // Assess
    expect(pipeline.consumers[0]!.eventSource.onFailure).toEqual({ kind: 'kafka', topic: 'orders.dlq' });
    expect(effectiveMaximumRetryAttempts(pipeline.consumers[0]!.eventSource)).toBe(2);
  });

  it('rejects an on-failure topic that is the source topic', () => {
    // Act
    const problems = declarationProblems(declaration({ eventSource: { onFailure: { kind: 'kafka', topic: 'orders' } } }));

    // Assess
    expect(problems).toContainEqual(expect.stringMatching(/on-failure topic must differ from the source topic/));
  });

  it('rejects an on-failure topic that is not of kind dead-letter', () => {
    // Act
    const problems = declarationProblems(
      declaration(
        { eventSource: { onFailure: { kind: 'kafka', topic: 'orders.failed' } } },
        {
          topics: [
            { name: 'orders', kind: 'event' },
            { name: 'orders.failed', kind: 'event' },
          ],
        },
      ),
    );

    // Assess
    expect(problems).toEqual([expect.stringMatching(/on-failure topic "orders.failed" must be declared with kind "dead-letter"/)]);
  });

  it('rejects an on-failure topic that is not declared', () => {
    // Act
    const problems = declarationProblems(declaration({ eventSource: { onFailure: { kind: 'kafka', topic: 'nowhere.dlq' } } }));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/on-failure topic "nowhere.dlq" is not declared/)]);
  });

  it('rejects two consumers that share a consumer group id', () => {
    // Act
    const problems = declarationProblems(
      declaration(
        {},
        {
          consumers: [
            { name: 'a', handler: { entry: HANDLER_ENTRY }, topic: 'orders', eventSource: { consumerGroupId: 'shared' } },
            { name: 'b', handler: { entry: HANDLER_ENTRY }, topic: 'orders', eventSource: { consumerGroupId: 'shared' } },
          ],
        },
      ),
    );

    // Assess
    expect(problems).toEqual([expect.stringMatching(/consumer group id "shared" is declared more than once/)]);
  });

  it('derives each table environment variable from the table name and passes it to the consumers using the table', () => {
    // Act
    const pipeline = definePipeline(
      declaration(
        { tables: ['merchant-directory'], environment: { LOG_LEVEL: 'debug' } },
        { tables: [{ name: 'merchant-directory', partitionKey: { name: 'merchantId', type: 'S' } }] },
      ),
    );

    // Assess
    expect(pipeline.tables[0]?.environmentVariable).toBe('MERCHANT_DIRECTORY_TABLE_NAME');
    expect(pipeline.consumers[0]!.environment).toEqual({ LOG_LEVEL: 'debug', MERCHANT_DIRECTORY_TABLE_NAME: 'merchant-directory' });
    expect(pipeline.consumers[0]!.tables.map((table) => table.name)).toEqual(['merchant-directory']);
  });

  it('rejects an environment variable that a table binding sets', () => {
    const problems = declarationProblems(
      declaration(
        { tables: ['merchant-directory'], environment: { MERCHANT_DIRECTORY_TABLE_NAME: 'other' } },
        { tables: [{ name: 'merchant-directory', partitionKey: { name: 'merchantId', type: 'S' } }] },
      ),
    );

    expect(problems).toEqual([
      expect.stringMatching(/environment variable MERCHANT_DIRECTORY_TABLE_NAME is set by the binding of the table/),
    ]);
  });

  it('leaves the objects it was given unfrozen', () => {
    const onFailure = { kind: 'kafka', topic: 'orders.dlq' } as const;
    const partitionKey = { name: 'merchantId', type: 'S' } as const;

    definePipeline(
      declaration({ eventSource: { maximumRetryAttempts: 1, onFailure } }, { tables: [{ name: 'merchant-directory', partitionKey }] }),
    );

    expect(Object.isFrozen(onFailure)).toBe(false);
    expect(Object.isFrozen(partitionKey)).toBe(false);
  });

  it('rejects a consumer that uses an undeclared table', () => {
    // Act
    const problems = declarationProblems(declaration({ tables: ['nowhere'] }));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/uses table "nowhere", which is not declared/)]);
  });

  it('rejects two consumers that set one environment variable to different values, and accepts equal values', () => {
    // Prepare
    const consumers = (second: string): PipelineDeclaration =>
      declaration(
        {},
        {
          consumers: [
            { name: 'a', handler: { entry: HANDLER_ENTRY }, topic: 'orders', environment: { REGION_LABEL: 'eu' } },
            { name: 'b', handler: { entry: HANDLER_ENTRY }, topic: 'orders', environment: { REGION_LABEL: second } },
          ],
        },
      );

    // Act
    const problems = declarationProblems(consumers('us'));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/consumers "a" and "b" set environment variable REGION_LABEL to different values/)]);
    expect(() => definePipeline(consumers('eu'))).not.toThrow();
  });
});

describe('Function: effectiveMaximumRetryAttempts', () => {
  it('is 10 for infinite retries (-1) with an on-failure destination, as AWS caps it', () => {
    // Prepare
    const pipeline = definePipeline(declaration({ eventSource: { onFailure: { kind: 'kafka', topic: 'orders.dlq' } } }));

    // Act
    const settings = pipeline.consumers[0]!.eventSource;

    // Assess
    expect(settings.maximumRetryAttempts).toBe(-1);
    expect(effectiveMaximumRetryAttempts(settings)).toBe(10);
  });

  it('stays -1 (retry until success) without an on-failure destination', () => {
    // Act & Assess
    expect(effectiveMaximumRetryAttempts(definePipeline(declaration()).consumers[0]!.eventSource)).toBe(-1);
  });

  it('keeps an explicit 0, which means no retry at all', () => {
    // Prepare
    const pipeline = definePipeline(
      declaration({ eventSource: { maximumRetryAttempts: 0, onFailure: { kind: 'kafka', topic: 'orders.dlq' } } }),
    );

    // Act & Assess
    expect(effectiveMaximumRetryAttempts(pipeline.consumers[0]!.eventSource)).toBe(0);
  });
});

describe('Function: definePipeline, with change-data-capture mappings', () => {
  const merchants = (source: CdcSource = { name: 'monolith', database: 'shop' }, name = 'merchants-from-monolith') =>
    defineCdcMapping({
      name,
      source,
      table: 'public.merchants',
      entityTopic: 'merchants',
      deadLetterTopic: 'merchants.dlq',
      entityKey: (row) => String(row.merchant_id),
      toEntity: (row) => row,
    });
  const topics: TopicDeclaration[] = [
    { name: 'merchants', kind: 'entity', partitions: 3 },
    { name: 'merchants.dlq', kind: 'dead-letter', partitions: 1 },
  ];

  it('derives the change topic, the positions table and a consumer that retries until success', () => {
    const pipeline = definePipeline({ name: 'p', topics, cdcMappings: [{ mapping: merchants(), handler: { entry: HANDLER_ENTRY } }] });

    const [source] = pipeline.cdcSources;
    expect(source!.source).toEqual({ name: 'monolith', database: 'shop' });
    const [deployment] = source!.mappings;
    expect(deployment!.changeTopic).toMatchObject({
      name: 'monolith.public.merchants',
      kind: 'entity',
      partitions: 3,
      config: { 'cleanup.policy': 'compact', 'max.message.bytes': String(MAX_CHANGE_EVENT_BYTES) },
    });
    // A change the mapping refuses is dead-lettered whole, however wide its row.
    expect(pipeline.topics.find((topic) => topic.name === 'merchants.dlq')!.config['max.message.bytes']).toBe(
      String(MAX_CHANGE_EVENT_BYTES),
    );
    expect(deployment!.table).toMatchObject({
      name: 'merchants-from-monolith.cdc-positions',
      partitionKey: { name: 'entityKey', type: 'S' },
    });
    expect(deployment!.consumer.topic.name).toBe('monolith.public.merchants');
    expect(deployment!.consumer.produces.map((topic) => topic.name)).toEqual(['merchants', 'merchants.dlq']);
    expect(deployment!.consumer.eventSource.maximumRetryAttempts).toBe(-1);
    expect(deployment!.consumer.environment).toMatchObject({
      MERCHANTS_FROM_MONOLITH_CDC_POSITIONS_TABLE_NAME: 'merchants-from-monolith.cdc-positions',
    });
    expect(pipeline.topics.map((topic) => topic.name)).toContain('monolith.public.merchants');
  });

  it('refuses an entity topic that is not declared as an entity, and a table mapped twice from one source', () => {
    expect(
      declarationProblems({
        name: 'p',
        topics: [{ name: 'merchants', kind: 'event', partitions: 3 }, topics[1]!],
        cdcMappings: [
          { mapping: merchants(), handler: { entry: HANDLER_ENTRY } },
          { mapping: merchants(undefined, 'again'), handler: { entry: HANDLER_ENTRY } },
        ],
      }),
    ).toEqual(
      expect.arrayContaining([
        'CDC mapping "merchants-from-monolith": its entity topic "merchants" must be declared with kind "entity"',
        'CDC mapping "again": table public.merchants of source "monolith" is mapped twice',
      ]),
    );
  });

  it('refuses a dead-letter topic too small for the change events the mapping may refuse', () => {
    expect(
      declarationProblems({
        name: 'p',
        topics: [topics[0]!, { ...topics[1]!, maxMessageBytes: 1_048_576 }],
        cdcMappings: [{ mapping: merchants(), handler: { entry: HANDLER_ENTRY } }],
      }),
    ).toEqual([
      `CDC mapping "merchants-from-monolith": its dead-letter topic "merchants.dlq" takes records up to 1048576 bytes, less than a change event may take (${MAX_CHANGE_EVENT_BYTES}): leave maxMessageBytes out or raise it`,
    ]);
  });

  it('refuses one source declared twice with different databases or local schemas', () => {
    const orders = (source: Parameters<typeof merchants>[0]) =>
      defineCdcMapping({ ...merchants(source, 'orders-from-monolith'), table: 'public.orders' });

    expect(
      declarationProblems({
        name: 'p',
        topics,
        cdcMappings: [
          {
            mapping: merchants({ name: 'monolith', database: 'shop', localSchemaSql: 'CREATE TABLE merchants (id int)' }),
            handler: { entry: HANDLER_ENTRY },
          },
          { mapping: orders({ name: 'monolith', database: 'shop2' }), handler: { entry: HANDLER_ENTRY } },
        ],
      }),
    ).toEqual([
      'CDC mapping "orders-from-monolith": source "monolith" names database "shop2" here and "shop" elsewhere',
      'CDC mapping "orders-from-monolith": source "monolith" has another localSchemaSql here than elsewhere: declare the source once',
    ]);
  });
});
