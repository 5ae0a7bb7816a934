import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, MeteredDocumentClient, type DynamoDbUsage } from '../dynamodb';
import { JOIN_STATE_TTL_ATTRIBUTE } from './define-join';
import type { JoinPosition } from './join-result';

/*
 * One table per join, keyed by (pk, sk), both strings:
 *   L#<leftKey>  LEFT            the latest left row: offset, foreign key, value
 *   L#<leftKey>  OUTPUT          the latest join result for the left key, versioned
 *   R#<rightKey> RIGHT           the latest right row: offset, value
 *   R#<rightKey> SUB#<leftKey>   a subscription: the left row that refers to the right key, with its value,
 *                                so a right update finds its subscribers with one Query and no index.
 *                                When the left row moves away, the subscription is retired, not deleted:
 *                                a fan-out redelivered after a crash must still reach every left key it
 *                                may have published to (see JoinProcessor). Retired ones expire by TTL.
 * Deleted rows stay as markers holding their offset, so an older redelivery can never bring them back.
 */

export interface LeftRow {
  readonly leftOffset: number;
  readonly foreignKey: string | null;
  /** Null when the left row is deleted. */
  readonly value: Buffer | null;
}

export interface RightRow {
  readonly rightOffset: number;
  /** Null when the right row is deleted. */
  readonly value: Buffer | null;
  /** Left key of the last subscriber a paused fan-out reached for this offset. */
  readonly fanOutCursor: string | undefined;
}

export type Subscription =
  | { readonly leftKey: string; readonly leftOffset: number; readonly retired: false; readonly value: Buffer }
  /** The left row referred to this right key until `leftOffset`. */
  | { readonly leftKey: string; readonly leftOffset: number; readonly retired: true };

/** Longer than any redelivery can come late: Kafka's default retention is 7 days. */
const RETIRED_SUBSCRIPTION_LIFETIME_SECONDS = 8 * 24 * 60 * 60;

export interface OutputRow extends JoinPosition {
  /** Increases by one on every change; sent with each output as a header. */
  readonly version: number;
  /** The result at this version; null when the join has no row for the key. */
  readonly value: Buffer | null;
  /**
   * Version of the record the output topic should end with. Equals `version`
   * unless the result is a tombstone following a tombstone (or nothing), which
   * is not emitted; undefined while the key has never had output.
   */
  readonly tailVersion: number | undefined;
}

/** DynamoDB requests and capacity a join used; the benchmark reports them per input record. */
export type JoinStateUsage = DynamoDbUsage;

const LEFT = 'LEFT';
const RIGHT = 'RIGHT';
const OUTPUT = 'OUTPUT';
const SUBSCRIPTION_PREFIX = 'SUB#';
const leftPk = (key: string) => `L#${key}`;
const rightPk = (key: string) => `R#${key}`;

/**
 * The DynamoDB operations of a foreign-key join. Every write is a single-item
 * conditional write (no transactions), and every read is strongly consistent:
 * the join's correctness argument relies on both.
 */
export class JoinStateStore {
  private readonly metered: MeteredDocumentClient;

  constructor(
    documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.metered = new MeteredDocumentClient(documents);
  }

  get usage(): JoinStateUsage {
    return this.metered.usage;
  }

  async getLeft(leftKey: string): Promise<LeftRow | undefined> {
    const item = await this.get(leftPk(leftKey), LEFT);
    if (!item) return undefined;
    return { leftOffset: item['leftOffset'] as number, foreignKey: (item['foreignKey'] as string | undefined) ?? null, value: bytes(item['value']) };
  }

  /** Writes the left row unless a later one is stored; an equal offset (a redelivery) is written again. */
  async putLeft(leftKey: string, row: LeftRow): Promise<boolean> {
    return this.conditionalPut(
      { pk: leftPk(leftKey), sk: LEFT, leftOffset: row.leftOffset, ...optional('foreignKey', row.foreignKey), ...optional('value', row.value) },
      'attribute_not_exists(pk) OR leftOffset <= :offset',
      { ':offset': row.leftOffset },
    );
  }

  /** Subscribes a left key to a right key, unless a later left row already holds the subscription. */
  async putSubscription(rightKey: string, leftKey: string, leftOffset: number, value: Buffer): Promise<boolean> {
    return this.conditionalPut(
      { pk: rightPk(rightKey), sk: SUBSCRIPTION_PREFIX + leftKey, leftKey, leftOffset, value },
      'attribute_not_exists(pk) OR leftOffset <= :offset',
      { ':offset': leftOffset },
    );
  }

