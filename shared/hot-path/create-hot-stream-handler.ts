import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { requireEnv } from '../config';
import { createTelemetry } from '../observability';
import { KafkaDeadLetterPublisher, type DeadLetter } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer, readPartitionRange } from '../kafka';
import type { MskBatchResponse, MskEvent, MskRecord, SourceRecord } from '../msk';
import { sourceRecordOfKafkaMessage } from '../kafka';
import { BatchItemFailures, decodeKey, recordsOf, sourceRecordOfMskRecord, valueHeads, WHOLE_BATCH_DONE } from '../msk';
import { UnreadableValueError } from '../schemas/errors';
import {
  inputTraceOfHeaders,
  inputTraceOfMskHeaders,
  traceContextOfMskHeaders,
  traceHeaders,
  XRayBatchTracer,
  type InputTrace,
  type TraceContext,
} from '../tracing';
import type { HotUpdateRecord } from './coalesce';
import { hotStateTableVariable, reportBatchItemFailuresVariable, type HotStream, type UpdateOrder } from './define-hot-stream';
import { BatchIncompleteError, HotPathError } from './errors';
import { FLUSH_TICK_HEADER, isFlushTick } from './flush-ticks';
import { KafkaHotDeltaSink } from './hot-delta-sink';
import { HotPathProcessor, type HotBatchResult, type RefusedUpdate, type ReplayedRange } from './hot-path-processor';
import { HotStateStore, type BufferedRange } from './hot-state-store';
import { MAX_UPDATE_BYTES, whyUnstorable } from './storable-update';

export interface HotStreamHandlerOptions {
  /** The function's environment, read once by the handler module (`process.env` in Lambda) and handed down. */
  readonly env: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
  /** Fail the batch cleanly (to be retried) when less than this remains of the invocation. @default 10 s */
  readonly timeReserveMs?: number;
  readonly writeConcurrency?: number;
  readonly now?: () => number;
  /** Names this execution environment's buffered ranges (coalescing across batches). @default a random UUID */
  readonly environmentId?: string;
  /**
   * Whether the event source mapping takes partial batch responses
   * (`ReportBatchItemFailures`). Only then does a batch that failed part-way
   * return the first record not done per partition; otherwise it throws and
   * is retried whole. Never set it without the mapping setting: a mapping
   * without it takes any response as success and would skip the records named.
   * @default the environment variable {@link reportBatchItemFailuresVariable} is `true`
   */
  readonly reportBatchItemFailures?: boolean;
}

export interface HotStreamHandler<U extends UpdateOrder = UpdateOrder> {
  (event: MskEvent, context: Context): Promise<MskBatchResponse>;
  readonly store: HotStateStore<U>;
  readonly processor: HotPathProcessor<U>;
  /** Totals over every batch so far, for metrics and the benchmark. */
  readonly totals: { -readonly [K in keyof HotBatchResult]: number };
}

/**
 * The Lambda handler of a hot stream, for a handler module to export:
 *
 * @example
 * // functions/prices/handler.ts
 * export const handler = createHotStreamHandler(prices);
 *
 * What no retry can fix is dead-lettered with the reason and the partition
 * moves on: updates that do not parse or that the hot state could never store
 * (no or an empty key, a value over {@link MAX_UPDATE_BYTES}, a version
 * DynamoDB cannot hold), found as they are read, and updates DynamoDB refuses
 * when they are written (a `ValidationException`, once a probe showed the
 * table takes well-formed writes); a refused update's key keeps its newest
 * update that can be stored. Anything else fails: DynamoDB throttling is first
 * retried by the AWS SDK's adaptive retry mode, which also slows the client
 * down; what still fails, or DynamoDB, the broker or the registry being away,
 * fails the batch, which the event source retries (from the first record not
 * done, with partial batch responses).
 *
 * Each update keeps the W3C trace context its record carried (a new trace when
 * it carried none), through coalescing and the write-behind buffer into the
 * hot-state item, and the delta that carries it, whenever it is emitted, is a
 * child of it. Each batch is recorded in X-Ray (active tracing) with its
 * records' traces; log lines about dead-lettered updates name their `traceId`.
 */
