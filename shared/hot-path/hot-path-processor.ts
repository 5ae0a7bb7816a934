import { randomUUID } from 'node:crypto';
import { forEachConcurrently } from '../concurrency';
import { coalesceNewest, newestOf, type HotUpdateRecord } from './coalesce';
import { isNewerUpdate, type HotStream, type UpdateOrder } from './define-hot-stream';
import { BatchIncompleteError, HotPathError, TimeBudgetExceededError, UpdateRefusedError } from './errors';
import type { HotDelta, HotDeltaSink } from './hot-delta-sink';
import { isBufferedRangeKey, type BufferedRange, type HotState, type HotStateStore } from './hot-state-store';
import { WriteBehindBuffer } from './write-behind-buffer';

export interface HotPathProcessorOptions<U extends UpdateOrder> {
  /** Keys written at once; bounds the DynamoDB write concurrency of one invocation. @default 8 */
  readonly writeConcurrency?: number;
  /** Pending keys read per index Query during a flush. @default 100 */
  readonly flushPageSize?: number;
  readonly now?: () => number;
  /**
   * Reads a buffered range again from the input topic, parsed (records that do
   * not parse were dead-lettered the first time and are skipped). Required
   * when the stream coalesces across batches.
   */
  readonly readRange?: (range: BufferedRange, timeoutMs: number) => Promise<ReplayedRange<U>>;
  /** Names this execution environment's buffered ranges. @default a random UUID */
  readonly environmentId?: string;
  /** A partition's write-behind buffer is stored before its window ends once it holds this many keys. @default 100,000 */
  readonly maxBufferedKeysPerPartition?: number;
  /**
   * Takes the updates the hot state refuses for good (see UpdateRefusedError)
   * to the dead-letter topic, and resolves once they are there; each key then
   * falls back to its newest update that can be stored. Called before the keys
   * count as done. @default none: a refused update fails the batch (retried forever)
   */
  readonly deadLetter?: (refused: readonly RefusedUpdate<U>[]) => Promise<void>;
  /** Where the processor reports what it cannot fix and the batch survives (a replay that failed, updates lost to retention). @default console */
  readonly logger?: Pick<Console, 'error'>;
}

/** An update the hot state refused for good, to dead-letter: the record it came from, and why. */
export interface RefusedUpdate<U extends UpdateOrder> {
  readonly record: HotUpdateRecord<U>;
  readonly error: UpdateRefusedError;
}

/** A buffered range read again: its updates, and where the log started if retention already deleted its beginning. */
export interface ReplayedRange<U extends UpdateOrder> {
  readonly records: HotUpdateRecord<U>[];
  readonly lostBefore: number | undefined;
}

/** What one batch did, for metrics, tests and the benchmark. */
export interface HotBatchResult {
  readonly updates: number;
  /** Keys written after coalescing (within the batch, or across batches in the write-behind buffer). */
  readonly keysApplied: number;
  /** Updates older than what was stored (redelivered or out of order), ignored. */
  readonly stale: number;
  readonly emitted: number;
  /** Values equal to the last emitted one, dropped. */
  readonly unchanged: number;
  /** Updates read again from the input topic for an environment that never stored its buffer. */
  readonly replayed: number;
  /** Updates the hot state refused for good, dead-lettered (each key fell back to its newest update that could be stored). */
  readonly refused: number;
}

type Counts = { -readonly [K in Exclude<keyof HotBatchResult, 'updates'>]: number };

