import { join as joinPath } from 'node:path';
import { defineJoin, JoinDeclarationError, joinStateTableVariable } from '../../shared/fk-join';
import { UnreadableValueError } from '../../shared/schemas';
import { isAfter, joinOutput } from '../../shared/fk-join/join-result';
import { definePipeline, PipelineDeclarationError } from '../../shared/pipeline';

const HANDLER_ENTRY = joinPath(__dirname, '..', 'fixtures', 'noop-handler.ts');

const declaration = {
  name: 'items-with-flyer',
  type: 'left' as const,
  leftTopic: 'items',
  rightTopic: 'flyers',
  outputTopic: 'items-with-flyer',
  deadLetterTopic: 'items-with-flyer.dlq',
  foreignKey: (item: { flyerId: string | null }) => item.flyerId,
  joiner: (item: { flyerId: string | null }, flyer: { title: string } | null) => ({ ...item, flyer }),
};

describe('Function: defineJoin', () => {
  it('reads and writes JSON on all three topics by default', async () => {
    const join = defineJoin(declaration);

    await expect(join.formats.left.decode(Buffer.from('{"flyerId":"f1"}'))).resolves.toEqual({ flyerId: 'f1' });
    expect((await join.formats.output.encode({ flyerId: 'f1', flyer: null })).toString()).toBe('{"flyerId":"f1","flyer":null}');
  });

  it('refuses a left value that is not JSON as unreadable, quoting its start, so the join dead-letters it', async () => {
    const join = defineJoin(declaration);

    await expect(join.formats.left.decode(Buffer.from('{"broken'))).rejects.toThrow(UnreadableValueError);
    await expect(join.formats.left.decode(Buffer.from('{"broken'))).rejects.toThrow(/value is not valid JSON .*: \{"broken/);
  });

  it.each([
    [{ name: 'bad name!' }, /join name "bad name!"/],
    [{ type: 'outer' }, /type must be "inner" or "left"/],
    [{ outputTopic: 'items' }, /four different topics/],
  ])('rejects %j', (override, message) => {
    expect(() => defineJoin({ ...declaration, ...override } as typeof declaration)).toThrow(JoinDeclarationError);
    expect(() => defineJoin({ ...declaration, ...override } as typeof declaration)).toThrow(message);
  });

  it('names the state table variable after the join', () => {
    expect(joinStateTableVariable('items-with-flyer')).toBe('ITEMS_WITH_FLYER_JOIN_STATE_TABLE_NAME');
  });
});

describe('Function: joinOutput', () => {
  const left = defineJoin(declaration);
  const inner = defineJoin({ ...declaration, type: 'inner' });
  const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('is a tombstone when the left row is deleted, for both join types', () => {
    expect(joinOutput(left, null, bytes({ title: 't' }))).toBeNull();
    expect(joinOutput(inner, null, bytes({ title: 't' }))).toBeNull();
  });

  it('is joiner(left, null) in a left join and a tombstone in an inner join when there is no right row', () => {
    expect(joinOutput(left, bytes({ flyerId: 'f1' }), null)).toEqual({ flyerId: 'f1', flyer: null });
    expect(joinOutput(inner, bytes({ flyerId: 'f1' }), null)).toBeNull();
  });

  it('is joiner(left, right) when both rows exist', () => {
    expect(joinOutput(inner, bytes({ flyerId: 'f1' }), bytes({ title: 't' }))).toEqual({
      flyerId: 'f1',
      flyer: { title: 't' },
    });
  });
});

describe('Function: isAfter', () => {
  it('orders by left offset first, then by right offset for the same left record', () => {
    expect(isAfter({ leftOffset: 2, rightOffset: -1 }, { leftOffset: 1, rightOffset: 90 })).toBe(true);
    expect(isAfter({ leftOffset: 1, rightOffset: 5 }, { leftOffset: 1, rightOffset: 4 })).toBe(true);
    expect(isAfter({ leftOffset: 1, rightOffset: 4 }, { leftOffset: 1, rightOffset: 4 })).toBe(false);
    expect(isAfter({ leftOffset: 1, rightOffset: 9 }, { leftOffset: 2, rightOffset: 0 })).toBe(false);
    expect(isAfter({ leftOffset: 0, rightOffset: -1 }, undefined)).toBe(true);
  });
});

describe('Function: definePipeline with joins', () => {
  const topics = [
    { name: 'items', kind: 'entity' as const },
    { name: 'flyers', kind: 'entity' as const },
    { name: 'items-with-flyer', kind: 'entity' as const },
    { name: 'items-with-flyer.dlq', kind: 'dead-letter' as const },
  ];

  it('derives the join-state table and a left and a right consumer that retry until success', () => {
    const pipeline = definePipeline({
      name: 'catalog',
      topics,
      joins: [{ join: defineJoin(declaration), handler: { entry: HANDLER_ENTRY }, eventSource: { batchSize: 500 } }],
    });

    const [join] = pipeline.joins;
    expect(join?.table).toEqual({
      name: 'items-with-flyer.join-state',
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      timeToLiveAttribute: 'expiresAt',
      environmentVariable: 'ITEMS_WITH_FLYER_JOIN_STATE_TABLE_NAME',
    });
    expect(pipeline.consumers.map((consumer) => [consumer.name, consumer.topic.name, consumer.handler.exportName])).toEqual([
      ['items-with-flyer.left', 'items', 'left'],
      ['items-with-flyer.right', 'flyers', 'right'],
    ]);
    expect(join?.leftConsumer.eventSource).toMatchObject({
      batchSize: 500,
      maximumRetryAttempts: -1,
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: false,
      onFailure: undefined,
      consumerGroupId: 'catalog.items-with-flyer.left',
    });
    expect(join?.rightConsumer.environment).toEqual({
      ITEMS_WITH_FLYER_JOIN_STATE_TABLE_NAME: 'items-with-flyer.join-state',
      ITEMS_WITH_FLYER_RIGHT_DEAD_LETTER_TOPIC: 'items-with-flyer.dlq',
    });
    expect(join?.rightConsumer.deadLetterTopic?.name).toBe('items-with-flyer.dlq');
  });

  it('requires entity topics for the inputs and the output, and a dead-letter topic', () => {
    const declare = () =>
      definePipeline({
        name: 'catalog',
        topics: [
          { name: 'items', kind: 'event' },
          { name: 'flyers', kind: 'entity' },
          { name: 'items-with-flyer.dlq', kind: 'entity' },
        ],
        joins: [{ join: defineJoin(declaration), handler: { entry: HANDLER_ENTRY } }],
      });

    expect(declare).toThrow(PipelineDeclarationError);
    try {
      declare();
    } catch (error) {
      expect((error as PipelineDeclarationError).problems).toEqual([
        'join "items-with-flyer": its left topic "items" must be declared with kind "entity"',
        'join "items-with-flyer": its output topic "items-with-flyer" is not declared',
        'join "items-with-flyer": its dead-letter topic "items-with-flyer.dlq" must be declared with kind "dead-letter"',
      ]);
    }
  });
});
