/*
 * The items of a join-state table (one table per join, string keys pk / sk):
 *
 *   L#<leftKey>   L                         left row: the latest left record (offset, foreign key, value) and
 *                                           the join's output state for it (right offset joined, whether the
 *                                           last output was a value), under a revision every write bumps
 *   R#<rightKey>  R                         right row: the latest right record (offset, value; deletes stay as markers)
 *   R#<rightKey>  C#<offset>                fan-out cursor: where a paused fan-out of that right record continues
 *   R#<rightKey>  S#<leftKey>#<offset>      subscription entry: the left key referred to this right key from
 *                                           the left record at <offset> on; retired (with a TTL) once it moves on
 *   P#<partition> P                         ledger: how far attempts on a left partition have got
 *
 * A subscription entry holds no value: the fan-out reads the left rows it names, in batches, so a left
 * update that keeps its foreign key writes one item.
 */

import type { LeftRowItem, RightRowItem, SubscriptionItem } from './join-state-schema';

export const LEFT_SK = 'L';
export const RIGHT_SK = 'R';
export const LEDGER_SK = 'P';
export const SUBSCRIPTION_PREFIX = 'S#';
export const CURSOR_PREFIX = 'C#';

/** DynamoDB's limits for one BatchGetItem and one BatchWriteItem. */
export const BATCH_GET_LIMIT = 100;
export const BATCH_WRITE_LIMIT = 25;

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** A left key's row: its latest left record, and where the join's output for it stands. */
export interface LeftRow {
  readonly leftKey: string;
  /** Bumped by every write; conditional writes compare it. */
  readonly rev: number;
  /** Offset of the left record held; −1 in a placeholder row (no left record yet). */
  readonly leftOffset: number;
  readonly foreignKey: string | null;
  /** Null when the left record is a tombstone (or the row a placeholder). */
  readonly value: Buffer | null;
  /** Offset of the left record that wrote the current subscription entry (null without a foreign key). */
  readonly subscribedAt: number | null;
  /** Offset of the right record the current output was joined with (−1: none). */
  readonly outputRightOffset: number;
  /** Whether the last output published for the key is a value (false: a tombstone, or nothing yet). */
  readonly emitted: boolean;
}

export interface RightRow {
  readonly rightKey: string;
  readonly rightOffset: number;
  /** Null when the right record is a tombstone. */
  readonly value: Buffer | null;
}

export interface Subscription {
  readonly rightKey: string;
  readonly leftKey: string;
  /** Offset of the left record that subscribed. */
  readonly subscribedAt: number;
  /** The left key has moved on; kept until a redelivered fan-out can no longer come (TTL). */
  readonly retired: boolean;
}

export const leftRowKey = (leftKey: string): ItemKey => ({ pk: `L#${leftKey}`, sk: LEFT_SK });
export const rightRowKey = (rightKey: string): ItemKey => ({ pk: `R#${rightKey}`, sk: RIGHT_SK });
export const ledgerKey = (partition: string): ItemKey => ({ pk: `P#${partition}`, sk: LEDGER_SK });
/** Where a paused fan-out of one right record continues: beside the right row, one item per offset. */
export const fanOutCursorKey = (rightKey: string, rightOffset: number): ItemKey => ({
  pk: `R#${rightKey}`,
  sk: `${CURSOR_PREFIX}${rightOffset}`,
});
/** The offset is last and all digits, so distinct (left key, offset) pairs never share a sort key. */
export const subscriptionKey = (subscription: Pick<Subscription, 'rightKey' | 'leftKey' | 'subscribedAt'>): ItemKey => ({
  pk: `R#${subscription.rightKey}`,
  sk: `${SUBSCRIPTION_PREFIX}${subscription.leftKey}#${subscription.subscribedAt}`,
});

export function toLeftRowItem(row: LeftRow): LeftRowItem {
  return {
    ...leftRowKey(row.leftKey),
    leftKey: row.leftKey,
    rev: row.rev,
    leftOffset: row.leftOffset,
    outputRightOffset: row.outputRightOffset,
    emitted: row.emitted,
    // Absent rather than null, so an absent value reads back as absent.
    ...(row.foreignKey === null ? {} : { foreignKey: row.foreignKey }),
    ...(row.value === null ? {} : { value: row.value }),
    ...(row.subscribedAt === null ? {} : { subscribedAt: row.subscribedAt }),
  };
}

export function toLeftRow(item: Record<string, unknown>): LeftRow {
  return {
    leftKey: item.leftKey as string,
    rev: item.rev as number,
    leftOffset: item.leftOffset as number,
    foreignKey: (item.foreignKey as string | undefined) ?? null,
    value: bytes(item.value),
    subscribedAt: (item.subscribedAt as number | undefined) ?? null,
    outputRightOffset: (item.outputRightOffset as number | undefined) ?? -1,
    emitted: item.emitted === true,
  };
}

export function toRightRowItem(row: RightRow): RightRowItem {
  return {
    ...rightRowKey(row.rightKey),
    rightKey: row.rightKey,
    rightOffset: row.rightOffset,
    ...(row.value === null ? {} : { value: row.value }),
  };
}

export function toRightRow(item: Record<string, unknown>): RightRow {
  return {
    rightKey: item.rightKey as string,
    rightOffset: item.rightOffset as number,
    value: bytes(item.value),
  };
}

export function toSubscriptionItem(subscription: Subscription, expiresAt: number | undefined): SubscriptionItem {
  return {
    ...subscriptionKey(subscription),
    leftKey: subscription.leftKey,
    subscribedAt: subscription.subscribedAt,
    ...(subscription.retired ? { retired: true, ...(expiresAt === undefined ? {} : { expiresAt }) } : {}),
  };
}

export function toSubscription(item: Record<string, unknown>): Subscription {
  return {
    rightKey: (item.pk as string).slice(2),
    leftKey: item.leftKey as string,
    subscribedAt: item.subscribedAt as number,
    retired: item.retired === true,
  };
}

function bytes(attribute: unknown): Buffer | null {
  return attribute instanceof Uint8Array ? Buffer.from(attribute.buffer, attribute.byteOffset, attribute.byteLength) : null;
}
