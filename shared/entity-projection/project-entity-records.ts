import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MskRecord } from '../msk';
import { decodeKey, InvalidRecordError, valueHeads } from '../msk';
import { decodeRecordValue } from '../schemas/record-value';
import { JSON_VALUE_FORMAT, type ValueFormat } from '../schemas/value-format';

export interface EntityProjectionOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The table's partition key attribute; it receives the record key. */
  readonly keyAttribute: string;
  /** How the topic lays out values on the wire. @default JSON */
  readonly format?: ValueFormat;
  /**
   * Where a record no retry can make usable goes (no key, unreadable value),
   * so the rest of the batch goes on; anything else still fails the batch, to
   * be retried. @default none: such a record throws InvalidRecordError
   */
  readonly deadLetter?: (record: MskRecord, error: InvalidRecordError) => Promise<void>;
  /**
   * Any other failure (DynamoDB or the schema registry away) stops only its
   * partition: the record is returned in `failed`, for a partial batch
   * response, and the partition's later records wait for the retry. Records
   * before it, and dead letters, are not done again. @default false: it throws
   */
  readonly partialBatch?: boolean;
}

export interface ProjectionResult {
  readonly upserted: number;
  readonly deleted: number;
  /** Records handed to `deadLetter`. */
  readonly deadLettered: number;
  /** Records older than what the table already holds (a redelivery), left unapplied. */
  readonly stale: number;
  /** With `partialBatch`: per partition, the first record that failed (retry from it), and why. */
  readonly failed: ReadonlyArray<{ readonly record: MskRecord; readonly error: unknown }>;
}

/** The longest entity id a projection takes, in UTF-8 bytes. */
export const MAX_ENTITY_KEY_BYTES = 1024;

/** Attribute holding the source offset of the stored state; a write only moves it forward. */
export const SOURCE_OFFSET_ATTRIBUTE = '_sourceOffset';
/** True on the marker item a tombstone leaves behind; readers treat such items as absent. */
export const DELETED_ATTRIBUTE = '_deleted';

/**
 * Materializes an entity stream (full-state facts, tombstone = delete) into a
 * DynamoDB table, one item per entity key. Each write is conditional on the
 * source offset moving forward, so redelivered or out-of-order batches never
 * roll an entity back (offsets order a key's records because a key always
 * lands on the same partition). A delete leaves a marker item carrying the
 * offset so that a late, older upsert cannot resurrect the entity.
 *
 * @throws InvalidRecordError for a record with no key, a value the format cannot read, or a value that is
 *   not an object, unless `deadLetter` takes it
 */
export async function projectEntityRecords(records: readonly MskRecord[], options: EntityProjectionOptions): Promise<ProjectionResult> {
  let upserted = 0;
  let deleted = 0;
  let stale = 0;
  let deadLettered = 0;
  const failed: Array<{ record: MskRecord; error: unknown }> = [];
  const stopped = new Set<string>();
  /** What became of a record that did not simply apply; throws what neither a dead letter nor a partial batch takes. */
  const settle = async (record: MskRecord, error: unknown): Promise<void> => {
    let cause = error;
    if (cause instanceof ConditionalCheckFailedException) {
      stale += 1;
      return;
    }
    if (cause instanceof InvalidRecordError && options.deadLetter) {
      try {
        await options.deadLetter(record, cause);
        deadLettered += 1;
        return;
      } catch (publishError) {
        cause = publishError; // the dead-letter topic is away: the record is not done, retry it
      }
    }
    if (options.partialBatch && !(cause instanceof InvalidRecordError)) {
      failed.push({ record, error: cause });
      stopped.add(`${record.topic}-${record.partition}`);
      return;
    }
    throw cause;
  };
  const format = options.format ?? JSON_VALUE_FORMAT;
  // The batch's schema ids are looked up together first: a record with an id already answered costs no request.
  await format.prefetch?.(valueHeads(records));
  for (const record of records) {
    if (stopped.has(`${record.topic}-${record.partition}`)) continue;
    try {
      const item = await itemOf(record, format, options.keyAttribute);
      await put(record, item, options);
      if (item[DELETED_ATTRIBUTE] === true) deleted += 1;
      else upserted += 1;
    } catch (error) {
      await settle(record, error);
    }
  }
  return { upserted, deleted, stale, deadLettered, failed };
}

/**
 * Writes the item if its offset moves the entity forward.
 * @throws InvalidRecordError when DynamoDB refuses the item itself (too large, say): no retry would change that
 */
async function put(record: MskRecord, item: Record<string, unknown>, options: EntityProjectionOptions): Promise<void> {
  try {
    await options.documents.send(
      new PutCommand({
        TableName: options.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#offset) OR #offset < :offset',
        ExpressionAttributeNames: { '#offset': SOURCE_OFFSET_ATTRIBUTE },
        ExpressionAttributeValues: { ':offset': record.offset },
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationException')
      throw new InvalidRecordError(record, `DynamoDB refused the item: ${(error as Error).message}`);
    throw error;
  }
}

/** The table item a record stands for. @throws InvalidRecordError when the record cannot be used */
async function itemOf(record: MskRecord, format: ValueFormat, keyAttribute: string): Promise<Record<string, unknown>> {
  const key = decodeKey(record);
  if (key === null || key === '') throw new InvalidRecordError(record, 'entity records need a non-empty key (the entity id)');
  // The key is the table's partition key, which DynamoDB caps at 2,048 bytes.
  if (Buffer.byteLength(key) > MAX_ENTITY_KEY_BYTES)
    throw new InvalidRecordError(record, `a key of ${Buffer.byteLength(key)} bytes is longer than ${MAX_ENTITY_KEY_BYTES}`);
  const value = await decodeRecordValue(record, format);
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new InvalidRecordError(record, 'an entity value must be a JSON object');
  }
  return {
    ...(value as Record<string, unknown> | null),
    [keyAttribute]: key,
    [SOURCE_OFFSET_ATTRIBUTE]: record.offset,
    [DELETED_ATTRIBUTE]: value === null,
  };
}
