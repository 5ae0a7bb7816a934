import { mapConcurrently } from '../concurrency';
import { converge, worse, type ConvergeTarget, type LeftInput } from './converge';
import type { FkJoin } from './define-join';
import { InvalidJoinInputError } from './errors';
import type { JoinOutputSink } from './join-output-sink';
import type { JoinStateStore, LeftRow, Subscription } from './join-state-store';

export type { LeftInput } from './converge';

/** An input record as its handler decoded it: its key, offset in its partition, and value (null = tombstone). */
export interface JoinInput {
  readonly key: string;
  readonly offset: number;
  readonly value: unknown;
}

/** An input record as the join keeps it: its key, offset in its partition, and value as JSON text (null = tombstone). */
export interface JoinInputRecord {
  readonly key: string;
  readonly offset: number;
  readonly value: Buffer | null;
}

/** The valid records of one partition in a batch, in offset order. */
export interface PartitionBatch<T extends JoinInputRecord = JoinInputRecord> {
  /** Identifies the partition, e.g. `items-0`. */
  readonly partition: string;
  readonly records: readonly T[];
}

export interface JoinProcessorOptions {
  /** Subscription entries read per Query during a fan-out. @default 100 */
  readonly fanOutPageSize?: number;
  /** Right keys whose fan-outs read their next page at once. @default 8 */
  readonly fanOutConcurrency?: number;
}

/** A record whose fan-out paused, from which its partition is to be delivered again. */
export interface PausedRecord {
  readonly partition: string;
  readonly offset: number;
}

interface FanOut {
  readonly partition: string;
  readonly record: JoinInputRecord;
  /** An earlier attempt of this fan-out may have published: every key it may have reached is published again. */
  readonly repair: boolean;
  cursor: string | undefined;
}

/**
 * Computes a foreign-key join from batches of left and right entity records,
 * keeping its state in DynamoDB, so that once inputs stop the output topic
 * ends, for every left key, with the join of the latest left and right rows
 * (or with no row). Each batch is coalesced per key first, as Kafka Streams'
 * record cache does: intermediate results of a key may be skipped, the last never.
 *
 * The design and the argument for its correctness under concurrent left and
 * right invocations, crashes, redeliveries, rewinds and zombie invocations are
 * in this module's README.
 */
export class JoinProcessor {
  private readonly fanOutPageSize: number;
  private readonly fanOutConcurrency: number;

  constructor(
    private readonly join: FkJoin,
    private readonly store: JoinStateStore,
    private readonly sink: JoinOutputSink,
    options: JoinProcessorOptions = {},
  ) {
    this.fanOutPageSize = options.fanOutPageSize ?? 100;
    this.fanOutConcurrency = options.fanOutConcurrency ?? 8;
  }

  /**
   * Checks a left record and extracts its foreign key.
   * @throws InvalidJoinInputError when it cannot be joined (dead-letter it)
   */
  prepareLeft(input: JoinInput): LeftInput {
    const record = kept(input);
    const foreignKey = input.value === null ? null : this.join.foreignKey(input.value);
    if (foreignKey !== null) checkKey('foreign key', foreignKey);
    return { ...record, decodedValue: input.value, foreignKey };
  }

  /**
   * Checks a right record.
   * @throws InvalidJoinInputError when it cannot be joined (dead-letter it)
   */
  prepareRight(input: JoinInput): JoinInputRecord {
    return kept(input);
  }

  /**
   * Applies a batch of left records: for each key its last record moves its
   * subscription (when the foreign key changes) and recomputes its output.
   */
  async applyLeft(batches: readonly PartitionBatch<LeftInput>[]): Promise<void> {
    const latest = new Map<string, ConvergeTarget>();
    for (const batch of batches)
      for (const input of batch.records) latest.set(input.key, { leftKey: input.key, input, unrecorded: 'nothing' });
    if (latest.size === 0) return;
    await this.markRedeliveries(batches, latest);
    const rows = await this.store.readLeftRows([...latest.keys()], false);
    await converge(this.join, this.store, this.sink, [...latest.values()], rows);
  }