/**
 * Applies a batch of high-frequency updates: coalesces it to the newest update
 * per key, stores each only if it is newer than the stored one, and emits a
 * key's delta at most once per interval — at once when due or when the stream
 * says the change must not wait, otherwise later, when the partition's
 * consumer flushes due keys (on every invocation, and on flush ticks).
 *
 * With a coalesce window, updates that cannot be pass-throughs are held in
 * memory per partition and stored (and emitted) when the window ends, in an
 * invocation for that partition; each batch's offsets are recorded first, so
 * a partition's consumer replays them from the topic if this environment
 * never comes back (see {@link BufferedRange}).
 *
 * Only the consumer of a key's partition ever emits it, one batch at a time,
 * so a key's deltas are published in order. Each update's trace goes with it
 * (coalescing keeps the survivor's, the hot state stores it in the write that
 * stores the update) and its delta is a child of it, whenever it is emitted. Emitting is publish-then-mark: a
 * crash in between re-emits the same version (a duplicate), never loses it.
 *
 * An update the hot state refuses for good goes to `deadLetter`, and its key
 * falls back to its newest update that can be stored: no valid update is
 * skipped for a bad one. A batch that fails part-way throws
 * {@link BatchIncompleteError}, naming per partition the first record not done
 * (keys are stored in the order of their first record, so that is as late as it can be).
 */
export class HotPathProcessor<U extends UpdateOrder> {
  private readonly writeConcurrency: number;
  private readonly flushPageSize: number;
  private readonly now: () => number;
  private readonly environmentId: string;
  private readonly buffer: WriteBehindBuffer<U>;
  /** The revision of this environment's buffered range per partition, as last written. */
  private readonly rangeRevisions = new Map<number, { fromOffset: number; toOffset: number; revision: number }>();
  /**
   * The name this environment's range of a partition is written under. A buffer dropped unstored leaves its range
   * to be replayed; later batches of the partition then go to a range under a new name, never into that one.
   */
  private readonly rangeOwners = new Map<number, string>();
  /**
   * What this execution environment last saw emitted per key. Only a hint that
   * saves writes: with it, a due update claims its emission in the same write
   * that stores it. Every decision is still checked by a conditional write.
   */
  private readonly lastEmitted = new Map<string, { readonly at: number; readonly value: U }>();

  constructor(
    private readonly stream: HotStream<U>,
    private readonly store: HotStateStore<U>,
    private readonly sink: HotDeltaSink<U>,
    private readonly options: HotPathProcessorOptions<U> = {},
  ) {
    this.writeConcurrency = options.writeConcurrency ?? 8;
    this.flushPageSize = options.flushPageSize ?? 100;
    this.now = options.now ?? Date.now;
    this.environmentId = options.environmentId ?? randomUUID();
    this.buffer = new WriteBehindBuffer(stream, stream.coalesceWindowMs, options.maxBufferedKeysPerPartition ?? 100_000);
    if (stream.coalesceWindowMs > 0 && !options.readRange) {
      throw new HotPathError(`hot stream "${stream.name}" coalesces across batches: its processor needs readRange to replay a lost buffer`);
    }
  }

  /** Keys held in the write-behind buffer, over all partitions. */
  get bufferedKeys(): number {
    return this.buffer.size;
  }

  /**
   * @param partitions the input partitions (`<topic>-<partition>`) of the batch, flushed afterwards
   * @param hasTimeLeft asked before each key; when it says no, the batch fails with a retriable
   *   TimeBudgetExceededError before any key is left half-applied
   * @param timeLeftMs the time a replay of another environment's lost buffer may take
   * @throws BatchIncompleteError when storing the batch's own updates failed part-way (its cause says why);
   *   other errors when nothing, or only work for earlier batches (buffers, flushes), failed
   */
  async processBatch(
    records: readonly HotUpdateRecord<U>[],
    partitions: readonly string[],
    hasTimeLeft: () => boolean = () => true,
    /** How long a replay may take, at most. */
    timeLeftMs: () => number = () => DEFAULT_REPLAY_TIME_MS,
  ): Promise<HotBatchResult> {
    const counts: Counts = { keysApplied: 0, stale: 0, emitted: 0, unchanged: 0, replayed: 0, refused: 0 };
    const now = this.now();
    let storeNow = records;
    if (this.stream.coalesceWindowMs > 0) {
      this.dropBuffersGoneElsewhere(new Set(partitions.map(partitionNumber)), now);
      const passing: HotUpdateRecord<U>[] = [];
      const held: HotUpdateRecord<U>[] = [];
      for (const record of records) (this.stream.mayPassThrough(record.update) ? passing : held).push(record);
      await this.holdBack(held, now);
      storeNow = passing;
    }

    const newest = [...coalesceNewest(this.stream, storeNow)];
    const applied = await this.applyNewest(newest, now, hasTimeLeft, counts, async (key) => this.recordsOf(key, storeNow));
    const failure =
      (await this.settle(applied, now, counts)) ??
      (applied.remaining.length > 0 ? { error: new TimeBudgetExceededError(applied.remaining.length) } : undefined);
    if (failure) throw this.incomplete(failure.error, storeNow, applied.notDone);
    // Owed keys are pending in the index: emitting them may stop early when time runs short, the next flush goes on.
    await this.emitDue(applied.owed, counts);

    for (const partition of partitions) {
      if (!hasTimeLeft()) break;
      const number = partitionNumber(partition);
      if (this.buffer.isDue(number, this.now())) await this.storeBuffered(number, hasTimeLeft, timeLeftMs, counts);
      await this.flush(partition, counts, hasTimeLeft, timeLeftMs);
    }
    return { updates: records.length, ...counts };
  }

