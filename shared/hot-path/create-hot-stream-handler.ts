import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Kafka } from 'kafkajs';
import { requireEnv } from '../config';
import { KafkaDeadLetterPublisher } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../kafka';
import type { MskEvent, MskRecord } from '../event-source';
import { decodeKey, recordsOf, toSourceRecord } from '../records';
import type { HotUpdateRecord } from './coalesce';
import { hotStateTableVariable, type HotStream, type UpdateOrder } from './define-hot-stream';
import { HotPathError } from './errors';
import { isFlushTick } from './flush-ticks';
import { KafkaHotDeltaSink } from './hot-delta-sink';
import { HotPathProcessor, type HotBatchResult } from './hot-path-processor';
import { HotStateStore } from './hot-state-store';

export interface HotStreamHandlerOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
  /** Fail the batch cleanly (to be retried) when less than this remains of the invocation. @default 10 s */
  readonly timeReserveMs?: number;
  readonly writeConcurrency?: number;
  readonly now?: () => number;
}

export interface HotStreamHandler<U extends UpdateOrder = UpdateOrder> {
  (event: MskEvent, context: Context): Promise<void>;
  readonly store: HotStateStore<U>;
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
  const processor = new HotPathProcessor(stream, store, new KafkaHotDeltaSink<U>(producer, stream), {
    ...(options.writeConcurrency ? { writeConcurrency: options.writeConcurrency } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const deadLetter = new KafkaDeadLetterPublisher(producer, stream.deadLetterTopic, stream.name);
  const timeReserveMs = options.timeReserveMs ?? 10_000;
  const totals = { updates: 0, keysApplied: 0, stale: 0, emitted: 0, unchanged: 0 };

  const handler = async (event: MskEvent, context: Context): Promise<void> => {
    await connect();
    const updates: HotUpdateRecord<U>[] = [];
    for (const record of recordsOf(event)) {
      if (isFlushTick(record.headers)) continue;
      try {
        updates.push(parse(stream, record));
      } catch (error) {
        if (!(error instanceof HotPathError)) throw error;
        await deadLetter.publish([{ record: toSourceRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 }]);
      }
    }
    const result = await processor.processBatch(updates, Object.keys(event.records), () => context.getRemainingTimeInMillis() > timeReserveMs);
    for (const name of Object.keys(totals) as Array<keyof typeof totals>) totals[name] += result[name];
  };
  return Object.assign(handler, { store, totals });
}

function parse<U extends UpdateOrder>(stream: HotStream<U>, record: MskRecord): HotUpdateRecord<U> {
  const recordKey = decodeKey(record);
  if (recordKey === null) throw new HotPathError('updates need a key: the item id');
  if (record.value === undefined) throw new HotPathError('an update needs a value; tombstones have no meaning on an update stream');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(record.value, 'base64').toString('utf8'));
  } catch (error) {
    throw new HotPathError(`value is not valid JSON (${(error as Error).message})`);
  }
  const update = stream.parse(json);
  stream.stateKey(recordKey, update); // rejects keys the stream cannot use, here where the record can be dead-lettered
  return { recordKey, offset: record.offset, partition: record.partition, update };
}
