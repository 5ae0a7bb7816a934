import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { explainRecord, type LineageInput } from '../../../shared/cli/operations/lineage';
import type { PlatformAccess } from '../../../shared/cli/operations/platform-access';
import { partitionOfKey, type FoundRecord, type RecordSource } from '../../../shared/cli/operations/record-lookup';
import { defineJoin } from '../../../shared/fk-join';
import { definePipeline } from '../../../shared/pipeline';
import { JSON_VALUE_FORMAT } from '../../../shared/schemas';

interface Item {
  readonly itemId: string;
  readonly flyerId: string | null;
}
interface Flyer {
  readonly flyerId: string;
  readonly title: string;
}

const itemsWithFlyer = defineJoin<Item, Flyer, { item: Item; flyer: Flyer | null }>({
  name: 'items-with-flyer',
  type: 'left',
  leftTopic: 'items',
  rightTopic: 'flyers',
  outputTopic: 'items-with-flyer',
  deadLetterTopic: 'items-with-flyer.dlq',
  foreignKey: (item) => item.flyerId,
  joiner: (item, flyer) => ({ item, flyer }),
});
const pipeline = definePipeline({
  name: 'lineage-unit',
  topics: [
    { name: 'items', kind: 'entity' },
    { name: 'flyers', kind: 'entity' },
    { name: 'items-with-flyer', kind: 'entity' },
    { name: 'items-with-flyer.dlq', kind: 'dead-letter' },
  ],
  joins: [{ join: itemsWithFlyer, handler: { entry: join(__dirname, '..', '..', 'fixtures', 'noop-handler.ts') } }],
});
/** Everything explain needs besides records: the declaration, and JSON values. Nothing here talks to a service. */
const access: PlatformAccess = {
  pipeline,
  kafka: () => Promise.reject(new Error('no broker in a unit test')),
  dynamodb: () => {
    throw new Error('no DynamoDB in a unit test');
  },
  tableName: async (declared) => declared,
  formatOf: () => JSON_VALUE_FORMAT,
};

/** Records as a topic holds them: [topic, key, offset, value (null: tombstone), headers]. */
type Stored = readonly [topic: string, key: string, offset: number, value: unknown, headers?: Record<string, string>];