  /**
   * The error a failed batch throws: per partition, the first of its records whose key is not done, so the event
   * source retries from there. The records before it are stored, buffered or dead-lettered; the ones after it are
   * applied again (idempotent).
   */
  private incomplete(error: unknown, records: readonly HotUpdateRecord<U>[], notDone: ReadonlySet<string>): unknown {
    const resumeAt = new Map<number, number>();
    for (const record of records) {
      if (!notDone.has(this.stream.stateKey(record.recordKey, record.update))) continue;
      const first = resumeAt.get(record.partition);
      if (first === undefined || record.offset < first) resumeAt.set(record.partition, record.offset);
    }
    // Nothing of this batch's own is left undone: a plain failure.
    if (resumeAt.size === 0) return error;
    return new BatchIncompleteError(
      [...resumeAt].map(([partition, offset]) => ({ partition: `${this.stream.inputTopic}-${partition}`, offset })),
      error,
    );
  }

  /** The records of a state key among `records`. */
  private recordsOf(key: string, records: readonly HotUpdateRecord<U>[]): HotUpdateRecord<U>[] {
    return records.filter((record) => this.stream.stateKey(record.recordKey, record.update) === key);
  }

  /**
   * A partition that moved to other environments has its range replayed there: what this one still holds of it is
   * dropped unreleased, so memory does not grow with partitions it no longer sees. The partitions this invocation
   * holds are kept however old their buffers: only one invocation at a time has a partition, and it stores them.
   */
  private dropBuffersGoneElsewhere(current: ReadonlySet<number>, now: number): void {
    for (const partition of this.buffer.heldSince(now - REPLAY_AFTER_WINDOWS * this.stream.coalesceWindowMs)) {
      if (current.has(partition)) continue;
      this.buffer.take(partition);
      this.rangeRevisions.delete(partition);
      this.rangeOwners.set(partition, `${this.environmentId}.${randomUUID().slice(0, 8)}`);
    }
  }

  /** Buffers updates, having recorded their offsets per partition first (one write per partition). */
  private async holdBack(records: readonly HotUpdateRecord<U>[], now: number): Promise<void> {
    const ranges = new Map<number, { fromOffset: number; toOffset: number }>();
    for (const record of records) {
      const range = ranges.get(record.partition);
      ranges.set(record.partition, {
        fromOffset: Math.min(range?.fromOffset ?? record.offset, record.offset),
        toOffset: Math.max(range?.toOffset ?? record.offset, record.offset),
      });
    }
    this.buffer.add(records, now);
    const replayAt = now + REPLAY_AFTER_WINDOWS * this.stream.coalesceWindowMs;
    for (const [partition, batch] of ranges) {
      const known = this.rangeRevisions.get(partition);
      const fromOffset = Math.min(known?.fromOffset ?? batch.fromOffset, batch.fromOffset);
      const toOffset = Math.max(known?.toOffset ?? batch.toOffset, batch.toOffset);
      const range = { topic: this.stream.inputTopic, partition, environmentId: this.rangeOwner(partition), fromOffset, toOffset };
      const revision = await this.store.recordBufferedRange(range, known?.revision, replayAt);
      // A fresh item (revision 1) starts over at this batch: the released one was replayed.
      this.rangeRevisions.set(partition, revision === 1 ? { ...batch, revision } : { fromOffset, toOffset, revision });
    }
  }

