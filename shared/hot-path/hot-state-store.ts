import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, MeteredDocumentClient, type DynamoDbUsage } from '../dynamodb';
import { PENDING_INDEX, type UpdateOrder } from './define-hot-stream';

/**
 * One item per state key (pk):
 *   value, version, sourceTimestamp          the newest applied update (JSON)
 *   emittedValue, emittedVersion, emittedAt  the last delta published
 *   pendingPartition, dueAt                  set while the newest value may still need emitting; a sparse
 *                                            index over them lets a partition's consumer find due keys
 */
export interface HotState<U extends UpdateOrder> {
  readonly key: string;
  readonly value: U;
  /** Offset of the stored update in its input partition. */
  readonly sourceOffset: number;
  readonly emittedValue: U | null;
  /** Source offset of the update last emitted; equal to `sourceOffset` once the stored update is out. */
  readonly emittedOffset: number | undefined;
  /** True when the last emission was claimed before publishing and never confirmed after: it may be lost. */
  readonly emissionClaimed: boolean;
  readonly emittedAt: number | undefined;
  /** Present while the key waits for emission; the input partition (`<topic>-<partition>`) owning it. */
  readonly pendingPartition: string | undefined;
  readonly dueAt: number | undefined;
}

/**
 * The offsets of one input partition that one execution environment holds in
 * its write-behind buffer, not yet stored. Kept in the state table under a key
 * no state key can take (record keys starting with U+0000 are refused), and
 * listed in the pending index of its partition from `replayAt` on, so the
 * partition's consumer finds it if the environment never stores its buffer.
 */
export interface BufferedRange {
  readonly topic: string;
  readonly partition: number;
  readonly environmentId: string;
  readonly fromOffset: number;
  readonly toOffset: number;
  /** Bumped by every write; a release only deletes the revision it saw. */
  readonly revision: number;
}

const BUFFERED_RANGE_PREFIX = '\u0000buffered\u0000';

/** True for the key of a {@link BufferedRange} item, as listed by {@link HotStateStore.duePending}. */
export function isBufferedRangeKey(key: string): boolean {
  return key.startsWith(BUFFERED_RANGE_PREFIX);
}

function bufferedRangeKey(range: Pick<BufferedRange, 'topic' | 'partition' | 'environmentId'>): string {
  return `${BUFFERED_RANGE_PREFIX}${range.topic}-${range.partition}\u0000${range.environmentId}`;
}

export type ApplyOutcome<U extends UpdateOrder> =
  | { readonly outcome: 'applied'; readonly state: HotState<U> }
  /** The same update is already stored: a redelivery; its emission may still be owed. */
  | { readonly outcome: 'redelivered'; readonly state: HotState<U> }
  /** A newer update is stored; this one is ignored. */
  | { readonly outcome: 'stale' };

/** Newer than the stored update: by source version, then source timestamp, then offset. */
const NEWER_THAN_STORED =
  'attribute_not_exists(pk) OR version < :version OR (version = :version AND sourceTimestamp < :ts) ' +
  'OR (version = :version AND sourceTimestamp = :ts AND sourceOffset < :offset)';

/** Stores an update as the key's newest; both writes that store one start with it. */
const STORE_UPDATE = 'SET #value = :value, version = :version, sourceTimestamp = :ts, sourceOffset = :offset';

function storedUpdateValues(update: UpdateOrder, offset: number): Record<string, unknown> {
  return { ':value': JSON.stringify(update), ':version': update.version, ':ts': update.sourceTimestamp, ':offset': offset };
}

/** The DynamoDB operations of a hot stream: single-item conditional writes, strongly consistent reads. */
export class HotStateStore<U extends UpdateOrder> {
  private readonly metered: MeteredDocumentClient;

  constructor(
    documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.metered = new MeteredDocumentClient(documents);
  }

  get usage(): DynamoDbUsage {
    return this.metered.usage;
  }