function recordsOf(stored: readonly Stored[]): RecordSource {
  const found = ([topic, key, offset, value, headers]: Stored): FoundRecord => ({
    topic,
    partition: 0,
    message: {
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(JSON.stringify(value)),
      offset: String(offset),
      timestamp: '1767225600000',
      attributes: 0,
      headers: Object.fromEntries(Object.entries(headers ?? {}).map(([name, text]) => [name, Buffer.from(text)])),
    } satisfies KafkaMessage,
  });
  return {
    latest: async (topic, key) =>
      stored.findLast((entry) => entry[0] === topic && entry[1] === key) &&
      found(stored.findLast((entry) => entry[0] === topic && entry[1] === key)!),
    at: async (topic, key, offset) => {
      const entry = stored.find((candidate) => candidate[0] === topic && candidate[1] === key && candidate[2] === offset);
      return entry ? found(entry) : undefined;
    },
  };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (span: string) => `00-${TRACE}-${span}-01`;

async function rightOf(stored: readonly Stored[]): Promise<LineageInput | undefined> {
  return (await explainRecord(access, 'items-with-flyer', 'i-1', recordsOf(stored))).lineage?.join?.right;
}

describe('explainRecord: the lineage of a join result, from the records its position names', () => {
  it('follows the position to the left and right records, and names the right one as the cause when the result carries its span', async () => {
    const explanation = await explainRecord(
      access,
      'items-with-flyer',
      'i-1',
      recordsOf([
        ['items', 'i-1', 4, { itemId: 'i-1', flyerId: 'f-1' }, { traceparent: traceparent('00000000000000a1') }],
        ['flyers', 'f-1', 9, { flyerId: 'f-1', title: 'Week 2' }, { traceparent: traceparent('00000000000000f1') }],
        [
          'items-with-flyer',
          'i-1',
          20,
          { item: { itemId: 'i-1', flyerId: 'f-1' }, flyer: { flyerId: 'f-1', title: 'Week 2' } },
          { 'x-join-position': '4:9', traceparent: traceparent('00000000000000c1'), 'x-trace-cause': '00000000000000f1' },
        ],
      ]),
    );

    expect(explanation).toMatchObject({
      topic: 'items-with-flyer',
      key: 'i-1',
      join: 'items-with-flyer',
      lineage: {
        record: { offset: 20, value: { flyer: { title: 'Week 2' } } },
        join: {
          position: '4:9',
          causedBy: 'right',
          left: { kind: 'record', lineage: { record: { topic: 'items', offset: 4 } } },
          right: { kind: 'record', lineage: { record: { topic: 'flyers', key: 'f-1', offset: 9 } } },
        },
      },
    });
  });

  it('says a deleted left record joins with nothing', async () => {
    await expect(
      rightOf([
        ['items', 'i-1', 5, null],
        ['items-with-flyer', 'i-1', 21, null, { 'x-join-position': '5:-1' }],
      ]),
    ).resolves.toEqual({ kind: 'none', topic: 'flyers', why: 'the left record is a tombstone: a deleted row joins with nothing' });
  });

  it('says a left record without a foreign key names no right record', async () => {
    await expect(
      rightOf([
        ['items', 'i-1', 6, { itemId: 'i-1', flyerId: null }],
        ['items-with-flyer', 'i-1', 22, { item: { itemId: 'i-1', flyerId: null }, flyer: null }, { 'x-join-position': '6:-1' }],
      ]),
    ).resolves.toEqual({ kind: 'none', topic: 'flyers', why: 'the left record names no foreign key' });
  });

  it('names the foreign key that had no right row when the result was joined', async () => {
    await expect(
      rightOf([
        ['items', 'i-1', 7, { itemId: 'i-1', flyerId: 'f-9' }],
        ['items-with-flyer', 'i-1', 23, { item: { itemId: 'i-1', flyerId: 'f-9' }, flyer: null }, { 'x-join-position': '7:-1' }],
      ]),
    ).resolves.toEqual({ kind: 'none', topic: 'flyers', why: 'no right row for its foreign key f-9 when it was joined' });
  });

  it('shows an input compaction removed as missing, with the reason, and the right side as unknowable without it', async () => {
    const explanation = await explainRecord(
      access,
      'items-with-flyer',
      'i-1',
      recordsOf([['items-with-flyer', 'i-1', 24, { item: { itemId: 'i-1', flyerId: 'f-1' }, flyer: null }, { 'x-join-position': '3:2' }]]),
    );

    expect(explanation.lineage?.join?.left).toEqual({
      kind: 'missing',
      topic: 'items',
      key: 'i-1',
      offset: 3,
      why: "no record of key i-1 at offset 3 of items any more: compaction keeps only a key's newest record, and retention deletes old ones",
    });
    expect(explanation.lineage?.join?.right).toMatchObject({
      kind: 'missing',
      offset: 2,
      why: 'the left record it was joined with is not there to name the foreign key',
    });
    expect(explanation.lineage?.join?.causedBy).toBe('unknown');
  });

  it('shows a record no join wrote (no position) without inputs, and nothing for a key the topic never had', async () => {
    const records = recordsOf([['items-with-flyer', 'i-1', 25, { by: 'hand' }]]);

    await expect(explainRecord(access, 'items-with-flyer', 'i-1', records)).resolves.toMatchObject({
      lineage: { record: { value: { by: 'hand' } } },
    });
    expect((await explainRecord(access, 'items-with-flyer', 'i-1', records)).lineage?.join).toBeUndefined();
    await expect(explainRecord(access, 'items-with-flyer', 'i-2', records)).resolves.toMatchObject({ lineage: null });
  });
});

describe('partitionOfKey', () => {
  it("gives a key the partition Java's default partitioner gives it (murmur2, Kafka's own test vectors)", () => {
    expect([
      partitionOfKey('21', 1000),
      partitionOfKey('foobar', 1000),
      partitionOfKey('a-little-bit-long-string', 1000),
      partitionOfKey('abc', 1000),
    ]).toEqual([340, 166, 112, 107]);
    expect(partitionOfKey('abc', 6)).toBe(3);
  });
});
