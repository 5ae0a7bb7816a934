import { partitionKey, type MskRecord } from './event';

/** What a handler returns when its event source reports batch item failures (`ReportBatchItemFailures`). */
export interface MskBatchResponse {
  readonly batchItemFailures: readonly MskBatchItemFailure[];
}
export interface MskBatchItemFailure {
  /** An object, not a string, for Kafka event sources. */
  readonly itemIdentifier: { readonly partition: string; readonly offset: number };
}

/** The response of a batch that is done whole: the event source commits it and moves on. */
export const WHOLE_BATCH_DONE: MskBatchResponse = Object.freeze({ batchItemFailures: Object.freeze([]) });

/**
 * Collects where each partition of a batch must resume, and builds the one
 * partial batch response the platform's handlers return. Lambda retries a
 * Kafka partition from the offset named, so only the earliest per partition
 * counts: naming a later one too would be ignored at best.
 */
export class BatchItemFailures {
  private readonly earliest = new Map<string, number>();

  /** The partition (`<topic>-<partition>`, as the event's `records` key) resumes at `offset` or earlier. */
  resumeAt(partition: string, offset: number): this {
    this.earliest.set(partition, Math.min(offset, this.earliest.get(partition) ?? Number.POSITIVE_INFINITY));
    return this;
  }

  /** The record's partition resumes at this record or earlier. */
  resumeAtRecord(record: Pick<MskRecord, 'topic' | 'partition' | 'offset'>): this {
    return this.resumeAt(partitionKey(record.topic, record.partition), record.offset);
  }

  get empty(): boolean {
    return this.earliest.size === 0;
  }

  response(): MskBatchResponse {
    return { batchItemFailures: [...this.earliest].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } })) };
  }
}