  private rangeOwner(partition: number): string {
    return this.rangeOwners.get(partition) ?? this.environmentId;
  }

  /** Stores (and emits) what this environment holds for a partition, then releases its buffered range. */
  private async storeBuffered(partition: number, hasTimeLeft: () => boolean, timeLeftMs: () => number, counts: Counts): Promise<void> {
    const held = this.buffer.take(partition);
    if (!held) return;
    const now = this.now();
    let applied: Applied<U>;
    try {
      applied = await this.applyNewest([...held.updates], now, hasTimeLeft, counts, this.heldRecords(partition, timeLeftMs));
      const failure = await this.settle(applied, now, counts);
      if (failure) throw failure.error;
      await this.emitDue(applied.owed, counts);
    } catch (error) {
      // These updates' offsets were committed long ago: they live only here (and in the range) until stored and
      // published. Applying again is harmless: conditional on versions, and a claimed emission is published again.
      this.buffer.putBack(held, held.updates.values());
      throw error;
    }
    this.buffer.putBack(
      held,
      applied.remaining.map(([, record]) => record),
    );
    const range = this.rangeRevisions.get(partition);
    if (applied.remaining.length === 0 && range) {
      await this.store.releaseBufferedRange({
        topic: this.stream.inputTopic,
        partition,
        environmentId: this.rangeOwner(partition),
        ...range,
      });
      this.rangeRevisions.delete(partition);
    }
  }

  /**
   * The records of a key held for a partition, read again from the input topic (the buffer keeps only the newest
   * per key): where the hot state refuses a held update, its key falls back to the newest one before it. The range
   * is read once per store, and only when an update was refused.
   */
  private heldRecords(partition: number, timeLeftMs: () => number): (key: string) => Promise<HotUpdateRecord<U>[]> {
    let reading: Promise<readonly HotUpdateRecord<U>[]> | undefined;
    return async (key) => {
      const range = this.rangeRevisions.get(partition);
      if (!range || !this.options.readRange) return [];
      const buffered: BufferedRange = { topic: this.stream.inputTopic, partition, environmentId: this.rangeOwner(partition), ...range };
      reading ??= this.options.readRange(buffered, timeLeftMs()).then((replayed) => replayed.records);
      return this.recordsOf(key, await reading);
    };
  }

  /** Stores and emits a range another environment buffered and never stored, read again from the topic. */
  private async replay(key: string, hasTimeLeft: () => boolean, timeLeftMs: () => number, counts: Counts): Promise<void> {
    const range = await this.store.getBufferedRange(key);
    if (!range || range.environmentId === this.rangeOwner(range.partition)) return; // released meanwhile, or ours: stored when due
    let replayed: ReplayedRange<U>;
    try {
      replayed = await this.options.readRange!(range, timeLeftMs());
    } catch (error) {
      // Left due: the partition's next invocation tries again. The batch itself goes on.
      (this.options.logger ?? console).error(
        `hot stream "${this.stream.name}": replaying ${range.topic}-${range.partition} offsets ${range.fromOffset}–${range.toOffset} failed, retried on the next flush: ${String(error)}`,
      );
      return;
    }
    if (replayed.lostBefore !== undefined) {
      // Retention deleted part of the range before anyone stored it: nothing can bring those updates back.
      (this.options.logger ?? console).error(
        `hot stream "${this.stream.name}": buffered updates lost, ${range.topic}-${range.partition} offsets ${range.fromOffset}–${replayed.lostBefore - 1} are no longer retained`,
      );
    }
    const { records } = replayed;
    counts.replayed += records.length;
    const now = this.now();
    const applied = await this.applyNewest([...coalesceNewest(this.stream, records)], now, hasTimeLeft, counts, async (of) =>
      this.recordsOf(of, records),
    );
    const failure = await this.settle(applied, now, counts);
    if (failure) throw failure.error;
    await this.emitDue(applied.owed, counts);
    if (applied.remaining.length === 0) await this.store.releaseBufferedRange(range);
  }