export function createHotStreamHandler<U extends UpdateOrder>(stream: HotStream<U>, options: HotStreamHandlerOptions): HotStreamHandler<U> {
  const { env } = options;
  const tableName = requireEnv(hotStateTableVariable(stream.name), env);
  const reportBatchItemFailures = options.reportBatchItemFailures ?? env[reportBatchItemFailuresVariable(stream.name)] === 'true';
  const documents = options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 10 }));
  const kafka = options.kafka ?? kafkaFromEnvironment(`hot.${stream.name}`, env);
  const producer = orderedProducer(kafka);
  const connect = connectOnce(() => producer.connect());
  const store = new HotStateStore<U>(documents, tableName);
  const deadLetter = new KafkaDeadLetterPublisher(producer, stream.deadLetterTopic, stream.name);
  const telemetry = createTelemetry(stream.name);
  // Active tracing: each batch an X-Ray subsegment of its invocation, annotated with its records' traces.
  const tracer = new XRayBatchTracer(stream.name, { env, warn: (message) => telemetry.logger.warn(message) });
  /** The events being handled: a refused update's record is looked up in them (the emulator may run several partitions at once). */
  const inFlight = new Set<MskEvent>();

  const readRange = async (range: BufferedRange, timeoutMs: number): Promise<ReplayedRange<U>> => {
    const { messages, lostBefore } = await readPartitionRange(kafka, range.topic, range.partition, range.fromOffset, range.toOffset, {
      timeoutMs,
      reader: stream.name,
    });
    const records: HotUpdateRecord<U>[] = [];
    for (const message of messages) {
      if (message.headers?.[FLUSH_TICK_HEADER] !== undefined) continue;
      try {
        records.push(await parseReplayed(stream, message, range.partition, inputTraceOfHeaders(message.headers)));
      } catch (error) {
        if (!isUnusable(error)) throw error; // dead-lettered when it was first consumed
      }
    }
    return { records, lostBefore };
  };
  /** Dead-letters updates the hot state refused, as the records they were on the broker. */
  const deadLetterRefused = async (refused: readonly RefusedUpdate<U>[]): Promise<void> => {
    const sources = await sourceRecordsOf(
      refused.map(({ record }) => record),
      (record) => findInEvents(inFlight, stream.inputTopic, record.partition, record.offset),
      (partition, fromOffset, toOffset) =>
        readPartitionRange(kafka, stream.inputTopic, partition, fromOffset, toOffset, { reader: stream.name }).then(
          (range) => range.messages,
        ),
      stream.inputTopic,
    );
    const letters: DeadLetter[] = refused.map(({ error }, index) => ({
      record: sources[index]!.record,
      reason: 'InvalidRecord',
      error: `${error.name}: ${error.message}${sources[index]!.rebuilt ? ' (the record is no longer in the topic: this letter holds the update as read)' : ''}`,
      attempts: 1,
    }));
    await connect();
    await deadLetter.publish(letters);
    for (const [index, { record }] of refused.entries()) {
      telemetry.deadLettered(1, letters[index]!.error!, {
        partition: record.partition,
        offset: record.offset,
        traceId: record.trace?.context.traceId,
      });
    }
  };
  const processor = new HotPathProcessor(stream, store, new KafkaHotDeltaSink<U>(producer, stream), {
    readRange,
    deadLetter: deadLetterRefused,
    logger: telemetry.logger,
    ...(options.writeConcurrency ? { writeConcurrency: options.writeConcurrency } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.environmentId ? { environmentId: options.environmentId } : {}),
  });
  const timeReserveMs = options.timeReserveMs ?? 10_000;
  const totals = { updates: 0, keysApplied: 0, stale: 0, emitted: 0, unchanged: 0, replayed: 0, refused: 0 };

  const handleBatch = async (event: MskEvent, context: Context, traces: ReadonlyMap<MskRecord, InputTrace>): Promise<MskBatchResponse> => {
    await connect();
    const updates: HotUpdateRecord<U>[] = [];
    const unusable: Array<{ letter: DeadLetter; record: MskRecord }> = [];
    // A batch's schema ids looked up ahead, a few at a time: records with unknown ids then cost nothing each.
    await stream.formats.input.prefetch?.(valueHeads(recordsOf(event)));
    for (const record of recordsOf(event)) {
      if (isFlushTick(record.headers)) continue;
      try {
        updates.push(await parse(stream, record, traces.get(record)!));
      } catch (error) {
        if (!isUnusable(error)) throw error;
        unusable.push({
          record,
          letter: {
            record: sourceRecordOfMskRecord(record),
            reason: 'InvalidRecord',
            error: `${error.name}: ${error.message}`,
            attempts: 1,
          },
        });
      }
    }
    // One request for the batch's letters: a stream of bad updates must not cost a round trip each.
    if (unusable.length > 0) {
      // The letters keep the records' own headers, traceparent included.
      await deadLetter.publish(unusable.map(({ letter }) => letter));
      for (const { record, letter } of unusable) {
        telemetry.deadLettered(1, letter.error!, {
          partition: record.partition,
          offset: record.offset,
          traceId: traces.get(record)!.context.traceId,
        });
      }
    }
    let result: HotBatchResult;
    try {
      result = await processor.processBatch(
        updates,
        Object.keys(event.records),
        () => context.getRemainingTimeInMillis() > timeReserveMs,
        () => context.getRemainingTimeInMillis() - timeReserveMs,
      );
    } catch (error) {
      if (!(error instanceof BatchIncompleteError)) throw error;
      // Without partial batch responses, or with nothing done, the batch fails whole (and counts as an error).
      if (!reportBatchItemFailures || !madeProgress(event, error.resumeAt)) throw error.cause;
      const resumeAt = error.resumeAt.map(({ partition, offset }) => {
        const record = event.records[partition]?.find((candidate) => candidate.offset === offset);
        return { partition, offset, traceId: record && traces.get(record)?.context.traceId };
      });
      telemetry.logger.warn('batch done in part; the event source retries from the first record not done', {
        resumeAt,
        error: String(error.cause),
      });
      const failures = new BatchItemFailures();
      for (const { partition, offset } of error.resumeAt) failures.resumeAt(partition, offset);
      return failures.response();
    }
    for (const name of Object.keys(totals) as Array<keyof typeof totals>) totals[name] += result[name];
    telemetry.logger.debug('batch applied', { ...result });
    return WHOLE_BATCH_DONE;
  };

  const handler = async (event: MskEvent, context: Context): Promise<MskBatchResponse> => {
    inFlight.add(event);
    try {
      // Each update's trace: the one its record carries, or a new one when it carries none (or an invalid one).
      const traces = new Map<MskRecord, InputTrace>();
      // What X-Ray annotates the batch with: its updates' traces, and the traces flush ticks carry (the ticker's).
      const annotated: TraceContext[] = [];
      for (const record of recordsOf(event)) {
        if (isFlushTick(record.headers)) {
          const tick = traceContextOfMskHeaders(record.headers);
          if (tick) annotated.push(tick);
          continue;
        }
        const trace = inputTraceOfMskHeaders(record.headers);
        traces.set(record, trace);
        annotated.push(trace.context);
      }
      return await tracer.trace(annotated, () => handleBatch(event, context, traces));
    } finally {
      inFlight.delete(event);
      telemetry.flush();
    }
  };
  return Object.assign(handler, { store, processor, totals });
}

