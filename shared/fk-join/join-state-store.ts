import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, MeteredDocumentClient, type DynamoDbUsage } from '../dynamodb';
import { forEachConcurrently } from '../concurrency';
import {
  BATCH_GET_LIMIT,
  BATCH_WRITE_LIMIT,
  fanOutCursorKey,
  leftRowKey,
  ledgerKey,
  rightRowKey,
  SUBSCRIPTION_PREFIX,
  toLeftRow,
  toLeftRowItem,
  toRightRow,
  toRightRowItem,
  toSubscription,
  toSubscriptionItem,
  type ItemKey,
  type LeftRow,
  type RightRow,
  type Subscription,
} from './join-state-items';
import type { SubscriptionItem } from './join-state-schema';

export type { LeftRow, RightRow, Subscription } from './join-state-items';

/** DynamoDB requests and capacity a join used; the benchmark reports them per input record. */
export type JoinStateUsage = DynamoDbUsage;

/** The outcome of storing a right record. */
export type PutRightOutcome =
  /** Stored; `previousOffset` is the offset it replaced (undefined: the key had no row). */
  | { readonly outcome: 'written'; readonly previousOffset: number | undefined }
  /** This offset was stored already: an earlier attempt ran. */
  | { readonly outcome: 'redelivered' }
  /** A later offset is stored: nothing to do. */
  | { readonly outcome: 'stale' };

/** Longer than any redelivery can come late: Kafka's default retention is 7 days. */
const RETIRED_SUBSCRIPTION_LIFETIME_SECONDS = 8 * 24 * 60 * 60;
/** Conditional writes in flight at once; the SDK's default socket pool holds 50. */
const WRITE_CONCURRENCY = 16;

/** How far a paused fan-out of one right record got, and whether a fan-out of it has repaired. */
export interface FanOutProgress {
  /** The last subscription entry reached; undefined: continue from the start. */
  readonly cursor: string | undefined;
  readonly repair: boolean;
}

/**
 * The DynamoDB operations of a foreign-key join, batch-shaped: reads are
 * `BatchGetItem`s of up to 100 keys, subscription changes are `BatchWriteItem`s
 * of up to 25, and a left row (the left record with the join's output state) is
 * replaced by one conditional `PutItem` on its revision. See the module README
 * for the layout and why each read is strong or eventual.
 */
export class JoinStateStore {
  private readonly metered: MeteredDocumentClient;

