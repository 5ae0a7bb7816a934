import type { DeadLetter, DeadLetterReason } from '../../dead-letter';
import { partitionKey, serializedSize, toMskRecord, type MskRecord, type SourceRecord } from '../../msk';
import { InvalidBatchResponseError } from './errors';
import type { InvocationOutcome } from './invoker';
import type { EventSourceMappingStats } from './stats';

/** Bytes of the event around the records (source, ARN, brokers, partition key), kept free under the 6 MB cap. */
const EVENT_ENVELOPE_BYTES = 4 * 1024;

export interface PartitionWorkerSettings {
  readonly topic: string;
  readonly partition: number;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly maxPayloadBytes: number;
  /** −1 retries until success; otherwise the count after the first attempt. */
  readonly maximumRetryAttempts: number;
  /** −1 for no limit. */
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  /** Pause before retry number `attempt` (1-based) of a failed batch. */
  readonly retryDelayMs: (attempt: number) => number;
}

export interface PartitionWorkerDependencies {
  invoke(records: readonly MskRecord[]): Promise<InvocationOutcome>;
  /** Absent when the mapping has no on-failure destination. */
  readonly deadLetter: ((letters: readonly DeadLetter[]) => Promise<void>) | undefined;
  /** Commits `nextOffset` for this partition to the consumer group. */
  commit(nextOffset: number): Promise<void>;
  /** Called when records leave the queue, so a partition paused for backpressure can resume. */
  queueShrank(): void;
  readonly stats: EventSourceMappingStats;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  now(): number;
}

interface QueuedRecord {
  readonly source: SourceRecord;
  readonly msk: MskRecord;
  readonly bytes: number;
  readonly enqueuedAt: number;
  /** Failed invocations that counted against the retry limit. */
  attempts: number;
  lastError: string | undefined;
  /** Set once the event source has given up; the record is owed to the on-failure destination. */
  deadLetterReason: DeadLetterReason | undefined;
  done: boolean;
}

/**
 * Drives one partition as Lambda's event source mapping does: one batch in flight
 * at a time, offsets committed only past records that are done (handled,
 * dead-lettered, or discarded), failures retried from the first unfinished record.
 *
 * Records are fetched ahead into the queue by the mapping; everything the queue
 * holds is uncommitted, so a crash at any point re-delivers from the last commit.
 */
export class PartitionWorker {
  private readonly queue: QueuedRecord[] = [];
  private queuedBytes = 0;
  private lastEnqueuedOffset = -1;
  /** The last offset fetched that holds no record (a transaction's commit marker): committed past once everything before it is done. */
  private recordlessThrough = -1;
  /** Batch-size limits left by bisection; the head bounds the next batch. */
  private readonly bisectSegments: number[] = [];
  private consecutiveFailures = 0;
  private retryReady = false;
  private stopping = false;
  /** The offset to commit next, once the broker acknowledges earlier commits. */
  private commitTarget: number | undefined;
  private committedOffset: number | undefined;
  /** Set and cleared synchronously, so a new target can never slip past a loop that is about to end. */
  private commitLoopRunning = false;
  /** The background commit loop's promise, awaited when the worker stops. */
  private committing: Promise<void> = Promise.resolve();
  /** Wakes a wait for records; new records and stop() both call it. */
  private wakeOnRecords: (() => void) | undefined;
  /** Wakes a retry pause; only stop() calls it, so arriving records cannot hurry a retry. */
  private wakeOnStop: (() => void) | undefined;

  constructor(
    private readonly settings: PartitionWorkerSettings,
    private readonly deps: PartitionWorkerDependencies,
  ) {}

