import type { Producer } from 'kafkajs';
import { chunkBySize } from '../kafka/chunk-by-size';
import { JSON_VALUE_FORMAT, type ValueFormat } from '../schemas/value-format';

/** One join result to publish: the left key, its output version, and the value (null = tombstone). */
export interface JoinOutputRecord {
  readonly leftKey: string;
  readonly version: number;
  readonly value: Buffer | null;
}

/** Where join results go. `publish` resolves only once every record is durably appended, in order. */
export interface JoinOutputSink {
  publish(records: readonly JoinOutputRecord[]): Promise<void>;
}

/** Headers every join output carries; the version lets consumers spot duplicates (same version) and order. */
export const JOIN_OUTPUT_HEADERS = {
  version: 'x-join-version',
  join: 'x-join-name',
} as const;

/**
 * Publishes join results to the join's output topic with an idempotent, ordered
 * producer, in the topic's wire format (the results arrive as JSON).
 */
export class KafkaJoinOutputSink implements JoinOutputSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly joinName: string,
    private readonly format: ValueFormat = JSON_VALUE_FORMAT,
  ) {}

  async publish(records: readonly JoinOutputRecord[]): Promise<void> {
    const encoded = await Promise.all(records.map(async (record) => ({ ...record, value: record.value === null ? null : await this.format.write(record.value) })));
    for (const chunk of chunkBySize(encoded, (record) => record.leftKey.length + (record.value?.length ?? 0) + 64)) await this.send(chunk);
  }

  private async send(records: readonly JoinOutputRecord[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((record) => ({
        key: record.leftKey,
        value: record.value,
        headers: { [JOIN_OUTPUT_HEADERS.version]: String(record.version), [JOIN_OUTPUT_HEADERS.join]: this.joinName },
      })),
    });
  }
}
