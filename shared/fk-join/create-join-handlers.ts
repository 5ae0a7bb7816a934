import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Kafka } from 'kafkajs';
import { requireEnv } from '../config';
import { createTelemetry } from '../observability';
import { KafkaDeadLetterPublisher } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../kafka';
import type { MskBatchResponse, MskEvent, MskRecord } from '../msk';
import { BatchItemFailures, decodeKey, InvalidRecordError, recordsOf, sourceRecordOfMskRecord, valueHeads, WHOLE_BATCH_DONE } from '../msk';
import { decodeRecordValue } from '../schemas/record-value';
import type { ValueFormat } from '../schemas/value-format';
import { inputTraceOfMskHeaders, XRayBatchTracer, type InputTrace } from '../tracing';
import { joinStateTableVariable, type FkJoin } from './define-join';
import { InvalidJoinInputError } from './errors';
import { JoinProcessor, type JoinInput, type JoinInputRecord, type PartitionBatch } from './join-processor';
import { currentJoinOutputCauses, JoinOutputCauses, KafkaJoinOutputSink, withJoinOutputCauses } from './join-output-sink';
import { JoinStateStore, type Subscription } from './join-state-store';

export interface JoinHandlers {
  /** Consumes the left topic. */
  left(event: MskEvent, context: Context): Promise<MskBatchResponse>;
  /** Consumes the right topic. */
  right(event: MskEvent, context: Context): Promise<MskBatchResponse>;
  /** The processor's DynamoDB usage, for metrics and the benchmark. */
  readonly store: JoinStateStore;
}

export interface JoinHandlerOptions {
  /** The function's environment, read once by the handler module (`process.env` in Lambda) and handed down. */
  readonly env: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
  /** Stop a fan-out when less than this remains of the invocation, and continue in the next. @default 10 s */
  readonly timeReserveMs?: number;
  readonly fanOutPageSize?: number;
}

/**
 * The two Lambda handlers of a foreign-key join, for a handler module to export:
 *
 * @example
 * // functions/items-with-flyer/handler.ts
 * export const { left, right } = createJoinHandlers(itemsWithFlyer, { env: process.env });
 *
 * Clients are built once per execution environment. Records whose key is missing
 * or whose value the codec rejects are dead-lettered with the reason and the
 * partition moves on; any other failure fails the invocation so the event source
 * retries it (join consumers retry until success: dropping a valid update would
 * leave the join wrong for good). A fan-out that runs out of time reports its
 * record as a batch item failure and continues from where it stopped.
 */
