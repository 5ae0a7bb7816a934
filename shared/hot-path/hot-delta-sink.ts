import type { Producer } from 'kafkajs';
import type { UpdateOrder } from './define-hot-stream';

/** A slim delta event: the state key and its newest update, nothing static. */
export interface HotDelta<U extends UpdateOrder> {
  readonly key: string;
  readonly update: U;
  readonly emittedAt: number;
}

export interface HotDeltaSink<U extends UpdateOrder> {
  /** Resolves once every delta is durably appended. */
  publish(deltas: readonly HotDelta<U>[]): Promise<void>;
}

export const HOT_DELTA_HEADERS = { version: 'x-hot-version', stream: 'x-hot-stream' } as const;

/** Publishes deltas to the stream's output topic, keyed by state key; consumers keep the highest version. */
export class KafkaHotDeltaSink<U extends UpdateOrder> implements HotDeltaSink<U> {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly streamName: string,
  ) {}

  async publish(deltas: readonly HotDelta<U>[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: deltas.map((delta) => ({
        key: delta.key,
        value: JSON.stringify({ key: delta.key, ...delta.update, emittedAt: delta.emittedAt }),
        headers: { [HOT_DELTA_HEADERS.version]: String(delta.update.version), [HOT_DELTA_HEADERS.stream]: this.streamName },
      })),
    });
  }
}
