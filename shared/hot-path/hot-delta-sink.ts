import type { Producer } from 'kafkajs';
import { chunkBySize, estimatedMessageBytes } from '../kafka/chunk-by-size';
import type { ValueFormat } from '../schemas/value-format';
import type { HotStream, UpdateOrder } from './define-hot-stream';
import { outputTraceHeaders, type InputTrace } from '../tracing';

/** A slim delta event: the state key and its newest update, nothing static. */
export interface HotDelta<U extends UpdateOrder> {
  readonly key: string;
  readonly update: U;
  readonly emittedAt: number;
  /** The trace of the update it carries (kept in the hot state with it); none: the delta starts a trace. */
  readonly trace?: InputTrace;
}

export interface HotDeltaSink<U extends UpdateOrder> {
  /** Resolves once every delta is durably appended. */
  publish(deltas: readonly HotDelta<U>[]): Promise<void>;
}

/**
 * Headers every delta (and entity record) carries. Each also carries a W3C
 * `traceparent` (and the `tracestate` it got), a child of the update it
 * carries, and that update's span id in `x-trace-cause` (see `shared/tracing`).
 */
export const HOT_DELTA_HEADERS = { version: 'x-hot-version', stream: 'x-hot-stream' } as const;

/**
 * Publishes deltas to the stream's output topic, keyed by state key (consumers
 * keep the highest version) and, with `delta-and-entity` verbosity, the same
 * values to the stream's compacted entity topic in the same request.
 */
export class KafkaHotDeltaSink<U extends UpdateOrder> implements HotDeltaSink<U> {
  constructor(
    private readonly producer: Producer,
    private readonly stream: HotStream<U>,
  ) {}

  async publish(deltas: readonly HotDelta<U>[]): Promise<void> {
    if (deltas.length === 0) return;
    const { formats, verbosity } = this.stream;
    const withEntity = verbosity.mode === 'delta-and-entity';
    // One span per emission: a delta and its entity record are written by the same hop, as children of the same update.
    const headers = deltas.map((delta) => ({
      [HOT_DELTA_HEADERS.version]: String(delta.update.version),
      [HOT_DELTA_HEADERS.stream]: this.stream.name,
      ...outputTraceHeaders(delta.trace),
    }));
    // Each topic in its own format: the entity topic's values are registered under its own subject.
    const messagesIn = (format: ValueFormat) =>
      Promise.all(
        deltas.map(async (delta, index) => ({
          key: delta.key,
          value: await format.encode({ key: delta.key, ...delta.update, emittedAt: delta.emittedAt }),
          headers: headers[index]!,
        })),
      );
    const messages = await messagesIn(formats.output);
    const entityMessages = withEntity ? await messagesIn(formats.entity) : [];
    // A write-behind store can emit tens of thousands of deltas at once; requests stay under the broker's limit.
    // A delta and its entity value go in the same request.
    const pairs = messages.map((message, index) => ({ message, entity: entityMessages[index] }));
    for (const chunk of chunkBySize(
      pairs,
      (pair) => estimatedMessageBytes(pair.message) + (pair.entity ? estimatedMessageBytes(pair.entity) : 0),
    )) {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: this.stream.outputTopic, messages: chunk.map((pair) => pair.message) },
          ...(verbosity.mode === 'delta-and-entity' ? [{ topic: verbosity.entityTopic, messages: chunk.map((pair) => pair.entity!) }] : []),
        ],
      });
    }
  }
}
