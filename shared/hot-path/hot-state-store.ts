import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
   * Stores an update and claims its emission in the same write, for a key known
   * to be due: newer than the stored update (as in {@link apply}) and, unless
   * `dueBefore` is undefined (a pass-through), last emitted no later than it.
   * The caller publishes after the write; a redelivery finds the claim and
   * publishes again, so a crash in between loses nothing.
   * @returns the new state, or undefined when a condition failed (use {@link apply})
   */
  async applyAndClaim(key: string, update: U, offset: number, now: number, dueBefore: number | undefined): Promise<HotState<U> | undefined> {
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
          ReturnValues: 'ALL_NEW',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return toState<U>(output.Attributes!);
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