  /**
   * Stores the newest update per key, keys in the order given, claiming the
   * emission in the same write where it is likely due. Every worker stops
   * taking keys once one fails or time runs short, and all have stopped before
   * this returns: no write may land after the caller gave up on it. Never
   * throws: a failure comes back with the keys it left undone.
   * @param recordsOf a key's other updates, to fall back on when its newest is refused
   */
  private async applyNewest(
    newest: ReadonlyArray<readonly [string, HotUpdateRecord<U>]>,
    now: number,
    hasTimeLeft: () => boolean,
    counts: Counts,
    recordsOf: (key: string) => Promise<readonly HotUpdateRecord<U>[]>,
  ): Promise<Applied<U>> {
    const outcomes = { claimed: [] as HotState<U>[], owed: [] as HotState<U>[], refused: [] as RefusedUpdate<U>[] };
    const notDone = new Set<string>();
    let failure: Applied<U>['failure'];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.writeConcurrency, newest.length) }, async () => {
        while (next < newest.length && !failure && hasTimeLeft()) {
          const [key, record] = newest[next++]!;
          try {
            await this.applyKey(key, record, now, counts, outcomes, recordsOf);
          } catch (error) {
            failure ??= { error };
            notDone.add(key);
          }
        }
      }),
    );
    const remaining = newest.slice(next);
    for (const [key] of remaining) notDone.add(key);
    return { ...outcomes, remaining, notDone, failure };
  }

  /**
   * Stores a key's update. One the hot state refuses for good is kept for the
   * dead-letter topic, and the key falls back to the newest of its other
   * updates not refused, until one is stored or none is left: a bad update
   * never makes a key skip a valid one.
   */
  private async applyKey(
    key: string,
    newest: HotUpdateRecord<U>,
    now: number,
    counts: Counts,
    applied: Pick<Applied<U>, 'claimed' | 'owed' | 'refused'>,
    recordsOf: (key: string) => Promise<readonly HotUpdateRecord<U>[]>,
  ): Promise<void> {
    const refused = new Set<string>();
    let record: HotUpdateRecord<U> | undefined = newest;
    while (record) {
      try {
        await this.applyOne(key, record, now, counts, applied);
        return;
      } catch (error) {
        if (!(error instanceof UpdateRefusedError) || !this.options.deadLetter) throw error;
        applied.refused.push({ record, error });
        refused.add(`${record.partition}@${record.offset}`);
        record = (await recordsOf(key)).reduce<HotUpdateRecord<U> | undefined>(
          (survivor, other) => (refused.has(`${other.partition}@${other.offset}`) ? survivor : newestOf(this.stream, survivor, other)),
          undefined,
        );
      }
    }
  }

  private async applyOne(
    key: string,
    record: HotUpdateRecord<U>,
    now: number,
    counts: Counts,
    applied: Pick<Applied<U>, 'claimed' | 'owed'>,
  ): Promise<void> {
    const claim = this.claimableAt(key, record.update, now);
    const claimedWrite =
      claim === false ? undefined : await this.store.applyAndClaim(key, record.update, record.offset, now, claim, record.trace);
    if (claimedWrite) {
      counts.keysApplied += 1;
      const before = claimedWrite.previouslyEmitted;
      if (
        before !== null &&
        this.knownOut(key, before, claimedWrite.previousClaimUnconfirmed) &&
        this.stream.sameValue(before, record.update)
      ) {
        counts.unchanged += 1;
        this.rememberEmitted(key, now, record.update);
      } else {
        applied.claimed.push(claimedWrite.state);
      }
      return;
    }
    const outcome = await this.store.apply(
      key,
      record.update,
      record.offset,
      `${this.stream.inputTopic}-${record.partition}`,
      this.stream.minEmitIntervalMs,
      record.trace,
    );
    if (outcome.outcome === 'stale') {
      counts.stale += 1;
      return;
    }
    counts.keysApplied += 1;
    this.remember(outcome.state);
    // A redelivery of an update whose emission was claimed before publishing: the publish may have
    // been lost, so it is published again (a duplicate if it was not).
    const { state } = outcome;
    if (outcome.outcome === 'redelivered' && state.emissionClaimed && state.emittedOffset === state.sourceOffset)
      applied.claimed.push(state);
    else applied.owed.push(state);
  }

  /**
   * Publishes the deltas the writes claimed, and dead-letters the updates
   * refused. A key whose delta or letter did not go out is not done: its
   * records are retried, which finds the claim and publishes it again, or meets
   * the refusal again.
   * @returns the first failure, of the writes or of these
   */
  private async settle(applied: Applied<U>, now: number, counts: Counts): Promise<{ readonly error: unknown } | undefined> {
    let failure = applied.failure;
    try {
      await this.sink.publish(applied.claimed.map((state) => deltaOf(state, now)));
      for (const state of applied.claimed) this.rememberEmitted(state.key, now, state.value);
      counts.emitted += applied.claimed.length;
    } catch (error) {
      failure ??= { error };
      for (const state of applied.claimed) applied.notDone.add(state.key);
    }
    if (applied.refused.length === 0) return failure;
    try {
      await this.options.deadLetter!(applied.refused);
      counts.refused += applied.refused.length;
    } catch (error) {
      failure ??= { error };
      for (const { error: refusal } of applied.refused) applied.notDone.add(refusal.key);
    }
    return failure;
  }

  /**
   * Whether an update can claim its emission as it is stored: false when this
   * environment does not know the key's last emission (unless the key was held
   * back), or the update is not due or unchanged; otherwise the latest emission time that still makes it due
   * (undefined for a pass-through, which is due whenever it comes).
   */
  private claimableAt(key: string, update: U, now: number): number | undefined | false {
    const last = this.lastEmitted.get(key);
    // Held back for a whole window, an unknown key is likely due: trying the claim saves the second write.
    if (!last) return this.stream.coalesceWindowMs > 0 && !this.stream.mayPassThrough(update) ? now - this.stream.minEmitIntervalMs : false;
    if (this.stream.sameValue(last.value, update)) return false;
    if (this.stream.passThrough(last.value, update)) return undefined;
    return now - last.at >= this.stream.minEmitIntervalMs ? now - this.stream.minEmitIntervalMs : false;
  }

  /**
   * Whether the value emitted before a claim is known to be published: a
   * confirmed emission, or a claim this environment published itself. A claim
   * whose publish may have failed must not make an equal newer value look
   * unchanged.
   */
  private knownOut(key: string, emitted: U, claimUnconfirmed: boolean): boolean {
    if (!claimUnconfirmed) return true;
    const published = this.lastEmitted.get(key)?.value;
    return published !== undefined && published.version === emitted.version && this.stream.sameValue(published, emitted);
  }

  private remember(state: HotState<U>): void {
    // An unconfirmed claim may never have been published: not something to remember as emitted.
    if (state.emittedAt !== undefined && state.emittedValue !== null && !state.emissionClaimed)
      this.rememberEmitted(state.key, state.emittedAt, state.emittedValue);
  }

  private rememberEmitted(key: string, at: number, value: U): void {
    this.lastEmitted.delete(key);
    this.lastEmitted.set(key, { at, value });
    // Bounded: the least recently refreshed entries go first (a Map iterates in insertion order).
    if (this.lastEmitted.size > MAX_REMEMBERED_KEYS) this.lastEmitted.delete(this.lastEmitted.keys().next().value!);
  }

  /** Emits every due key of a partition (the trailing guarantee). */
  private async flush(partition: string, counts: Counts, hasTimeLeft: () => boolean, timeLeftMs: () => number): Promise<void> {
    let startAfter: Record<string, unknown> | undefined;
    do {
      const page = await this.store.duePending(partition, this.now(), this.flushPageSize, startAfter);
      for (const key of page.keys.filter(isBufferedRangeKey)) {
        if (hasTimeLeft()) await this.replay(key, hasTimeLeft, timeLeftMs, counts);
      }
      const states = (await Promise.all(page.keys.filter((key) => !isBufferedRangeKey(key)).map((key) => this.store.get(key)))).filter(
        // The index may be behind: only keys this partition still owns are emitted here.
        (state): state is HotState<U> => state !== undefined && state.pendingPartition === partition,
      );
      await this.emitDue(states, counts);
      startAfter = page.next;
    } while (startAfter && hasTimeLeft());
  }

  private async emitDue(states: readonly HotState<U>[], counts: { emitted: number; unchanged: number }): Promise<void> {
    const now = this.now();
    const toPublish: HotState<U>[] = [];
    const toClear: HotState<U>[] = [];
    for (const state of states) {
      if (state.pendingPartition === undefined) continue;
      const unchanged =
        state.emittedValue !== null &&
        this.knownOut(state.key, state.emittedValue, state.emissionClaimed) &&
        this.stream.sameValue(state.value, state.emittedValue);
      if (unchanged) toClear.push(state);
      else if ((state.dueAt ?? 0) <= now || this.stream.passThrough(state.emittedValue, state.value)) toPublish.push(state);
    }
    const deltas: HotDelta<U>[] = toPublish.map((state) => deltaOf(state, now));
    await this.sink.publish(deltas);
    // Publish, then verify: a mark that fails means another writer moved the key on. If it emitted a newer
    // value, that value may have been published before ours; publishing it again keeps it last.
    const republish: HotDelta<U>[] = [];
    await forEachConcurrently(toPublish, this.writeConcurrency, async (state) => {
      if (await this.store.markEmitted(state, now)) {
        this.rememberEmitted(state.key, now, state.value);
        return;
      }
      const current = await this.store.get(state.key);
      if (current?.emittedValue && isNewerUpdate(current.emittedValue, state.value)) {
        // The item keeps the trace of its newest update only: the emitted value's, when that is the one stored.
        const trace = current.emittedOffset === current.sourceOffset ? current.trace : undefined;
        republish.push({ key: state.key, update: current.emittedValue, emittedAt: current.emittedAt ?? now, trace });
      }
    });
    await this.sink.publish(republish);
    await forEachConcurrently(toClear, this.writeConcurrency, (state) => this.store.clearPending(state));
    counts.emitted += toPublish.length;
    counts.unchanged += toClear.length;
  }
}

