import { PlatformError } from '../errors';

/** Base of the high-frequency path's errors. */
export class HotPathError extends PlatformError {
  override readonly name: string = 'HotPathError';
}

/** An update that does not match its stream's schema; the record is dead-lettered with this message. */
export class InvalidUpdateError extends HotPathError {
  override readonly name = 'InvalidUpdateError';
}

/** The invocation ran out of time before every key was applied; the batch is retried whole (applying is idempotent). */
export class TimeBudgetExceededError extends HotPathError {
  override readonly name = 'TimeBudgetExceededError';
  constructor(pendingKeys: number) {
    super(`ran short of time with ${pendingKeys} key(s) not yet applied; the event source retries the batch`, true);
  }
}

/**
 * An update the hot state can never store: DynamoDB refused it (a
 * `ValidationException`: an empty key, an item too large, a number out of
 * range) while it still takes a well-formed update, or it is larger than a
 * hot-state item takes. No retry changes that: the record is dead-lettered with
 * this message, and its key keeps its newest update that can be stored.
 */
export class UpdateRefusedError extends HotPathError {
  override readonly name = 'UpdateRefusedError';
  constructor(
    /** The state key whose update was refused. */
    readonly key: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the hot state refuses the update of key ${JSON.stringify(key)}: ${reason}`, false, options);
  }
}

/**
 * DynamoDB refused a minimal, well-formed hot-state write as well as the
 * record's: the table (its keys or indexes) or the request is at fault, not the
 * record. Retriable: nothing is dead-lettered, and the batch fails until it is fixed.
 */
export class HotStateTableError extends HotPathError {
  override readonly name = 'HotStateTableError';
  constructor(tableName: string, cause: Error) {
    super(
      `DynamoDB refuses even a minimal well-formed write to hot-state table "${tableName}" (${cause.name}: ${cause.message}): ` +
        "check the table's key and indexes against the pipeline declaration; no record is dead-lettered for this, the batch is retried",
      true,
      { cause },
    );
  }
}

/**
 * A batch that failed part-way. In each partition named, the records before
 * `offset` are done (stored, buffered, emitted or dead-lettered); the batch is
 * to be retried from there. Partitions not named are done.
 */
export class BatchIncompleteError extends HotPathError {
  override readonly name = 'BatchIncompleteError';
  constructor(
    readonly resumeAt: ReadonlyArray<{ readonly partition: string; readonly offset: number }>,
    cause: unknown,
  ) {
    const resume = resumeAt.map(({ partition, offset }) => `${partition}@${offset}`).join(', ');
    super(`${cause instanceof Error ? cause.message : String(cause)} (done up to ${resume})`, true, { cause });
  }
}