export function createJoinHandlers(join: FkJoin, options: JoinHandlerOptions): JoinHandlers {
  const { env } = options;
  const tableName = requireEnv(joinStateTableVariable(join.name), env);
  // Adaptive retries back off and slow the client down when DynamoDB throttles.
  const documents = options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 10 }));
  const kafka = options.kafka ?? kafkaFromEnvironment(`join.${join.name}`, env);
  const producer = orderedProducer(kafka);
  const connect = connectOnce(() => producer.connect());

  const store = new FanOutTracingStore(documents, tableName);
  const processor = new JoinProcessor(join, store, new KafkaJoinOutputSink(producer, join.outputTopic, join.name, join.formats.output), {
    ...(options.fanOutPageSize ? { fanOutPageSize: options.fanOutPageSize } : {}),
  });
  const timeReserveMs = options.timeReserveMs ?? 10_000;

  const handle = (side: 'left' | 'right') => {
    const consumer = `${join.name}.${side}`;
    const deadLetter = new KafkaDeadLetterPublisher(producer, join.deadLetterTopic, consumer);
    const telemetry = createTelemetry(consumer);
    const tracer = new XRayBatchTracer(consumer, { env, warn: (message) => telemetry.logger.warn(message) });

    /** Reads and checks every record; what cannot be joined is dead-lettered in one request, with the reason. */
    async function validRecords<T extends JoinInputRecord>(
      event: MskEvent,
      traces: ReadonlyMap<MskRecord, InputTrace>,
      causes: JoinOutputCauses,
      prepare: (input: JoinInput) => T,
    ): Promise<Array<PartitionBatch<T>>> {
      const batches: Array<PartitionBatch<T>> = [];
      const invalid: Array<{ record: MskRecord; message: string }> = [];
      // A batch's schema ids looked up ahead, a few at a time: records with unknown ids then cost nothing each.
      await join.formats[side].prefetch?.(valueHeads(recordsOf(event)));
      for (const [partition, records] of Object.entries(event.records)) {
        const valid: T[] = [];
        for (const record of records) {
          try {
            const input = await toJoinInput(record, join.formats[side]);
            if (input === undefined) throw new InvalidJoinInputError('join inputs need a key: the entity id');
            valid.push(prepare(input));
            causes.input(input.key, input.offset, traces.get(record)!);
          } catch (error) {
            // Only an invalid input is dead-lettered; anything else fails the invocation, to be retried.
            if (!(error instanceof InvalidJoinInputError || error instanceof InvalidRecordError)) throw error;
            const reason = error.cause instanceof Error ? error.cause : error;
            invalid.push({ record, message: `${reason.name}: ${reason.message}` });
          }
        }
        batches.push({ partition, records: valid });
      }
      if (invalid.length > 0) {
        // The letters keep the records' own headers, traceparent included.
        await deadLetter.publish(
          invalid.map(({ record, message }) => ({
            record: sourceRecordOfMskRecord(record),
            reason: 'InvalidRecord',
            error: message,
            attempts: 1,
          })),
        );
        for (const { record, message } of invalid) {
          telemetry.deadLettered(1, message, {
            partition: record.partition,
            offset: record.offset,
            traceId: traces.get(record)!.context.traceId,
          });
        }
      }
      return batches;
    }

    async function handleBatch(event: MskEvent, context: Context, traces: ReadonlyMap<MskRecord, InputTrace>): Promise<MskBatchResponse> {
      await connect();
      const causes = new JoinOutputCauses(side);
      if (side === 'left') {
        const batches = await validRecords(event, traces, causes, (record) => processor.prepareLeft(record));
        await withJoinOutputCauses(causes, () => processor.applyLeft(batches));
        return WHOLE_BATCH_DONE;
      }
      const batches = await validRecords(event, traces, causes, (record) => processor.prepareRight(record));
      const paused = await withJoinOutputCauses(causes, () =>
        processor.applyRight(batches, () => context.getRemainingTimeInMillis() > timeReserveMs),
      );
      // Resume each partition from its earliest paused record; later records are applied again (idempotent).
      const failures = new BatchItemFailures();
      for (const { partition, offset } of paused) failures.resumeAt(partition, offset);
      return failures.response();
    }

    return async (event: MskEvent, context: Context): Promise<MskBatchResponse> => {
      try {
        // Each record's trace: the one it carries, or a new one when it carries none (or an invalid one).
        const traces = new Map<MskRecord, InputTrace>();
        for (const records of Object.values(event.records)) {
          for (const record of records) {
            traces.set(record, inputTraceOfMskHeaders(record.headers));
          }
        }
        return await tracer.trace(
          [...traces.values()].map((trace) => trace.context),
          () => handleBatch(event, context, traces),
        );
      } finally {
        telemetry.flush();
      }
    };
  };
  return { left: handle('left'), right: handle('right'), store };
}

/** The record as the join processor reads it: its key, and its value decoded once by its topic's format. */
async function toJoinInput(record: MskRecord, format: ValueFormat): Promise<JoinInput | undefined> {
  const key = decodeKey(record);
  if (key === null) return undefined;
  const value = await decodeRecordValue(record, format);
  // Only a tombstone deletes: a value that reads as null is no entity.
  if (value === null && record.value !== undefined)
    throw new InvalidJoinInputError('a value of null is no entity: a delete is a tombstone');
  return { key, offset: record.offset, value };
}

/**
 * The join's store, telling the invocation's {@link JoinOutputCauses} which left
 * keys each fan-out reached (the entries it read), so a fan-out's results
 * continue the trace of the right record that caused them. Reads and writes are
 * the store's own.
 */
class FanOutTracingStore extends JoinStateStore {
  override async subscriptions(
    rightKey: string,
    pageSize: number,
    cursor: string | undefined,
  ): Promise<{ subscriptions: Subscription[]; cursor: string | undefined }> {
    const page = await super.subscriptions(rightKey, pageSize, cursor);
    currentJoinOutputCauses()?.reached(rightKey, page.subscriptions);
    return page;
  }
}
