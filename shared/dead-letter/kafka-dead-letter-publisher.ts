import type { IHeaders, Producer } from 'kafkajs';
import type { SourceRecord } from '../msk';
import { DeadLetterPublishError } from './errors';
import { chunkBySize } from '../kafka/chunk-by-size';

/**
 * Why a record was given up on: the event source exhausted its retries or the
 * record grew too old, or the function itself found the record unusable.
 */
export type DeadLetterReason = 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | 'InvalidRecord';

export interface DeadLetter {
  readonly record: SourceRecord;
  readonly reason: DeadLetterReason;
  /** The last error the function returned for this record, if any. */
  readonly error: string | undefined;
  /** Failed invocations charged to this record against the retry limit (bisecting is not charged). */
  readonly attempts: number;
}

/**
 * Failure metadata added to a dead-lettered record's own headers. The original
 * key, value and headers are kept untouched, so a redrive can re-publish the
 * record as it was.
 */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-dead-letter-reason',
  error: 'x-dead-letter-error',
  attempts: 'x-dead-letter-attempts',
  sourceTopic: 'x-dead-letter-source-topic',
  sourcePartition: 'x-dead-letter-source-partition',
  sourceOffset: 'x-dead-letter-source-offset',
  sourceTimestamp: 'x-dead-letter-source-timestamp',
  consumerGroupId: 'x-dead-letter-consumer-group',
  failedAt: 'x-dead-letter-failed-at',
} as const;

/** Error messages can embed whole payloads; the header keeps their start. */
const MAX_ERROR_LENGTH = 4 * 1024;

function estimatedSize(letter: DeadLetter): number {
  return (
    (letter.record.key?.length ?? 0) +
    (letter.record.value?.length ?? 0) +
    letter.record.headers.reduce((sum, [name, value]) => sum + name.length + value.length, 0) +
    MAX_ERROR_LENGTH
  );
}

/**
 * Writes records that were given up on to a Kafka topic: by the event-source
 * emulator, as AWS does for a `kafka://` destination, and by functions that
 * dead-letter invalid records themselves so that valid ones are never dropped.
 */
export class KafkaDeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly consumerGroupId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** @throws DeadLetterPublishError (retriable) when the broker does not acknowledge every record. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    try {
      // One produce request is one record batch, which the broker caps at message.max.bytes (1 MB by default).
      for (const chunk of chunkBySize(letters, estimatedSize)) {
        await this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: chunk.map((letter) => ({
            key: letter.record.key,
            value: letter.record.value,
            // No source timestamp: retention on the dead-letter topic counts from the failure, not from
            // the original record (which may be days old); the original is kept in a header.
            headers: this.headersFor(letter),
          })),
        });
      }
    } catch (error) {
      throw new DeadLetterPublishError(
        `Could not write ${letters.length} record(s) to dead-letter topic "${this.topic}": ${String(error)}`,
        { cause: error },
      );
    }
  }

  private headersFor(letter: DeadLetter): IHeaders {
    const headers: IHeaders = {};
    // kafkajs takes repeated header keys as arrays; keep the original order and repeats.
    for (const [name, bytes] of letter.record.headers) {
      const existing = headers[name];
      headers[name] = existing === undefined ? bytes : ([] as Buffer[]).concat(existing as Buffer | Buffer[], bytes);
    }
    const { record } = letter;
    headers[DEAD_LETTER_HEADERS.reason] = letter.reason;
    headers[DEAD_LETTER_HEADERS.error] = (letter.error ?? letter.reason).slice(0, MAX_ERROR_LENGTH);
    headers[DEAD_LETTER_HEADERS.attempts] = String(letter.attempts);
    headers[DEAD_LETTER_HEADERS.sourceTopic] = record.topic;
    headers[DEAD_LETTER_HEADERS.sourcePartition] = String(record.partition);
    headers[DEAD_LETTER_HEADERS.sourceOffset] = String(record.offset);
    headers[DEAD_LETTER_HEADERS.sourceTimestamp] = String(record.timestamp);
    headers[DEAD_LETTER_HEADERS.consumerGroupId] = this.consumerGroupId;
    headers[DEAD_LETTER_HEADERS.failedAt] = new Date(this.now()).toISOString();
    return headers;
  }
}