  get pendingRecords(): number {
    return this.queue.length;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Adds fetched records; ones at or below the last enqueued offset (a re-fetch after a rebalance) are ignored. */
  enqueue(records: readonly SourceRecord[]): void {
    const now = this.deps.now();
    for (const source of records) {
      if (source.offset <= this.lastEnqueuedOffset) continue;
      this.lastEnqueuedOffset = source.offset;
      const msk = toMskRecord(source);
      const bytes = serializedSize(msk);
      this.queue.push({ source, msk, bytes, enqueuedAt: now, attempts: 0, lastError: undefined, deadLetterReason: undefined, done: false });
      this.queuedBytes += bytes;
    }
    this.updatePartitionStats();
    this.signal();
  }

  /**
   * Notes that offsets up to `lastOffset` were fetched and hold nothing to
   * process: the control records (commit markers) a transactional producer
   * writes, which the consumer filters out. Once every record before them is
   * done, the commit moves past them too, as a Java consumer's position does;
   * otherwise a topic written in transactions (Connect's exactly-once source
   * tasks) would show a lag of one forever.
   */
  skipRecordless(lastOffset: number): void {
    if (lastOffset <= this.lastEnqueuedOffset || lastOffset <= this.recordlessThrough) return;
    this.recordlessThrough = lastOffset;
    if (this.queue.length === 0) this.commitDone();
  }

  /** Asks the loop to finish the batch in flight, if any, and return. */
  stop(): void {
    this.stopping = true;
    this.signal();
    const wake = this.wakeOnStop;
    this.wakeOnStop = undefined;
    wake?.();
  }

  /**
   * Processes batches until {@link stop}, then waits for the last commit. Never
   * throws: every failure becomes a retry or a dead letter.
   */
  async run(): Promise<void> {
    while (await this.waitForBatch()) {
      try {
        await this.processNextBatch();
      } catch (error) {
        // Only infrastructure failures get here: the dead-letter topic was unreachable.
        // The records stay owed to it and are published first on the next pass.
        this.consecutiveFailures += 1;
        this.deps.stats.lastError = String(error);
        this.deps.log('error', `${this.label()}: ${String(error)}; retrying`);
        await this.pauseBeforeRetry();
      }
    }
    await this.committing;
  }

  private async waitForBatch(): Promise<boolean> {
    for (;;) {
      if (this.stopping) return false;
      const head = this.queue.find((entry) => !entry.done);
      if (head) {
        if (this.retryReady || head.deadLetterReason) return true;
        const pending = this.queue.length;
        if (pending >= this.settings.batchSize || this.queuedBytes >= this.settings.maxPayloadBytes - EVENT_ENVELOPE_BYTES) {
          return true;
        }
        const windowEndsIn = head.enqueuedAt + this.settings.maximumBatchingWindowMs - this.deps.now();
        if (windowEndsIn <= 0) return true;
        await this.waitForRecords(windowEndsIn);
      } else {
        await this.waitForRecords(undefined);
      }
    }
  }

  private async processNextBatch(): Promise<void> {
    this.retryReady = false;
    const owed = this.queue.filter((entry) => !entry.done && entry.deadLetterReason);
    if (owed.length > 0) {
      await this.giveUp(owed);
      return;
    }

    const segment = this.bisectSegments.shift();
    const batch = this.takeBatch(Math.min(this.settings.batchSize, segment ?? Number.POSITIVE_INFINITY));
    const remainder = segment === undefined ? 0 : segment - batch.length;
    const invoked = this.dropExpired(batch);
    if (invoked.length < batch.length) await this.giveUp(batch.filter((entry) => entry.deadLetterReason));
    if (invoked.length === 0) {
      this.pushSegments(remainder);
      return;
    }

    this.deps.stats.invocations += 1;
    const outcome = await this.deps.invoke(invoked.map((entry) => entry.msk));
    if (outcome.kind === 'error' && outcome.stillRunning) {
      this.deps.log('warn', `${this.label()}: ${outcome.error.message}; waiting for the timed-out handler to settle before retrying`);
      await outcome.stillRunning;
    }
    const failure = this.classify(outcome, invoked);

    if (failure === undefined) {
      this.markSucceeded(invoked);
      this.consecutiveFailures = 0;
      this.pushSegments(remainder);
      this.commitDone();
      return;
    }

    this.deps.stats.failedInvocations += 1;
    const { failedAt, error, wholeBatch: wholeBatchFailed } = failure;
    this.deps.stats.lastError = `${error.name}: ${error.message}`;
    this.deps.log('warn', `${this.label()}: invocation of ${invoked.length} record(s) failed: ${error.message}`);

    if (failedAt > 0) {
      // A partial batch response: everything before the first failed record is done.
      this.markSucceeded(invoked.slice(0, failedAt));
      this.commitDone();
    }
    const failed = invoked.slice(failedAt);

    if (wholeBatchFailed && this.settings.bisectBatchOnFunctionError && failed.length > 1) {
      // Bisecting does not count against the retry limit; each half is retried on its own.
      const firstHalf = Math.ceil(failed.length / 2);
      this.pushSegments(firstHalf, failed.length - firstHalf, remainder);
      this.retryReady = true;
      return;
    }

    // A partial failure charges the record that failed; a whole-batch failure charges the batch.
    const charged = wholeBatchFailed ? failed : failed.slice(0, 1);
    for (const entry of charged) {
      entry.attempts += 1;
      entry.lastError = `${error.name}: ${error.message}`;
    }
    const limit = this.settings.maximumRetryAttempts;
    const exhausted = limit !== -1 ? charged.filter((entry) => entry.attempts > limit) : [];
    if (exhausted.length > 0) {
      for (const entry of exhausted) entry.deadLetterReason = 'RetryAttemptsExhausted';
      await this.giveUp(exhausted);
      this.consecutiveFailures = 0;
      this.pushSegments(segment === undefined ? 0 : failed.length - exhausted.length, remainder);
      this.retryReady = true;
      return;
    }
    this.pushSegments(segment === undefined ? 0 : failed.length, remainder);
    this.consecutiveFailures += 1;
    await this.pauseBeforeRetry();
    this.retryReady = true;
  }

  private takeBatch(limit: number): QueuedRecord[] {
    const batch: QueuedRecord[] = [];
    let bytes = EVENT_ENVELOPE_BYTES;
    for (const entry of this.queue) {
      if (entry.done) continue;
      if (batch.length >= limit) break;
      // One oversized record still goes alone: it cannot be made smaller.
      if (batch.length > 0 && bytes + entry.bytes > this.settings.maxPayloadBytes) break;
      batch.push(entry);
      bytes += entry.bytes;
    }
    return batch;
  }

  /** Marks records past the maximum age as owed to the destination; returns the ones still to invoke. */
  private dropExpired(batch: QueuedRecord[]): QueuedRecord[] {
    const maxAge = this.settings.maximumRecordAgeSeconds;
    if (maxAge === -1) return batch;
    const oldestAllowed = this.deps.now() - maxAge * 1000;
    return batch.filter((entry) => {
      if (entry.source.timestamp >= oldestAllowed) return true;
      entry.deadLetterReason = 'RecordAgeExceeded';
      return false;
    });
  }

  /**
   * Says which record failed first, or undefined when all succeeded. An error
   * fails the whole batch, and so does a malformed partial batch response.
   */
  private classify(
    outcome: InvocationOutcome,
    invoked: readonly QueuedRecord[],
  ): { failedAt: number; error: Error; wholeBatch: boolean } | undefined {
    if (outcome.kind === 'error') return { failedAt: 0, error: outcome.error, wholeBatch: true };
    if (!this.settings.reportBatchItemFailures) return undefined;
    try {
      const failedOffsets = parseBatchItemFailures(outcome.response, partitionKey(this.settings.topic, this.settings.partition));
      if (failedOffsets.length === 0) return undefined;
      const invokedOffsets = new Set(invoked.map((entry) => entry.source.offset));
      const unknown = failedOffsets.find((offset) => !invokedOffsets.has(offset));
      if (unknown !== undefined) {
        throw new InvalidBatchResponseError(`batchItemFailures names offset ${unknown}, which is not in the batch`);
      }
      const lowest = Math.min(...failedOffsets);
      const failedAt = invoked.findIndex((entry) => entry.source.offset === lowest);
      return { failedAt, error: new Error(`the function reported offset ${lowest} as failed`), wholeBatch: false };
    } catch (error) {
      return { failedAt: 0, error: error instanceof Error ? error : new Error(String(error)), wholeBatch: true };
    }
  }

  private async giveUp(entries: readonly QueuedRecord[]): Promise<void> {
    const letters: DeadLetter[] = entries.map((entry) => ({
      record: entry.source,
      reason: entry.deadLetterReason ?? 'RetryAttemptsExhausted',
      error: entry.lastError,
      attempts: entry.attempts,
    }));
    if (this.deps.deadLetter) {
      await this.deps.deadLetter(letters);
      this.deps.stats.recordsDeadLettered += entries.length;
      this.deps.log('warn', `${this.label()}: dead-lettered ${entries.length} record(s) (${letters[0]?.reason})`);
    } else {
      this.deps.stats.recordsDiscarded += entries.length;
      this.deps.log('error', `${this.label()}: discarded ${entries.length} record(s) with no on-failure destination`);
    }
    for (const entry of entries) entry.done = true;
    this.commitDone();
  }

  private markSucceeded(entries: readonly QueuedRecord[]): void {
    for (const entry of entries) entry.done = true;
    this.deps.stats.recordsSucceeded += entries.length;
  }

  /**
   * Forgets the done prefix of the queue and commits past it in the background:
   * the next batch does not wait for the broker's acknowledgement (which queues
   * behind the consumer's long-poll fetch), but commits stay in order and a
   * crash before one lands only means re-delivery.
   */
  private commitDone(): void {
    let nextOffset: number | undefined;
    while (this.queue[0]?.done) {
      const entry = this.queue.shift()!;
      this.queuedBytes -= entry.bytes;
      nextOffset = entry.source.offset + 1;
    }
    if (this.queue.length === 0 && this.recordlessThrough > this.lastEnqueuedOffset) {
      const pastMarkers = this.recordlessThrough + 1;
      if (pastMarkers > (this.commitTarget ?? -1)) nextOffset = pastMarkers;
    }
    this.updatePartitionStats();
    if (nextOffset === undefined) return;
    this.commitTarget = nextOffset;
    this.deps.queueShrank();
    this.startCommitLoop();
  }

  /**
   * Commits the current target again: after a rebalance the group has a new
   * generation, and a commit kafkajs skipped while it rejoined may not have landed.
   */
  recommit(): void {
    this.committedOffset = undefined;
    this.startCommitLoop();
  }

  private startCommitLoop(): void {
    if (this.commitLoopRunning || this.commitTarget === undefined) return;
    this.commitLoopRunning = true;
    this.committing = this.commitUntilCaughtUp();
  }

  private async commitUntilCaughtUp(): Promise<void> {
    let failures = 0;
    for (;;) {
      const target = this.commitTarget;
      if (target === undefined || target === this.committedOffset) {
        this.commitLoopRunning = false;
        return;
      }
      try {
        await this.deps.commit(target);
        this.committedOffset = target;
        failures = 0;
        const partitionStats = this.deps.stats.partitions.get(this.settings.partition);
        if (partitionStats) partitionStats.committedOffset = target;
      } catch (error) {
        failures += 1;
        this.deps.log('warn', `${this.label()}: commit of offset ${target} failed (${String(error)}); retrying`);
        // Once stopping, a commit that keeps failing (the group moved on, or the broker is gone) is
        // abandoned: the records are re-delivered to whoever reads the partition next.
        if (this.stopping && failures >= 3) {
          this.commitLoopRunning = false;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.settings.retryDelayMs(failures)));
      }
    }
  }

