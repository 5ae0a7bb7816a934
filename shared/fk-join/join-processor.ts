import { forEachConcurrently } from '../concurrency';
import type { FkJoin } from './define-join';
import { CodecError, InvalidJoinInputError } from './errors';
import { isAfter, joinOutput, samePosition, type JoinOutput, type JoinPosition } from './join-result';
import type { JoinOutputRecord, JoinOutputSink } from './join-output-sink';
import type { JoinStateStore, OutputRow } from './join-state-store';

/** A decoded input record: its key, offset in its partition, and value bytes (null = tombstone). */
export interface JoinInputRecord {
  readonly key: string;
  readonly offset: number;
  readonly value: Buffer | null;
}

export interface JoinProcessorOptions {
  /** Subscribers read per Query during a right-side fan-out. @default 100 */
  readonly fanOutPageSize?: number;
  /** Output rows written at once during a fan-out. @default 8 */
  readonly writeConcurrency?: number;
}

interface OutputCandidate {
  readonly leftKey: string;
  readonly position: JoinPosition;
  readonly value: JoinOutput;
}

/**
 * Computes a foreign-key join from left and right entity records, keeping its
 * state in DynamoDB, so that once inputs stop the output topic ends, for every
 * left key, with the join of the latest left and right rows (or with no row).
 *
 * Why this holds under concurrency, at-least-once delivery and crashes:
 * - Each side writes its own row first and reads the other side afterwards, with
 *   strongly consistent operations; a left update registers its subscription
 *   before reading the right row, a right update stores the right row before
 *   querying subscribers. Of two concurrent updates at least one sees the other.
 * - Every result is stamped with its position (left offset, right offset). The
 *   output row of a left key only moves to a later position (compare-and-set on
 *   its version), so a stale result, or an older offset redelivered, can never
 *   replace a newer one. Input rows likewise only move forward by offset.
 * - Publish, then verify: after publishing, the output row is read again and its
 *   newer result, if any, is published too. The writer of the newest version
 *   publishes it, and anyone who published something older afterwards sees the
 *   newer version and publishes it again after theirs; so the last record of
 *   every key is the newest result.
 * - A crash between writing a result and publishing it is repaired by the
 *   redelivery: the same input reaches the same position and republishes the
 *   stored result (a duplicate, with the same version header).
 */
export class JoinProcessor {
  private readonly fanOutPageSize: number;
  private readonly writeConcurrency: number;

  constructor(
    private readonly join: FkJoin,
    private readonly store: JoinStateStore,
    private readonly sink: JoinOutputSink,
    options: JoinProcessorOptions = {},
  ) {
    this.fanOutPageSize = options.fanOutPageSize ?? 100;
    this.writeConcurrency = options.writeConcurrency ?? 8;
  }

  /**
   * Applies a left record: moves its subscription to the new foreign key and
   * recomputes its output.
   * @throws InvalidJoinInputError when the value cannot be decoded, before anything is written
   */
  async applyLeft(record: JoinInputRecord): Promise<void> {
    checkSize(record);
    const foreignKey = record.value === null ? null : this.join.foreignKey(decodeInput(() => this.join.leftCodec.decode(record.value!)));
    if (foreignKey !== null) checkKey('foreign key', foreignKey);
    const stored = await this.store.getLeft(record.key);
    if (stored && stored.leftOffset > record.offset) return;

    if (stored?.foreignKey && stored.foreignKey !== foreignKey) {
      await this.store.retireSubscription(stored.foreignKey, record.key, record.offset);
    }
    if (foreignKey !== null && record.value !== null) {
      await this.store.putSubscription(foreignKey, record.key, record.offset, record.value);
    }
    const written = await this.store.putLeft(record.key, { leftOffset: record.offset, foreignKey, value: record.value });
    if (!written) return;

    const right = foreignKey === null ? undefined : await this.store.getRight(foreignKey);
    await this.applyOutputs([
      {
        leftKey: record.key,
        position: { leftOffset: record.offset, rightOffset: right?.rightOffset ?? -1 },
        value: joinOutput(this.join, record.value, right?.value ?? null),
      },
    ]);
  }

  /**
   * Applies a right record and fans its change out to every subscribed left key,
   * one page at a time. Returns 'paused' when `hasTimeLeft` said stop before the
   * last page: the progress is saved, and the same record delivered again
   * continues after the last subscriber reached.
   * @throws InvalidJoinInputError when the value cannot be decoded, before anything is written
   */
  async applyRight(record: JoinInputRecord, hasTimeLeft: () => boolean = () => true): Promise<'done' | 'paused'> {
    checkSize(record);
    if (record.value !== null) decodeInput(() => this.join.rightCodec.decode(record.value!));
    const put = await this.store.putRight(record.key, record.offset, record.value);
    if (put.outcome === 'stale') return 'done';
    // Delivered again after a crash, this fan-out may have published a result that a newer one had already
    // superseded and then died before it could check: every left key it may have reached, including ones that
    // have since moved to another right key, gets its latest result published again.
    const redelivered = put.outcome === 'redelivered';
    let cursor = redelivered ? put.stored.fanOutCursor : undefined;
    for (;;) {
      const page = await this.store.subscribers(record.key, this.fanOutPageSize, cursor);
      const active = page.subscriptions.flatMap((subscription) => (subscription.retired ? [] : [subscription]));
      await this.applyOutputs(
        active.map((subscription) => ({
          leftKey: subscription.leftKey,
          position: { leftOffset: subscription.leftOffset, rightOffset: record.offset },
          value: joinOutput(this.join, subscription.value, record.value),
        })),
      );
      if (redelivered) {
        await this.republishLatest(page.subscriptions.filter((subscription) => subscription.retired).map((subscription) => subscription.leftKey));
      }
      if (page.lastLeftKey === undefined) return 'done';
      cursor = page.lastLeftKey;
      if (!hasTimeLeft()) {
        await this.store.saveFanOutCursor(record.key, record.offset, cursor);
        return 'paused';
      }
    }
  }