  /**
   * Applies a batch of right records: for each key its last record is stored and fanned out to every
   * subscribed left key, a page at a time, a bounded number of keys at once. When `hasTimeLeft` says stop,
   * progress is saved and the unfinished records are returned: delivered again, a fan-out continues after
   * the last subscription it reached, and one not started starts.
   * @returns the records whose fan-out paused or did not start
   */
  async applyRight(batches: readonly PartitionBatch[], hasTimeLeft: () => boolean = () => true): Promise<PausedRecord[]> {
    const latest = new Map<string, { partition: string; record: JoinInputRecord; firstOffset: number }>();
    for (const batch of batches) {
      for (const record of batch.records)
        latest.set(record.key, { partition: batch.partition, record, firstOffset: latest.get(record.key)?.firstOffset ?? record.offset });
    }
    const waiting = [...latest.values()];
    let active: FanOut[] = [];
    for (let wave = 0; active.length > 0 || waiting.length > 0; wave += 1) {
      if (wave > 0 && !hasTimeLeft()) {
        const paused: PausedRecord[] = waiting.map(({ partition, record }) => ({ partition, offset: record.offset }));
        for (const fanOut of active) {
          await this.store.saveFanOutCursor(fanOut.record.key, fanOut.record.offset, fanOut.cursor!);
          paused.push({ partition: fanOut.partition, offset: fanOut.record.offset });
        }
        return paused;
      }
      // Bounded, so that one wave stays well inside an invocation whatever the batch size.
      const starting = waiting.splice(0, Math.max(0, this.fanOutConcurrency * 4 - active.length));
      const started = await mapConcurrently(starting, this.fanOutConcurrency, (entry) => this.startFanOut(entry));
      active = [...active, ...started.filter((fanOut): fanOut is FanOut => fanOut !== undefined)];
      if (active.length === 0) continue;
      const pages = await mapConcurrently(active, this.fanOutConcurrency, (fanOut) =>
        this.store.subscriptions(fanOut.record.key, this.fanOutPageSize, fanOut.cursor),
      );
      await this.fanOutPage(active.map((fanOut, index) => ({ fanOut, subscriptions: pages[index]!.subscriptions })));
      active = active.filter((fanOut, index) => {
        fanOut.cursor = pages[index]!.cursor;
        return fanOut.cursor !== undefined;
      });
    }
    return [];
  }

  /** Stores a right record and decides how its fan-out runs. */
  private async startFanOut({
    partition,
    record,
    firstOffset,
  }: {
    partition: string;
    record: JoinInputRecord;
    firstOffset: number;
  }): Promise<FanOut | undefined> {
    const put = await this.store.putRight(record.key, record.offset, record.value);
    if (put.outcome === 'written') {
      // A record of this batch stored before means an earlier attempt of the batch got that far.
      const repair = put.previousOffset !== undefined && put.previousOffset >= firstOffset;
      if (repair) await this.store.markFanOutRepairing(record.key, record.offset);
      return { partition, record, repair, cursor: undefined };
    }
    // Delivered again (or a later record is stored: a rewind, a redelivery, a concurrent invocation). An
    // attempt of this record may have published, even after the later one's fan-out: every key it may have
    // reached is published again, from where a paused attempt got. Only the first resumption from a cursor
    // saved by plain attempts continues plainly; once any attempt of the record has repaired (it is marked
    // before it publishes), every later one repairs, for a repairing attempt that died may have published
    // past the cursor, even to keys that have moved on since.
    const saved = await this.store.readFanOutCursor(record.key, record.offset);
    const cursor = saved?.cursor;
    if (saved?.repair) return { partition, record, repair: true, cursor };
    const plain = cursor !== undefined && (await this.store.claimResumption(record.key, record.offset, cursor));
    if (!plain) await this.store.markFanOutRepairing(record.key, record.offset);
    return { partition, record, repair: !plain, cursor };
  }