  private pushSegments(...sizes: number[]): void {
    this.bisectSegments.unshift(...sizes.filter((size) => size > 0));
  }

  private pauseBeforeRetry(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const ms = this.settings.retryDelayMs(Math.max(1, this.consecutiveFailures));
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeOnStop = done;
    });
  }

  private updatePartitionStats(): void {
    const partitions = this.deps.stats.partitions;
    const current = partitions.get(this.settings.partition);
    if (current) current.queued = this.queue.length;
    else partitions.set(this.settings.partition, { committedOffset: undefined, queued: this.queue.length });
  }

  /** Resolves after `ms` (or only when woken, if undefined), as soon as records arrive, or on stop. */
  private waitForRecords(ms: number | undefined): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeOnRecords = done;
    });
  }

  private signal(): void {
    const wake = this.wakeOnRecords;
    this.wakeOnRecords = undefined;
    wake?.();
  }

  private label(): string {
    return partitionKey(this.settings.topic, this.settings.partition);
  }
}

/**
 * Reads a `{ batchItemFailures: [{ itemIdentifier: { partition, offset } }] }` response.
 * An empty or absent list means success, as in Lambda.
 * @throws InvalidBatchResponseError when the shape is wrong or names another partition.
 */
export function parseBatchItemFailures(response: unknown, expectedPartition: string): number[] {
  if (response === undefined || response === null) return [];
  if (typeof response !== 'object') {
    throw new InvalidBatchResponseError(`expected a { batchItemFailures } object, got ${typeof response}`);
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return [];
  if (!Array.isArray(failures)) throw new InvalidBatchResponseError('batchItemFailures must be an array');
  return failures.map((failure: unknown) => {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (!identifier || typeof identifier !== 'object') {
      throw new InvalidBatchResponseError(
        'each batchItemFailures entry needs itemIdentifier: { partition: "<topic>-<partition>", offset: <number> }',
      );
    }
    const { partition, offset } = identifier as { partition?: unknown; offset?: unknown };
    if (partition !== expectedPartition) {
      throw new InvalidBatchResponseError(`itemIdentifier.partition "${String(partition)}" is not in this batch (${expectedPartition})`);
    }
    const numericOffset = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
    if (typeof numericOffset !== 'number' || !Number.isInteger(numericOffset) || numericOffset < 0) {
      throw new InvalidBatchResponseError(`itemIdentifier.offset must be an integer, got ${JSON.stringify(offset)}`);
    }
    return numericOffset;
  });
}