/** The delta of a stored update: it continues the trace stored with the update, whichever invocation emits it. */
function deltaOf<U extends UpdateOrder>(state: HotState<U>, emittedAt: number): HotDelta<U> {
  return { key: state.key, update: state.value, emittedAt, trace: state.trace };
}

const MAX_REMEMBERED_KEYS = 100_000;
/** A buffered range not released within this many windows is replayed by its partition's consumer. */
const REPLAY_AFTER_WINDOWS = 3;

/** The partition number of an event's partition label, `<topic>-<partition>`. */
function partitionNumber(label: string): number {
  return Number(label.slice(label.lastIndexOf('-') + 1));
}
const DEFAULT_REPLAY_TIME_MS = 30_000;

interface Applied<U extends UpdateOrder> {
  /** Stored with their emission claimed: to publish. */
  readonly claimed: HotState<U>[];
  /** Stored and marked pending: emitted now if due. */
  readonly owed: HotState<U>[];
  /** Refused for good: to dead-letter. */
  readonly refused: RefusedUpdate<U>[];
  /** Not started: time ran short, or another key failed first. */
  readonly remaining: ReadonlyArray<readonly [string, HotUpdateRecord<U>]>;
  /** Keys not done: the one that failed, those not started, and (once settled) those whose delta or letter did not go out. */
  readonly notDone: Set<string>;
  /** The first failure of a write. */
  readonly failure: { readonly error: unknown } | undefined;
}