  /** Moves each left key's output row to its candidate, where the candidate is newer, then publishes. */
  private async applyOutputs(candidates: readonly OutputCandidate[]): Promise<void> {
    if (candidates.length === 0) return;
    const toPublish: JoinOutputRecord[] = [];
    let pending = candidates;
    let rows = await this.store.getOutputs(pending.map((candidate) => candidate.leftKey));
    while (pending.length > 0) {
      const lostRace: OutputCandidate[] = [];
      await forEachConcurrently(pending, this.writeConcurrency, async (candidate) => {
        const row = rows.get(candidate.leftKey);
        if (row && !isAfter(candidate.position, row)) {
          // The same position again is a redelivery: its publish may have been lost in a crash.
          if (samePosition(candidate.position, row)) pushTail(toPublish, candidate.leftKey, row);
          return;
        }
        const next = nextOutputRow(row, candidate);
        if (await this.store.replaceOutput(candidate.leftKey, row?.version, next)) {
          if (next.tailVersion === next.version) toPublish.push({ leftKey: candidate.leftKey, version: next.version, value: next.value });
        } else {
          lostRace.push(candidate);
        }
      });
      pending = lostRace;
      if (pending.length > 0) rows = await this.store.getOutputs(pending.map((candidate) => candidate.leftKey));
    }
    await this.publishAndVerify(toPublish);
  }

  /** Publishes the latest result of each left key again (a duplicate where it was already the last). */
  private async republishLatest(leftKeys: readonly string[]): Promise<void> {
    if (leftKeys.length === 0) return;
    const rows = await this.store.getOutputs(leftKeys);
    const latest: JoinOutputRecord[] = [];
    for (const [leftKey, row] of rows) pushTail(latest, leftKey, row);
    await this.publishAndVerify(latest);
  }

  /** Publishes, then re-reads the rows and publishes any newer result until none is newer. */
  private async publishAndVerify(records: readonly JoinOutputRecord[]): Promise<void> {
    let batch = records;
    while (batch.length > 0) {
      await this.sink.publish(batch);
      const rows = await this.store.getOutputs(batch.map((record) => record.leftKey));
      const newer: JoinOutputRecord[] = [];
      for (const record of batch) {
        const row = rows.get(record.leftKey);
        if (row?.tailVersion !== undefined && row.tailVersion > record.version) pushTail(newer, record.leftKey, row);
      }
      batch = newer;
    }
  }
}

/**
 * The largest input value a join takes. Its rows hold an input value (left row,
 * subscription, right row) or an output built from a left and a right value,
 * and a DynamoDB item holds at most 400 KB: a larger value could never be
 * written, and the partition would retry it forever.
 */
export const MAX_JOIN_VALUE_BYTES = 128 * 1024;

/**
 * The longest key (record key or foreign key) a join takes, in UTF-8 bytes.
 * Keys are parts of DynamoDB keys (a sort key holds at most 1,024 bytes): a
 * longer one could never be written, and the partition would retry it forever.
 */
export const MAX_JOIN_KEY_BYTES = 512;

function checkKey(role: string, key: string): void {
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_JOIN_KEY_BYTES) {
    throw new InvalidJoinInputError(`${role} of ${bytes} bytes is longer than a join takes (${MAX_JOIN_KEY_BYTES} bytes; keys are parts of DynamoDB keys)`, false);
  }
}

function checkSize(record: JoinInputRecord): void {
  checkKey('record key', record.key);
  if (record.value !== null && record.value.length > MAX_JOIN_VALUE_BYTES) {
    throw new InvalidJoinInputError(`value of ${record.value.length} bytes is larger than a join takes (${MAX_JOIN_VALUE_BYTES} bytes; its state lives in DynamoDB items of at most 400 KB)`, false);
  }
}

/** Decodes an input record's own value; only this failure makes a record invalid. */
function decodeInput<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CodecError) throw new InvalidJoinInputError(error.message, false, { cause: error });
    throw error;
  }
}

/**
 * The row after applying a candidate. A tombstone that follows a tombstone (or
 * no output at all) is recorded but not emitted: the tail stays where it was.
 */
function nextOutputRow(row: OutputRow | undefined, candidate: OutputCandidate): OutputRow {
  const version = (row?.version ?? 0) + 1;
  const emitted = candidate.value !== null || (row?.value ?? null) !== null;
  return {
    version,
    leftOffset: candidate.position.leftOffset,
    rightOffset: candidate.position.rightOffset,
    value: candidate.value,
    tailVersion: emitted ? version : row?.tailVersion,
  };
}

/** The record the output topic should end with for this row, if any. */
function pushTail(into: JoinOutputRecord[], leftKey: string, row: OutputRow): void {
  if (row.tailVersion !== undefined) into.push({ leftKey, version: row.tailVersion, value: row.value });
}