  /** Retires the subscription an earlier left row (up to and including `leftOffset`) held. */
  async retireSubscription(rightKey: string, leftKey: string, leftOffset: number): Promise<void> {
    await this.conditionalPut(
      {
        pk: rightPk(rightKey),
        sk: SUBSCRIPTION_PREFIX + leftKey,
        leftKey,
        leftOffset,
        retired: true,
        [JOIN_STATE_TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + RETIRED_SUBSCRIPTION_LIFETIME_SECONDS,
      },
      'attribute_not_exists(pk) OR leftOffset <= :offset',
      { ':offset': leftOffset },
    );
  }

  async getRight(rightKey: string): Promise<RightRow | undefined> {
    const item = await this.get(rightPk(rightKey), RIGHT);
    if (!item) return undefined;
    return {
      rightOffset: item['rightOffset'] as number,
      value: bytes(item['value']),
      fanOutCursor: item['fanOutCursor'] as string | undefined,
    };
  }

  /**
   * Writes the right row if it is newer than the stored one.
   * @returns 'written', 'redelivered' (the same offset is stored: resume its fan-out) or 'stale'.
   */
  async putRight(rightKey: string, rightOffset: number, value: Buffer | null): Promise<{ outcome: 'written' } | { outcome: 'redelivered'; stored: RightRow } | { outcome: 'stale' }> {
    const written = await this.conditionalPut(
      { pk: rightPk(rightKey), sk: RIGHT, rightOffset, ...optional('value', value) },
      'attribute_not_exists(pk) OR rightOffset < :offset',
      { ':offset': rightOffset },
    );
    if (written) return { outcome: 'written' };
    const stored = await this.getRight(rightKey);
    return stored?.rightOffset === rightOffset ? { outcome: 'redelivered', stored } : { outcome: 'stale' };
  }

  /** Remembers how far a fan-out got, so the next invocation continues after that subscriber. */
  async saveFanOutCursor(rightKey: string, rightOffset: number, lastLeftKey: string): Promise<void> {
    await this.metered.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: rightPk(rightKey), sk: RIGHT },
        UpdateExpression: 'SET fanOutCursor = :cursor',
        ConditionExpression: 'rightOffset = :offset',
        ExpressionAttributeValues: { ':offset': rightOffset, ':cursor': lastLeftKey },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    ).catch(ignoreConditionFailure);
  }

  /** One page of a right key's subscribers, in left-key order, after `startAfterLeftKey`. */
  async subscribers(
    rightKey: string,
    pageSize: number,
    startAfterLeftKey: string | undefined,
  ): Promise<{ subscriptions: Subscription[]; lastLeftKey: string | undefined }> {
    const response = await this.metered.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': rightPk(rightKey), ':prefix': SUBSCRIPTION_PREFIX },
        ConsistentRead: true,
        Limit: pageSize,
        ...(startAfterLeftKey ? { ExclusiveStartKey: { pk: rightPk(rightKey), sk: SUBSCRIPTION_PREFIX + startAfterLeftKey } } : {}),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const subscriptions = (response.Items ?? []).map((item): Subscription => {
      const leftKey = item['leftKey'] as string;
      const leftOffset = item['leftOffset'] as number;
      return item['retired'] === true ? { leftKey, leftOffset, retired: true } : { leftKey, leftOffset, retired: false, value: bytes(item['value'])! };
    });
    const lastSk = response.LastEvaluatedKey?.['sk'] as string | undefined;
    return { subscriptions, lastLeftKey: lastSk?.slice(SUBSCRIPTION_PREFIX.length) };
  }

  /** The output rows of up to any number of left keys, read consistently in batches of 100. */
  async getOutputs(leftKeys: readonly string[]): Promise<Map<string, OutputRow>> {
    const rows = new Map<string, OutputRow>();
    const unique = [...new Set(leftKeys)];
    for (let start = 0; start < unique.length; start += 100) {
      let keys: Record<string, unknown>[] = unique.slice(start, start + 100).map((key) => ({ pk: leftPk(key), sk: OUTPUT }));
      while (keys.length > 0) {
        const response = await this.metered.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          rows.set((item['pk'] as string).slice(2), toOutputRow(item));
        }
        keys = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return rows;
  }

  /**
   * Replaces a left key's output row if it still has `expectedVersion` (undefined: no row yet).
   * @returns false when another writer changed it first; read it again and decide anew.
   */
  async replaceOutput(leftKey: string, expectedVersion: number | undefined, row: OutputRow): Promise<boolean> {
    return this.conditionalPut(
      {
        pk: leftPk(leftKey),
        sk: OUTPUT,
        version: row.version,
        leftOffset: row.leftOffset,
        rightOffset: row.rightOffset,
        ...optional('value', row.value),
        ...optional('tailVersion', row.tailVersion ?? null),
      },
      expectedVersion === undefined ? 'attribute_not_exists(pk)' : 'version = :expected',
      expectedVersion === undefined ? undefined : { ':expected': expectedVersion },
    );
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const response = await this.metered.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    return response.Item;
  }

  private async conditionalPut(
    item: Record<string, unknown>,
    condition: string,
    values: Record<string, unknown> | undefined,
  ): Promise<boolean> {
    try {
      await this.metered.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function toOutputRow(item: Record<string, unknown>): OutputRow {
  return {
    version: item['version'] as number,
    leftOffset: item['leftOffset'] as number,
    rightOffset: item['rightOffset'] as number,
    value: bytes(item['value']),
    tailVersion: item['tailVersion'] as number | undefined,
  };
}

function bytes(attribute: unknown): Buffer | null {
  return attribute instanceof Uint8Array ? Buffer.from(attribute) : null;
}

/** Leaves an attribute out instead of storing null, so absent values read back as absent. */
function optional(name: string, value: unknown): Record<string, unknown> {
  return value === null || value === undefined ? {} : { [name]: value };
}

function ignoreConditionFailure(error: unknown): void {
  if (!isConditionFailure(error)) throw error;
}