/** A record no retry makes usable: dead-lettered with the reason (any other error fails the batch, to be retried). */
function isUnusable(error: unknown): error is HotPathError | UnreadableValueError {
  return (error instanceof HotPathError && !error.retriable) || error instanceof UnreadableValueError;
}

/** True when some partition of the event got past its first record. */
function madeProgress(event: MskEvent, resumeAt: ReadonlyArray<{ readonly partition: string; readonly offset: number }>): boolean {
  const resume = new Map(resumeAt.map(({ partition, offset }) => [partition, offset]));
  return Object.entries(event.records).some(([partition, records]) => records.length > 0 && resume.get(partition) !== records[0]!.offset);
}

function parse<U extends UpdateOrder>(stream: HotStream<U>, record: MskRecord, trace: InputTrace): Promise<HotUpdateRecord<U>> {
  const value = record.value === undefined ? undefined : Buffer.from(record.value, 'base64');
  return parseUpdate(stream, decodeKey(record), value, record.offset, record.partition, trace);
}

function parseReplayed<U extends UpdateOrder>(
  stream: HotStream<U>,
  message: KafkaMessage,
  partition: number,
  trace: InputTrace,
): Promise<HotUpdateRecord<U>> {
  return parseUpdate(
    stream,
    message.key ? message.key.toString('utf8') : null,
    message.value ?? undefined,
    Number(message.offset),
    partition,
    trace,
  );
}

