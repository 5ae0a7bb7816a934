import type { Producer } from 'kafkajs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { chunkBySize, estimatedMessageBytes } from '../kafka/chunk-by-size';
import { JSON_VALUE_FORMAT, type ValueFormat } from '../schemas/value-format';
import { outputTraceHeaders, type InputTrace } from '../tracing';
import type { Subscription } from './join-state-store';
import { formatJoinPosition, type JoinPosition } from './join-result';

/** One join result to publish: the left key, the position it was joined at, and the value (null = tombstone). */
export interface JoinOutputRecord {
  readonly leftKey: string;
  readonly position: JoinPosition;
  readonly value: unknown;
}

/** Where join results go. `publish` resolves only once every record is durably appended, in order. */
export interface JoinOutputSink {
  publish(records: readonly JoinOutputRecord[]): Promise<void>;
}

/**
 * Headers every join output carries. The position (`<leftOffset>:<rightOffset>`)
 * orders a key's results: a consumer that keeps the latest position per key never
 * goes backwards, and two records with the same position are the same result.
 * Each output also carries a W3C `traceparent` (and the `tracestate` it got),
 * a child of the input record that caused it, and that record's span id in
 * `x-trace-cause` (see {@link JoinOutputCauses} and `shared/tracing`).
 */
export const JOIN_OUTPUT_HEADERS = {
  position: 'x-join-position',
  join: 'x-join-name',
} as const;

/**
 * Publishes join results to the join's output topic with an idempotent, ordered
 * producer (acks from all in-sync replicas), each value encoded once in the topic's
 * wire format: a whole batch in as few produce requests as its size allows.
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
    const causes = invocationCauses.getStore();
    const messages = await Promise.all(
      records.map(async (record) => ({
        key: record.leftKey,
        value: record.value === null ? null : await this.format.encode(record.value),
        headers: {
          [JOIN_OUTPUT_HEADERS.position]: formatJoinPosition(record.position),
          [JOIN_OUTPUT_HEADERS.join]: this.joinName,
          ...outputTraceHeaders(causes?.causeOf(record)),
        },
      })),
    );
    for (const chunk of chunkBySize(messages, estimatedMessageBytes)) {
      await this.producer.send({ topic: this.topic, acks: -1, messages: chunk });
    }
  }
}

/**
 * Which input record of an invocation each of its results comes from, for the
 * results' trace context. An output continues the trace of the record that
 * caused it, as a child of that record's span:
 *
 * - a left batch: the left record of the output's key. Batches are coalesced
 *   per key, so it is the key's *last* record in the batch (the one joined);
 * - a right batch (a fan-out): the right record whose fan-out reached the
 *   output's key, learned from the subscription entries the fan-out read (a key
 *   reached by two right keys of the batch, its old and new foreign key, takes
 *   the one it was joined with). A repair that republishes a key continues the
 *   trace of the redelivered record that repairs it.
 *
 * One per invocation, bound with {@link withJoinOutputCauses}: handlers of one
 * module run concurrently for different partitions (locally all in one process).
 */
export class JoinOutputCauses {
  /** Per input key, its last record in the batch. Keys come from one partition each, so they are unique in an invocation. */
  private readonly inputs = new Map<string, { offset: number; trace: InputTrace }>();
  /** Right batches: per left key, the right keys whose fan-outs reached it. */
  private readonly reachedBy = new Map<string, Array<{ rightKey: string; retired: boolean }>>();

  constructor(readonly side: 'left' | 'right') {}

  /** An input record, in offset order per partition; a later record of the same key replaces an earlier one, as coalescing does. */
  input(key: string, offset: number, trace: InputTrace): void {
    this.inputs.set(key, { offset, trace });
  }

  /** A page of subscription entries a fan-out of `rightKey` read. */
  reached(rightKey: string, subscriptions: readonly Subscription[]): void {
    for (const { leftKey, retired } of subscriptions) {
      const reached = this.reachedBy.get(leftKey) ?? [];
      reached.push({ rightKey, retired });
      this.reachedBy.set(leftKey, reached);
    }
  }

  /** The trace of the input record that caused this result; undefined when none of the invocation's records did. */
  causeOf(record: JoinOutputRecord): InputTrace | undefined {
    if (this.side === 'left') return this.inputs.get(record.leftKey)?.trace;
    const candidates = (this.reachedBy.get(record.leftKey) ?? []).flatMap(({ rightKey, retired }) => {
      const input = this.inputs.get(rightKey);
      return input ? [{ retired, input }] : [];
    });
    const chosen =
      candidates.find(({ retired, input }) => !retired && input.offset === record.position.rightOffset) ??
      candidates.find(({ retired }) => !retired) ??
      candidates[0];
    return chosen?.input.trace;
  }
}

const invocationCauses = new AsyncLocalStorage<JoinOutputCauses>();

/** Runs one invocation's work with its causes, which the sink (and the store, for fan-outs) find without being passed them. */
export function withJoinOutputCauses<T>(causes: JoinOutputCauses, work: () => Promise<T>): Promise<T> {
  return invocationCauses.run(causes, work);
}

/** The causes of the invocation this call is part of, if any. */
export function currentJoinOutputCauses(): JoinOutputCauses | undefined {
  return invocationCauses.getStore();
}
