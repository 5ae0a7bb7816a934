import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { requireEnv } from '../config';
import { createTelemetry } from '../observability';
import { KafkaDeadLetterPublisher, type DeadLetter } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer, readPartitionRange } from '../kafka';
import type { MskEvent, MskRecord } from '../event-source';
import { decodeKey, recordsOf, toSourceRecord } from '../records';
import { UnreadableValueError } from '../schemas/errors';
import type { HotUpdateRecord } from './coalesce';
import { hotStateTableVariable, type HotStream, type UpdateOrder } from './define-hot-stream';
import { HotPathError } from './errors';
import { FLUSH_TICK_HEADER, isFlushTick } from './flush-ticks';
import { KafkaHotDeltaSink } from './hot-delta-sink';
import { HotPathProcessor, type HotBatchResult, type ReplayedRange } from './hot-path-processor';
import { HotStateStore, type BufferedRange } from './hot-state-store';

export interface HotStreamHandlerOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
  /** Fail the batch cleanly (to be retried) when less than this remains of the invocation. @default 10 s */
  readonly timeReserveMs?: number;
  readonly writeConcurrency?: number;
  readonly now?: () => number;
  /** Names this execution environment's buffered ranges (coalescing across batches). @default a random UUID */
  readonly environmentId?: string;
}

export interface HotStreamHandler<U extends UpdateOrder = UpdateOrder> {
  (event: MskEvent, context: Context): Promise<void>;
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
 * DynamoDB throttling (ProvisionedThroughputExceeded, ThrottlingException) is
 * retried by the AWS SDK's adaptive retry mode, which also slows the client
 * down; what still fails fails the batch, which the event source retries.
 * Updates that do not parse are dead-lettered with the reason.
 */
export function createHotStreamHandler<U extends UpdateOrder>(stream: HotStream<U>, options: HotStreamHandlerOptions = {}): HotStreamHandler<U> {
  const env = options.env ?? process.env;
  const tableName = requireEnv(hotStateTableVariable(stream.name), env);
  const documents =
    options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 10 }));
  const kafka = options.kafka ?? kafkaFromEnvironment(`hot.${stream.name}`, env);
  const producer = orderedProducer(kafka);
  const connect = connectOnce(() => producer.connect());
  const store = new HotStateStore<U>(documents, tableName);
  const readRange = async (range: BufferedRange, timeoutMs: number): Promise<ReplayedRange<U>> => {
    const { messages, lostBefore } = await readPartitionRange(kafka, range.topic, range.partition, range.fromOffset, range.toOffset, { timeoutMs, reader: stream.name });
    const records: HotUpdateRecord<U>[] = [];
    for (const message of messages) {
      if (message.headers?.[FLUSH_TICK_HEADER] !== undefined) continue;
      try {
        records.push(await parseReplayed(stream, message, range.partition));
      } catch (error) {
        if (!isUnusable(error)) throw error; // dead-lettered when it was first consumed
      }
    }
    return { records, lostBefore };
  };
  const processor = new HotPathProcessor(stream, store, new KafkaHotDeltaSink<U>(producer, stream), {
    readRange,
    ...(options.writeConcurrency ? { writeConcurrency: options.writeConcurrency } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.environmentId ? { environmentId: options.environmentId } : {}),
  });
  const deadLetter = new KafkaDeadLetterPublisher(producer, stream.deadLetterTopic, stream.name);
  const timeReserveMs = options.timeReserveMs ?? 10_000;
  const totals = { updates: 0, keysApplied: 0, stale: 0, emitted: 0, unchanged: 0, replayed: 0 };

  const telemetry = createTelemetry(stream.name);

  const handler = async (event: MskEvent, context: Context): Promise<void> => {
    try {
      await connect();
      const updates: HotUpdateRecord<U>[] = [];
      const unusable: DeadLetter[] = [];
      for (const record of recordsOf(event)) {
        if (isFlushTick(record.headers)) continue;
        try {
          updates.push(await parse(stream, record));
        } catch (error) {
          if (!isUnusable(error)) throw error;
          unusable.push({ record: toSourceRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 });
        }
      }
      // One request for the batch's letters: a stream of bad updates must not cost a round trip each.
      if (unusable.length > 0) {
        await deadLetter.publish(unusable);
        telemetry.deadLettered(unusable.length, unusable[0]!.error!);
      }
      const result = await processor.processBatch(
        updates,
        Object.keys(event.records),
        () => context.getRemainingTimeInMillis() > timeReserveMs,
        () => context.getRemainingTimeInMillis() - timeReserveMs,
      );
      for (const name of Object.keys(totals) as Array<keyof typeof totals>) totals[name] += result[name];
      telemetry.logger.debug('batch applied', { ...result });
    } finally {
      telemetry.flush();
    }
  };
  return Object.assign(handler, { store, processor, totals });
}

/** The longest state key a hot stream takes, in UTF-8 bytes: a DynamoDB partition key (at most 2,048) with room to spare. */
const MAX_STATE_KEY_BYTES = 512;

/** A record no retry makes usable: dead-lettered with the reason (any other error fails the batch, to be retried). */
function isUnusable(error: unknown): error is HotPathError | UnreadableValueError {
  return error instanceof HotPathError || error instanceof UnreadableValueError;
}

function parse<U extends UpdateOrder>(stream: HotStream<U>, record: MskRecord): Promise<HotUpdateRecord<U>> {
  const value = record.value === undefined ? undefined : Buffer.from(record.value, 'base64');
  return parseUpdate(stream, decodeKey(record), value, record.offset, record.partition);
}

function parseReplayed<U extends UpdateOrder>(stream: HotStream<U>, message: KafkaMessage, partition: number): Promise<HotUpdateRecord<U>> {
  return parseUpdate(stream, message.key ? message.key.toString('utf8') : null, message.value ?? undefined, Number(message.offset), partition);
}

async function parseUpdate<U extends UpdateOrder>(
  stream: HotStream<U>,
  recordKey: string | null,
  value: Buffer | undefined,
  offset: number,
  partition: number,
): Promise<HotUpdateRecord<U>> {
  if (recordKey === null) throw new HotPathError('updates need a key: the item id');
  // Keys starting with U+0000 are the state table's own (buffered ranges).
  if (recordKey.startsWith('\u0000')) throw new HotPathError('item ids must not start with U+0000');
  if (value === undefined) throw new HotPathError('an update needs a value; tombstones have no meaning on an update stream');
  let json: unknown;
  try {
    json = await stream.formats.input.decode(value);
  } catch (error) {
    if (error instanceof SyntaxError) throw new HotPathError(`value is not valid JSON (${error.message})`);
    throw error;
  }
  const update = stream.parse(json);
  // Rejects keys the stream cannot use, here where the record can be dead-lettered.
  const stateKey = stream.stateKey(recordKey, update);
  if (Buffer.byteLength(stateKey) > MAX_STATE_KEY_BYTES) {
    throw new HotPathError(`state key of ${Buffer.byteLength(stateKey)} bytes is longer than a hot stream takes (${MAX_STATE_KEY_BYTES} bytes; it is a DynamoDB key)`);
  }
  return { recordKey, offset, partition, update };
}