  /** Joins one page of subscription entries of each fan-out with the right rows just stored. */
  private async fanOutPage(pages: ReadonlyArray<{ fanOut: FanOut; subscriptions: readonly Subscription[] }>): Promise<void> {
    const entries = pages.flatMap(({ fanOut, subscriptions }) => subscriptions.map((subscription) => ({ fanOut, subscription })));
    if (entries.length === 0) return;
    // A retired entry's row is read only to repair: a first fan-out has nothing to join there.
    const needed = entries.filter(({ fanOut, subscription }) => fanOut.repair || !subscription.retired);
    const rows = new Map(await this.store.readLeftRows([...new Set(needed.map((entry) => entry.subscription.leftKey))], true));
    const targets = new Map<string, ConvergeTarget>();
    const target = (leftKey: string, repair: boolean) => {
      const unrecorded = repair ? 'value' : 'nothing';
      const existing = targets.get(leftKey);
      if (existing) existing.unrecorded = worse(existing.unrecorded, unrecorded);
      else targets.set(leftKey, { leftKey, unrecorded });
    };
    const outdated: Subscription[] = [];

    const classify = (fanOut: FanOut, subscription: Subscription, row: LeftRow | undefined): 'pending' | 'done' => {
      if (subscription.retired) {
        if (fanOut.repair) target(subscription.leftKey, true);
        return 'done';
      }
      // The left record that subscribed has not written its row yet: it is between subscribing and
      // reading this right row, or has just read an older one. Leave its write to fail instead.
      if (row === undefined || row.leftOffset < subscription.subscribedAt) return 'pending';
      if (row.foreignKey === subscription.rightKey && row.subscribedAt === subscription.subscribedAt) {
        target(subscription.leftKey, fanOut.repair);
      } else {
        // The row has moved past this entry (its retirement was lost in a crash, or it was never used).
        outdated.push({ ...subscription, retired: true });
        if (fanOut.repair) target(subscription.leftKey, true);
      }
      return 'done';
    };

    const pending = new Map<string, number>();
    for (const { fanOut, subscription } of entries) {
      if (classify(fanOut, subscription, rows.get(subscription.leftKey)) === 'pending') {
        pending.set(subscription.leftKey, Math.max(subscription.subscribedAt, pending.get(subscription.leftKey) ?? -1));
      }
    }
    if (pending.size > 0) {
      const overtaken: string[] = [];
      await mapConcurrently([...pending], this.fanOutConcurrency, async ([leftKey, subscribedAt]) => {
        if (!(await this.store.nudgeLeftRow(leftKey, subscribedAt))) overtaken.push(leftKey);
      });
      // The subscribing record wrote its row meanwhile: join it like any other.
      if (overtaken.length > 0) {
        const reread = await this.store.readLeftRows(overtaken, true);
        for (const leftKey of overtaken) {
          const row = reread.get(leftKey);
          if (row) rows.set(leftKey, row);
        }
        for (const { fanOut, subscription } of entries) {
          if (overtaken.includes(subscription.leftKey)) classify(fanOut, subscription, rows.get(subscription.leftKey));
        }
      }
    }
    await converge(this.join, this.store, this.sink, [...targets.values()], rows);
    await this.store.writeSubscriptions(outdated);
  }

  /**
   * Records in each partition's ledger how far attempts have got, and marks the keys that have any record an
   * earlier attempt may have published (a redelivery, with the same or other batch boundaries, or a concurrent
   * invocation): their result is published even where it would otherwise be skipped.
   */
  private async markRedeliveries(
    batches: readonly PartitionBatch<LeftInput>[],
    latest: ReadonlyMap<string, ConvergeTarget>,
  ): Promise<void> {
    await mapConcurrently(batches, this.fanOutConcurrency, async (batch) => {
      const last = batch.records.at(-1);
      if (!last) return;
      const attemptedThrough = await this.store.markAttempted(batch.partition, last.offset);
      if (attemptedThrough === undefined) return;
      for (const record of batch.records) {
        const target = latest.get(record.key);
        if (target && record.offset <= attemptedThrough) target.unrecorded = 'value';
      }
    });
  }
}

/**
 * The largest input value a join takes. Its rows hold an input value (left row,
 * right row), and a DynamoDB item holds at most 400 KB: a larger value could
 * never be written, and the partition would retry it forever.
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
    throw new InvalidJoinInputError(
      `${role} of ${bytes} bytes is longer than a join takes (${MAX_JOIN_KEY_BYTES} bytes; keys are parts of DynamoDB keys)`,
      false,
    );
  }
}

function checkSize(record: JoinInputRecord): void {
  checkKey('record key', record.key);
  if (record.value !== null && record.value.length > MAX_JOIN_VALUE_BYTES) {
    throw new InvalidJoinInputError(
      `value of ${record.value.length} bytes is larger than a join takes (${MAX_JOIN_VALUE_BYTES} bytes; its state lives in DynamoDB items of at most 400 KB)`,
      false,
    );
  }
}

/** The record as the join keeps it (its value as JSON text, the form its rows hold), checked to fit. */
function kept(input: JoinInput): JoinInputRecord {
  const record = { key: input.key, offset: input.offset, value: input.value === null ? null : Buffer.from(JSON.stringify(input.value)) };
  checkSize(record);
  return record;
}