  constructor(
    documents: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {
    this.metered = new MeteredDocumentClient(documents);
  }

  get usage(): JoinStateUsage {
    return this.metered.usage;
  }

  /** The left rows of these keys. `consistent: false` halves the read cost; callers then write conditionally on `rev`. */
  async readLeftRows(leftKeys: readonly string[], consistent: boolean): Promise<Map<string, LeftRow>> {
    const rows = new Map<string, LeftRow>();
    for (const item of await this.batchGet(leftKeys.map(leftRowKey), consistent)) {
      const row = toLeftRow(item);
      rows.set(row.leftKey, row);
    }
    return rows;
  }

  /** The right rows of these keys, read strongly. */
  async readRightRows(rightKeys: readonly string[]): Promise<Map<string, RightRow>> {
    const rows = new Map<string, RightRow>();
    for (const item of await this.batchGet(rightKeys.map(rightRowKey), true)) {
      const row = toRightRow(item);
      rows.set(row.rightKey, row);
    }
    return rows;
  }

  /**
   * Replaces a left row if it still has revision `expectedRev` (undefined: no row yet), with revision + 1.
   * @returns false when another writer changed it first: read it again and decide anew
   */
  async replaceLeftRow(row: Omit<LeftRow, 'rev'>, expectedRev: number | undefined): Promise<boolean> {
    try {
      await this.metered.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toLeftRowItem({ ...row, rev: (expectedRev ?? 0) + 1 }),
          ConditionExpression: expectedRev === undefined ? 'attribute_not_exists(pk)' : 'rev = :rev',
          ...(expectedRev === undefined ? {} : { ExpressionAttributeValues: { ':rev': expectedRev } }),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Bumps a left row's revision while it holds an offset before `subscribedAt` (creating a placeholder
   * row if there is none), so that the writer subscribing at `subscribedAt` fails its conditional write
   * and reads the right row again.
   * @returns false when the row already holds `subscribedAt` or later: read it and join it instead
   */
  async nudgeLeftRow(leftKey: string, subscribedAt: number): Promise<boolean> {
    try {
      await this.metered.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leftRowKey(leftKey),
          UpdateExpression: 'SET rev = if_not_exists(rev, :zero) + :one, leftOffset = if_not_exists(leftOffset, :none), leftKey = :key',
          ConditionExpression: 'attribute_not_exists(pk) OR leftOffset < :subscribedAt',
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':none': -1, ':key': leftKey, ':subscribedAt': subscribedAt },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Writes subscription entries (active or retired), 25 to a request. Entries are keyed by their offset, so no condition is needed. */
  async writeSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    const expiresAt = this.retiredItemExpiry();
    const items = new Map<string, SubscriptionItem>();
    for (const subscription of subscriptions) {
      const item = toSubscriptionItem(subscription, expiresAt);
      // One request may not name an item twice; a retirement wins over a put of the same entry.
      const id = `${item.pk}\u0000${item.sk}`;
      if (!items.get(id)?.retired) items.set(id, item);
    }
    await this.batchWrite([...items.values()]);
  }

  /**
   * Stores a right record unless the same or a later offset is stored.
   * A deleted right row stays as a marker holding its offset, so an older redelivery cannot bring it back.
   */
  async putRight(rightKey: string, rightOffset: number, value: Buffer | null): Promise<PutRightOutcome> {
    try {
      const output = await this.metered.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toRightRowItem({ rightKey, rightOffset, value }),
          ConditionExpression: 'attribute_not_exists(pk) OR rightOffset < :offset',
          ExpressionAttributeValues: { ':offset': rightOffset },
          ReturnValues: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return { outcome: 'written', previousOffset: output.Attributes ? toRightRow(output.Attributes).rightOffset : undefined };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // The local server has no ReturnValuesOnConditionCheckFailure; this read only follows a redelivery.
    const response = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: rightRowKey(rightKey), ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    const stored = response.Item ? toRightRow(response.Item) : undefined;
    return stored?.rightOffset === rightOffset ? { outcome: 'redelivered' } : { outcome: 'stale' };
  }

  /**
   * Remembers how far a fan-out of one right record got, so that the record delivered again continues
   * after that subscription entry. An update, not a put: it keeps the record's repair mark (see
   * `markFanOutRepairing`), which a repairing fan-out has set before it got here. Kept per offset (a stale
   * record's repair pauses too), expiring with the retired entries.
   */
  async saveFanOutCursor(rightKey: string, rightOffset: number, cursor: string): Promise<void> {
    await this.metered.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: fanOutCursorKey(rightKey, rightOffset),
        // A new cursor can be claimed once again.
        UpdateExpression: 'SET #cursor = :cursor, expiresAt = :expiresAt REMOVE resumedFrom',
        ExpressionAttributeNames: { '#cursor': 'cursor' },
        ExpressionAttributeValues: { ':cursor': cursor, ':expiresAt': this.retiredItemExpiry() },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
  }

  /**
   * Marks that a fan-out of this right record repairs, before it publishes anything: should it die, every
   * later attempt repairs too, wherever the cursor has got to meanwhile (a plain continuation could pass
   * a key it published to). The mark stays until the item expires.
   */
  async markFanOutRepairing(rightKey: string, rightOffset: number): Promise<void> {
    await this.metered.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: fanOutCursorKey(rightKey, rightOffset),
        UpdateExpression: 'SET repair = :repair, expiresAt = :expiresAt',
        ExpressionAttributeValues: { ':repair': true, ':expiresAt': this.retiredItemExpiry() },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
  }

  /**
   * Where a paused fan-out of this right record continues (no cursor: from the start), and whether a
   * fan-out of it has repaired; undefined when neither was ever saved (read strongly; only redeliveries ask).
   */
  async readFanOutCursor(rightKey: string, rightOffset: number): Promise<FanOutProgress | undefined> {
    const response = await this.metered.send(
      new GetCommand({
        TableName: this.tableName,
        Key: fanOutCursorKey(rightKey, rightOffset),
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const item = response.Item;
    if (item === undefined) return undefined;
    return { cursor: typeof item.cursor === 'string' ? item.cursor : undefined, repair: item.repair === true };
  }

  /**
   * Claims the plain continuation of a paused fan-out from `cursor`.
   * @returns false when an earlier attempt already resumed from it (and may have published before failing),
   * or a fan-out of the record has been marked repairing since it was read
   */
  async claimResumption(rightKey: string, rightOffset: number, cursor: string): Promise<boolean> {
    try {
      await this.metered.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: fanOutCursorKey(rightKey, rightOffset),
          UpdateExpression: 'SET resumedFrom = :cursor',
          // CURSOR is one of DynamoDB's reserved words.
          ConditionExpression:
            '#cursor = :cursor AND attribute_not_exists(repair) AND (attribute_not_exists(resumedFrom) OR resumedFrom <> :cursor)',
          ExpressionAttributeNames: { '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':cursor': cursor },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private retiredItemExpiry(): number {
    return Math.floor(this.now() / 1000) + RETIRED_SUBSCRIPTION_LIFETIME_SECONDS;
  }

  /** One page of a right key's subscription entries (active and retired), in left-key order, after `cursor`. */
  async subscriptions(
    rightKey: string,
    pageSize: number,
    cursor: string | undefined,
  ): Promise<{ subscriptions: Subscription[]; cursor: string | undefined }> {
    const { pk } = rightRowKey(rightKey);
    const response = await this.metered.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': SUBSCRIPTION_PREFIX },
        ConsistentRead: true,
        Limit: pageSize,
        ...(cursor ? { ExclusiveStartKey: { pk, sk: cursor } } : {}),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return {
      subscriptions: (response.Items ?? []).map((item) => toSubscription(item)),
      cursor: response.LastEvaluatedKey?.sk as string | undefined,
    };
  }

  /**
   * Records that a partition's records up to `lastOffset` are being attempted.
   * @returns the offset attempts had reached before (undefined: none), so that records up to it are known redeliveries
   */
  async markAttempted(partition: string, lastOffset: number): Promise<number | undefined> {
    try {
      const output = await this.metered.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKey(partition),
          UpdateExpression: 'SET attemptedThrough = :last',
          ConditionExpression: 'attribute_not_exists(attemptedThrough) OR attemptedThrough < :last',
          ExpressionAttributeValues: { ':last': lastOffset },
          ReturnValues: 'UPDATED_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return output.Attributes?.attemptedThrough as number | undefined;
    } catch (error) {
      if (isConditionFailure(error)) return lastOffset;
      throw error;
    }
  }

  private async batchGet(keys: readonly ItemKey[], consistent: boolean): Promise<Record<string, unknown>[]> {
    const unique = [...new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
    const items: Record<string, unknown>[] = [];
    const chunks: ItemKey[][] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) chunks.push(unique.slice(start, start + BATCH_GET_LIMIT));
    await forEachConcurrently(chunks, 4, async (chunk) => {
      let pending: Record<string, unknown>[] = chunk as unknown as Record<string, unknown>[];
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt > 0) await backOff(attempt);
        const response = await this.metered.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: consistent } },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        items.push(...(response.Responses?.[this.tableName] ?? []));
        pending = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    });
    return items;
  }

  private async batchWrite(items: readonly SubscriptionItem[]): Promise<void> {
    const chunks: SubscriptionItem[][] = [];
    for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) chunks.push(items.slice(start, start + BATCH_WRITE_LIMIT));
    await forEachConcurrently(chunks, WRITE_CONCURRENCY, async (chunk) => {
      let pending = chunk.map((item) => ({ PutRequest: { Item: item } }));
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt > 0) await backOff(attempt);
        const response = await this.metered.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
        );
        pending = (response.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
    });
  }

  /** Conditional writes in flight at once, for callers that replace many rows. */
  static readonly writeConcurrency = WRITE_CONCURRENCY;
}

/** Unprocessed batch items are retried with exponential back-off, as AWS advises (the table is throttling). */
function backOff(attempt: number): Promise<void> {
  const ms = Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
