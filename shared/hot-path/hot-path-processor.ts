import { forEachConcurrently } from '../concurrency';
import { coalesceNewest, type HotUpdateRecord } from './coalesce';
import { isNewerUpdate, type HotStream, type UpdateOrder } from './define-hot-stream';
import { TimeBudgetExceededError } from './errors';
import type { HotDelta, HotDeltaSink } from './hot-delta-sink';
import type { HotState, HotStateStore } from './hot-state-store';

export interface HotPathProcessorOptions {
  /** Keys written at once; bounds the DynamoDB write concurrency of one invocation. @default 8 */
  readonly writeConcurrency?: number;
  /** Pending keys read per index Query during a flush. @default 100 */
  readonly flushPageSize?: number;
  readonly now?: () => number;
}

/** What one batch did, for metrics, tests and the benchmark. */
export interface HotBatchResult {
  readonly updates: number;
  /** Keys written after coalescing the batch. */
  readonly keysApplied: number;
  /** Updates older than what was stored (redelivered or out of order), ignored. */
  readonly stale: number;
  readonly emitted: number;
  /** Values equal to the last emitted one, dropped. */
  readonly unchanged: number;
}

/**
 * Applies a batch of high-frequency updates: coalesces it to the newest update
 * per key, stores each only if it is newer than the stored one, and emits a
 * key's delta at most once per interval — at once when due or when the stream
 * says the change must not wait, otherwise later, when the partition's
 * consumer flushes due keys (on every invocation, and on flush ticks).
 *
 * Only the consumer of a key's partition ever emits it, one batch at a time,
 * so a key's deltas are published in order. Emitting is publish-then-mark: a
 * crash in between re-emits the same version (a duplicate), never loses it.
 */
export class HotPathProcessor<U extends UpdateOrder> {
  private readonly writeConcurrency: number;
  private readonly flushPageSize: number;
  private readonly now: () => number;
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
    options: HotPathProcessorOptions = {},
  ) {
    this.writeConcurrency = options.writeConcurrency ?? 8;
    this.flushPageSize = options.flushPageSize ?? 100;
    this.now = options.now ?? Date.now;
  }

  /**
   * @param partitions the input partitions (`<topic>-<partition>`) of the batch, flushed afterwards
   * @param hasTimeLeft asked before each key; when it says no, the batch fails with a retriable
   *   TimeBudgetExceededError before any key is left half-applied
   */
  async processBatch(
    records: readonly HotUpdateRecord<U>[],
    partitions: readonly string[],
    hasTimeLeft: () => boolean = () => true,
  ): Promise<HotBatchResult> {
    const newest = [...coalesceNewest(this.stream, records)];
    const counts = { keysApplied: 0, stale: 0, emitted: 0, unchanged: 0 };
    const owed: HotState<U>[] = [];
    const claimed: HotState<U>[] = [];
    const now = this.now();
    let next = 0;
    let failed = false;
    // Every worker stops taking keys once one fails or time runs short, and all have stopped before this
    // returns or throws: no write of this batch may land after the event source retries it.
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.min(this.writeConcurrency, newest.length) }, async () => {
        while (next < newest.length && !failed && hasTimeLeft()) {
          const [key, record] = newest[next++]!;
          try {
            const claim = this.claimableAt(key, record.update, now);
            const claimedState = claim === false ? undefined : await this.store.applyAndClaim(key, record.update, record.offset, now, claim);
            if (claimedState) {
              counts.keysApplied += 1;
              claimed.push(claimedState);
              continue;
            }
            const applied = await this.store.apply(key, record.update, record.offset, `${this.stream.inputTopic}-${record.partition}`, this.stream.minEmitIntervalMs);
            if (applied.outcome === 'stale') {
              counts.stale += 1;
            } else {
              counts.keysApplied += 1;
              this.remember(applied.state);
              // A redelivery of an update whose emission was claimed before publishing: the publish may have
              // been lost, so it is published again (a duplicate if it was not).
              const { state } = applied;
              if (applied.outcome === 'redelivered' && state.emissionClaimed && state.emittedOffset === state.sourceOffset) claimed.push(state);
              else owed.push(state);
            }
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      }),
    );
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    if (next < newest.length) throw new TimeBudgetExceededError(newest.length - next);

    // Emitting and flushing may stop early when time runs short: what is left stays pending for the next flush.
    await this.sink.publish(claimed.map((state) => ({ key: state.key, update: state.value, emittedAt: now })));
    for (const state of claimed) this.rememberEmitted(state.key, now, state.value);
    counts.emitted += claimed.length;
    await this.emitDue(owed, counts);
    for (const partition of partitions) {
      if (!hasTimeLeft()) break;
      await this.flush(partition, counts, hasTimeLeft);
    }
    return { updates: records.length, ...counts };
  }

  /**
   * Whether an update can claim its emission as it is stored: false when this
   * environment does not know the key's last emission, or the update is not due
   * or unchanged; otherwise the latest emission time that still makes it due
   * (undefined for a pass-through, which is due whenever it comes).
   */
  private claimableAt(key: string, update: U, now: number): number | undefined | false {
    const last = this.lastEmitted.get(key);
    if (!last || this.stream.sameValue(last.value, update)) return false;
    if (this.stream.passThrough(last.value, update)) return undefined;
    return now - last.at >= this.stream.minEmitIntervalMs ? now - this.stream.minEmitIntervalMs : false;
  }

  private remember(state: HotState<U>): void {
    if (state.emittedAt !== undefined && state.emittedValue !== null) this.rememberEmitted(state.key, state.emittedAt, state.emittedValue);
  }

  private rememberEmitted(key: string, at: number, value: U): void {
    this.lastEmitted.delete(key);
    this.lastEmitted.set(key, { at, value });
    // Bounded: the least recently refreshed entries go first (a Map iterates in insertion order).
    if (this.lastEmitted.size > MAX_REMEMBERED_KEYS) this.lastEmitted.delete(this.lastEmitted.keys().next().value!);
  }

  /** Emits every due key of a partition (the trailing guarantee). */
  private async flush(partition: string, counts: { emitted: number; unchanged: number }, hasTimeLeft: () => boolean): Promise<void> {
    let startAfter: Record<string, unknown> | undefined;
    do {
      const page = await this.store.duePending(partition, this.now(), this.flushPageSize, startAfter);
      const states = (await Promise.all(page.keys.map((key) => this.store.get(key)))).filter(
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
      if (state.emittedValue !== null && this.stream.sameValue(state.value, state.emittedValue)) toClear.push(state);
      else if ((state.dueAt ?? 0) <= now || this.stream.passThrough(state.emittedValue, state.value)) toPublish.push(state);
    }
    const deltas: HotDelta<U>[] = toPublish.map((state) => ({ key: state.key, update: state.value, emittedAt: now }));
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
        republish.push({ key: state.key, update: current.emittedValue, emittedAt: current.emittedAt ?? now });
      }
    });
    await this.sink.publish(republish);
    await forEachConcurrently(toClear, this.writeConcurrency, (state) => this.store.clearPending(state));
    counts.emitted += toPublish.length;
    counts.unchanged += toClear.length;
  }
}

const MAX_REMEMBERED_KEYS = 100_000;
