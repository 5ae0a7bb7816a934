import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { MskRecord } from '../../shared/msk';
import { projectEntityRecords, DELETED_ATTRIBUTE, SOURCE_OFFSET_ATTRIBUTE } from '../../shared/entity-projection';
import { provisionTables } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { InvalidRecordError } from '../../shared/msk';
import { NOOP_HANDLER_ENTRY, uniqueName, useTestServices } from '../support/integration';

function entityRecord(offset: number, key: string | null, value: unknown): MskRecord {
  return {
    topic: 'merchants',
    partition: 0,
    offset,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    ...(key === null ? {} : { key: Buffer.from(key).toString('base64') }),
    ...(value === null ? {} : { value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64') }),
    headers: [],
  };
}

describe('Function: projectEntityRecords (integration, dynalite)', () => {
  const services = useTestServices('entity-projection-test');
  let tableName: string;

  beforeEach(async () => {
    tableName = uniqueName('directory');
    const pipeline = definePipeline({
      name: 'projection-test',
      topics: [{ name: 'merchants', kind: 'entity' }],
      tables: [{ name: tableName, partitionKey: { name: 'merchantId', type: 'S' } }],
      consumers: [{ name: 'c', handler: { entry: NOOP_HANDLER_ENTRY }, topic: 'merchants', tables: [tableName] }],
    });
    await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
  });

  const stored = async (merchantId: string) =>
    (await services.documents.send(new GetCommand({ TableName: tableName, Key: { merchantId } }))).Item;

  it('stores the latest full state of each entity', async () => {
    const result = await projectEntityRecords(
      [entityRecord(0, 'm1', { name: 'Old' }), entityRecord(1, 'm2', { name: 'Two' }), entityRecord(2, 'm1', { name: 'New' })],
      { documents: services.documents, tableName, keyAttribute: 'merchantId' },
    );

    expect(result).toEqual({ upserted: 3, deleted: 0, stale: 0, deadLettered: 0, failed: [] });
    expect(await stored('m1')).toMatchObject({ merchantId: 'm1', name: 'New', [SOURCE_OFFSET_ATTRIBUTE]: 2, [DELETED_ATTRIBUTE]: false });
    expect(await stored('m2')).toMatchObject({ name: 'Two' });
  });

  it('marks an entity deleted on a tombstone, and a late older upsert does not resurrect it', async () => {
    const options = { documents: services.documents, tableName, keyAttribute: 'merchantId' };
    await projectEntityRecords([entityRecord(4, 'm1', { name: 'Alive' }), entityRecord(5, 'm1', null)], options);

    const redelivered = await projectEntityRecords([entityRecord(4, 'm1', { name: 'Alive' })], options);

    expect(redelivered).toEqual({ upserted: 0, deleted: 0, stale: 1, deadLettered: 0, failed: [] });
    expect(await stored('m1')).toEqual({ merchantId: 'm1', [SOURCE_OFFSET_ATTRIBUTE]: 5, [DELETED_ATTRIBUTE]: true });
  });

  it('never rolls an entity back when an older batch is redelivered after a newer one', async () => {
    const options = { documents: services.documents, tableName, keyAttribute: 'merchantId' };
    await projectEntityRecords([entityRecord(10, 'm1', { name: 'v10' })], options);

    const result = await projectEntityRecords([entityRecord(7, 'm1', { name: 'v7' }), entityRecord(9, 'm1', { name: 'v9' })], options);

    expect(result.stale).toBe(2);
    expect(await stored('m1')).toMatchObject({ name: 'v10' });
  });

  it.each([
    ['has no key', entityRecord(0, null, { name: 'x' }), /entity records need a non-empty key/],
    ['is not JSON', entityRecord(0, 'm1', '{"name": '), /value is not valid JSON/],
    ['is not an object', entityRecord(0, 'm1', [1, 2]), /must be a JSON object/],
  ])('rejects a record that %s with an InvalidRecordError naming the record', async (_, record, reason) => {
    const projecting = projectEntityRecords([record], { documents: services.documents, tableName, keyAttribute: 'merchantId' });

    await expect(projecting).rejects.toBeInstanceOf(InvalidRecordError);
    await expect(projecting).rejects.toThrow(/^merchants-0@0: /);
    await expect(projecting).rejects.toThrow(reason);
  });

  it('hands a record it cannot use to deadLetter and applies the rest of the batch', async () => {
    const letters: Array<[number, string]> = [];
    const options = {
      documents: services.documents,
      tableName,
      keyAttribute: 'merchantId',
      deadLetter: async (record: MskRecord, error: InvalidRecordError) => void letters.push([record.offset, error.message]),
    };

    const result = await projectEntityRecords(
      [entityRecord(1, 'm1', { name: 'before' }), entityRecord(2, 'm2', '{"name": '), entityRecord(3, 'm3', { name: 'after' })],
      options,
    );

    expect(result).toEqual({ upserted: 2, deleted: 0, stale: 0, deadLettered: 1, failed: [] });
    expect(letters).toEqual([[2, expect.stringMatching(/^merchants-0@2: DESERIALIZATION_ERROR: value is not valid JSON/)]]);
    expect(await stored('m3')).toMatchObject({ name: 'after' });
  });

  it('dead-letters a record DynamoDB itself refuses (an empty key, an item over 400 KB) instead of failing the batch forever', async () => {
    const letters: string[] = [];
    const options = {
      documents: services.documents,
      tableName,
      keyAttribute: 'merchantId',
      deadLetter: async (_record: MskRecord, error: InvalidRecordError) => void letters.push(error.message),
    };

    const result = await projectEntityRecords(
      [
        entityRecord(1, '', { name: 'no id' }),
        entityRecord(2, 'm-huge', { name: 'x'.repeat(450_000) }),
        entityRecord(3, 'm-fine', { name: 'Fine' }),
      ],
      options,
    );

    expect(result).toMatchObject({ upserted: 1, deadLettered: 2, failed: [] });
    expect(letters).toEqual([
      expect.stringMatching(/^merchants-0@1: entity records need a non-empty key/),
      expect.stringMatching(/^merchants-0@2: DynamoDB refused the item: .*size/),
    ]);
  });

  it('with partial batches, stops only the partition whose write failed, at that record, and goes on with the others', async () => {
    // A table that refuses writes for one entity for a while, as a throttled or unreachable DynamoDB would.
    const flaky = {
      send: (command: { input: { Item?: Record<string, unknown> } }) =>
        command.input.Item?.merchantId === 'm-unlucky'
          ? Promise.reject(new Error('ProvisionedThroughputExceeded'))
          : services.documents.send(command as never),
    } as unknown as DynamoDBDocumentClient;
    const inPartition = (partition: number, offset: number, key: string) => ({ ...entityRecord(offset, key, { name: key }), partition });

    const result = await projectEntityRecords(
      [inPartition(0, 1, 'm-a'), inPartition(0, 2, 'm-unlucky'), inPartition(0, 3, 'm-after'), inPartition(1, 1, 'm-other')],
      { documents: flaky, tableName, keyAttribute: 'merchantId', partialBatch: true },
    );

    expect(result.failed.map(({ record }) => [record.partition, record.offset])).toEqual([[0, 2]]);
    expect(result.upserted).toBe(2);
    expect(await stored('m-a')).toBeDefined();
    expect(await stored('m-after')).toBeUndefined(); // waits for the retry, after m-unlucky
    expect(await stored('m-other')).toBeDefined();
  });
});