/**
 * Reads and checks an update. Everything the hot state could never store is
 * refused here, before anything is written, with the reason for the letter.
 * @throws HotPathError (or InvalidUpdateError, UnreadableValueError) for a record no retry makes usable
 */
async function parseUpdate<U extends UpdateOrder>(
  stream: HotStream<U>,
  recordKey: string | null,
  value: Buffer | undefined,
  offset: number,
  partition: number,
  trace: InputTrace,
): Promise<HotUpdateRecord<U>> {
  if (recordKey === null || recordKey === '') throw new HotPathError('updates need a non-empty key: the item id');
  // Keys starting with U+0000 are the state table's own (buffered ranges, probes).
  if (recordKey.startsWith('\u0000')) throw new HotPathError('item ids must not start with U+0000');
  if (value === undefined) throw new HotPathError('an update needs a value; tombstones have no meaning on an update stream');
  // An unreadable value throws UnreadableValueError, which is unusable: dead-lettered with its reason.
  const update = stream.parse(await stream.formats.input.decode(value));
  // Rejects keys the stream cannot use, here where the record can be dead-lettered.
  const problem = whyUnstorable(stream.stateKey(recordKey, update), update);
  if (problem) throw new HotPathError(problem);
  // Last, so a record that is wrong as well as large is named for what is wrong (decoding it first costs
  // milliseconds; Lambda's 6 MB payload cap bounds it). A value this large is no slim update either way.
  if (value.length > MAX_UPDATE_BYTES)
    throw new HotPathError(`a value of ${value.length} bytes is larger than a hot-stream update may be (${MAX_UPDATE_BYTES} bytes)`);
  return { recordKey, offset, partition, update, trace };
}

/** The record in a handled event at a partition and offset (each partition's records are in offset order). */
function findInEvents(events: Iterable<MskEvent>, topic: string, partition: number, offset: number): MskRecord | undefined {
  for (const event of events) {
    const records = event.records[`${topic}-${partition}`] ?? [];
    let low = 0;
    let high = records.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const candidate = records[middle]!;
      if (candidate.offset === offset) return candidate;
      if (candidate.offset < offset) low = middle + 1;
      else high = middle - 1;
    }
  }
  return undefined;
}

/**
 * The records refused updates came from, as they were on the broker: from the
 * events in hand, or read again from the topic (an update held across batches,
 * or replayed), one read per partition. One retention already deleted is
 * rebuilt from the update as read.
 */
async function sourceRecordsOf<U extends UpdateOrder>(
  records: readonly HotUpdateRecord<U>[],
  inEvents: (record: HotUpdateRecord<U>) => MskRecord | undefined,
  readRange: (partition: number, fromOffset: number, toOffset: number) => Promise<KafkaMessage[]>,
  topic: string,
): Promise<Array<{ record: SourceRecord; rebuilt: boolean }>> {
  const found = records.map((record) => inEvents(record));
  const missing = new Map<number, number[]>();
  records.forEach((record, index) => {
    if (!found[index]) missing.set(record.partition, [...(missing.get(record.partition) ?? []), record.offset]);
  });
  const read = new Map<string, KafkaMessage>();
  for (const [partition, offsets] of missing) {
    for (const message of await readRange(partition, Math.min(...offsets), Math.max(...offsets)))
      read.set(`${partition}@${message.offset}`, message);
  }
  return records.map((record, index) => {
    const event = found[index];
    if (event) return { record: sourceRecordOfMskRecord(event), rebuilt: false };
    const message = read.get(`${record.partition}@${record.offset}`);
    if (message) return { record: sourceRecordOfKafkaMessage(topic, record.partition, message), rebuilt: false };
    return {
      record: {
        topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: 0,
        timestampType: 'CREATE_TIME',
        key: Buffer.from(record.recordKey),
        value: Buffer.from(JSON.stringify(record.update)),
        // The context the record carried, so the letter stays in its trace (a trace started for it was on no record).
        headers: record.trace?.carried
          ? Object.entries(traceHeaders(record.trace.context)).map(([name, value]) => [name, Buffer.from(value)] as const)
          : [],
      },
      rebuilt: true,
    };
  });
}
