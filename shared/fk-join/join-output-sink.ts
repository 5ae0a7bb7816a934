import type { Producer } from 'kafkajs';
import { chunkBySize, estimatedMessageBytes } from '../kafka/chunk-by-size';
import { JSON_VALUE_FORMAT, type ValueFormat } from '../schemas/value-format';
import { formatJoinPosition, type JoinPosition } from './join-result';

/** One join result to publish: the left key, the position it was joined at, and the value (null = tombstone). */
export interface JoinOutputRecord {
  readonly leftKey: string;
  readonly position: JoinPosition;
  readonly value: Buffer | null;
}

/** Where join results go. `publish` resolves only once every record is durably appended, in order. */
export interface JoinOutputSink {
  publish(records: readonly JoinOutputRecord[]): Promise<void>;
}

/**
 * Headers every join output carries. The position (`<leftOffset>:<rightOffset>`)
 * orders a key's results: a consumer that keeps the latest position per key never
 * goes backwards, and two records with the same position are the same result.
 */
export const JOIN_OUTPUT_HEADERS = {
  position: 'x-join-position',
  join: 'x-join-name',
} as const;

/**
 * Publishes join results to the join's output topic with an idempotent, ordered
 * producer (acks from all in-sync replicas), in the topic's wire format (the results
 * arrive as JSON): a whole batch in as few produce requests as its size allows.
 */
export class KafkaJoinOutputSink implements JoinOutputSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly joinName: string,
    private readonly format: ValueFormat = JSON_VALUE_FORMAT,
  ) {}

  async publish(records: readonly JoinOutputRecord[]): Promise<void> {
    if (records.length === 0) return;
    const messages = await Promise.all(
      records.map(async (record) => ({
        key: record.leftKey,
        value: record.value === null ? null : await this.format.write(record.value),
        headers: { [JOIN_OUTPUT_HEADERS.position]: formatJoinPosition(record.position), [JOIN_OUTPUT_HEADERS.join]: this.joinName },
      })),
    );
    for (const chunk of chunkBySize(messages, estimatedMessageBytes)) {
      await this.producer.send({ topic: this.topic, acks: -1, messages: chunk });
    }
  }
}