  /**
   * Stores an update if it is newer than the stored one — by source version,
   * then source timestamp, then offset (a state key always comes from one
   * partition) — and marks the key pending, due one interval after its last emission.
   */
  async apply(key: string, update: U, offset: number, partition: string, minEmitIntervalMs: number): Promise<ApplyOutcome<U>> {
    try {
      const output = await this.metered.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: `${STORE_UPDATE}, pendingPartition = :partition, dueAt = if_not_exists(emittedAt, :zero) + :interval`,
          ConditionExpression: NEWER_THAN_STORED,
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: {
            ...storedUpdateValues(update, offset),
            ':partition': partition,
            ':zero': 0,
            ':interval': minEmitIntervalMs,
          },
          ReturnValues: 'ALL_NEW',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return { outcome: 'applied', state: toState<U>(output.Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const stored = await this.get(key);
      return stored?.sourceOffset === offset ? { outcome: 'redelivered', state: stored } : { outcome: 'stale' };
    }
  }

  /**
   * Stores an update and claims its emission in the same write, for a key
   * likely due: newer than the stored update (as in {@link apply}) and, unless
   * `dueBefore` is undefined (a pass-through), last emitted no later than it.
   * The caller publishes after the write, unless the value equals the one
   * emitted before; a redelivery finds the claim and publishes again, so a
   * crash in between loses nothing.
   * @returns the new state, the value emitted before and whether that was an unconfirmed claim (its publish may
   *   have been lost), or undefined when a condition failed (use {@link apply})
   */
  async applyAndClaim(
    key: string,
    update: U,
    offset: number,
    now: number,
    dueBefore: number | undefined,
  ): Promise<{ readonly state: HotState<U>; readonly previouslyEmitted: U | null; readonly previousClaimUnconfirmed: boolean } | undefined> {
    try {
      const output = await this.metered.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: `${STORE_UPDATE}, emittedValue = :value, emittedOffset = :offset, emittedAt = :now, emissionClaimed = :claimed REMOVE pendingPartition, dueAt`,
          ConditionExpression: `(${NEWER_THAN_STORED})${dueBefore === undefined ? '' : ' AND (attribute_not_exists(emittedAt) OR emittedAt <= :dueBefore)'}`,
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: {
            ...storedUpdateValues(update, offset),
            ':now': now,
            ':claimed': true,
            ...(dueBefore === undefined ? {} : { ':dueBefore': dueBefore }),
          },
          ReturnValues: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const previouslyEmitted = typeof output.Attributes?.['emittedValue'] === 'string' ? (JSON.parse(output.Attributes['emittedValue']) as U) : null;
      const state: HotState<U> = {
        key,
        value: update,
        sourceOffset: offset,
        emittedValue: update,
        emittedOffset: offset,
        emissionClaimed: true,
        emittedAt: now,
        pendingPartition: undefined,
        dueAt: undefined,
      };
      return { state, previouslyEmitted, previousClaimUnconfirmed: output.Attributes?.['emissionClaimed'] === true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  /**
   * Records that `state.value` was published and clears the pending mark.
   * @returns false when a newer update was applied meanwhile (nothing is written)
   */
  async markEmitted(state: HotState<U>, emittedAt: number): Promise<boolean> {
    return this.metered
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: state.key },
          UpdateExpression: 'SET emittedValue = #value, emittedOffset = sourceOffset, emittedAt = :now REMOVE pendingPartition, dueAt, emissionClaimed',
          ConditionExpression: 'sourceOffset = :offset AND version = :version',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':offset': state.sourceOffset, ':version': state.value.version, ':now': emittedAt },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .then(() => true)
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
        return false;
      });
  }

  /** Clears the pending mark of a value that needs no delta (equal to the last one emitted). */
  async clearPending(state: HotState<U>): Promise<void> {
    await this.metered
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: state.key },
          UpdateExpression: 'REMOVE pendingPartition, dueAt',
          ConditionExpression: 'sourceOffset = :offset AND version = :version',
          ExpressionAttributeValues: { ':offset': state.sourceOffset, ':version': state.value.version },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async get(key: string): Promise<HotState<U> | undefined> {
    const output = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    return output.Item ? toState<U>(output.Item) : undefined;
  }

  /**
   * Writes an environment's buffered range of a partition: over the revision
   * it last wrote (`knownRevision`), or as a new item when it wrote none or a
   * replay released it meanwhile.
   * @returns the revision written
   */
  async recordBufferedRange(range: Omit<BufferedRange, 'revision'>, knownRevision: number | undefined, replayAt: number): Promise<number> {
    const write = (revision: number, condition: string, values: Record<string, unknown>) =>
      this.metered.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: bufferedRangeKey(range),
            ...range,
            revision,
            [PENDING_INDEX.partitionKey]: `${range.topic}-${range.partition}`,
            [PENDING_INDEX.sortKey]: replayAt,
          },
          ConditionExpression: condition,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
    if (knownRevision !== undefined) {
      try {
        await write(knownRevision + 1, 'revision = :known', { ':known': knownRevision });
        return knownRevision + 1;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    // A fresh item covers only this range: whatever the released one covered was replayed, or is still buffered here.
    await write(1, 'attribute_not_exists(pk)', {});
    return 1;
  }

  async getBufferedRange(key: string): Promise<BufferedRange | undefined> {
    const output = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    const item = output.Item;
    if (!item) return undefined;
    return {
      topic: item['topic'] as string,
      partition: item['partition'] as number,
      environmentId: item['environmentId'] as string,
      fromOffset: item['fromOffset'] as number,
      toOffset: item['toOffset'] as number,
      revision: item['revision'] as number,
    };
  }

  /** Deletes a buffered range once its updates are stored, unless it was written again since `revision`. */
  async releaseBufferedRange(range: BufferedRange): Promise<void> {
    await this.metered
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: bufferedRangeKey(range) },
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeValues: { ':revision': range.revision },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /**
   * Keys of a partition whose emission is due by `now`, one page at a time. The
   * index is eventually consistent: a key just marked may show up only on a
   * later flush, and a listed key must be read again before emitting.
   */
  async duePending(partition: string, now: number, pageSize: number, startAfter?: Record<string, unknown>) {
    const output = await this.metered.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: PENDING_INDEX.name,
        KeyConditionExpression: 'pendingPartition = :partition AND dueAt <= :now',
        ExpressionAttributeValues: { ':partition': partition, ':now': now },
        Limit: pageSize,
        ...(startAfter ? { ExclusiveStartKey: startAfter } : {}),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { keys: (output.Items ?? []).map((item) => item['pk'] as string), next: output.LastEvaluatedKey };
  }
}

function toState<U extends UpdateOrder>(item: Record<string, unknown>): HotState<U> {
  return {
    key: item['pk'] as string,
    value: JSON.parse(item['value'] as string) as U,
    sourceOffset: item['sourceOffset'] as number,
    emittedValue: typeof item['emittedValue'] === 'string' ? (JSON.parse(item['emittedValue']) as U) : null,
    emittedOffset: item['emittedOffset'] as number | undefined,
    emissionClaimed: item['emissionClaimed'] === true,
    emittedAt: item['emittedAt'] as number | undefined,
    pendingPartition: item['pendingPartition'] as string | undefined,
    dueAt: item['dueAt'] as number | undefined,
  };
}
