import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Kafka } from 'kafkajs';
import { mapSettledConcurrently } from '../concurrency';
import { requireEnv } from '../config';
import { createTelemetry } from '../observability';
import { KafkaDeadLetterPublisher } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../kafka';
import type { MskBatchResponse, MskEvent, MskRecord } from '../event-source';
import { decodeKey, recordsOf, toSourceRecord } from '../records';
import { UnreadableValueError } from '../schemas/errors';
import type { ValueFormat } from '../schemas/value-format';
import { joinStateTableVariable, type FkJoin } from './define-join';
import { InvalidJoinInputError } from './errors';
import { JoinProcessor, type JoinInputRecord } from './join-processor';
import { KafkaJoinOutputSink } from './join-output-sink';
import { JoinStateStore } from './join-state-store';

export interface JoinHandlers {
  /** Consumes the left topic. */
  left(event: MskEvent, context: Context): Promise<MskBatchResponse>;
  /** Consumes the right topic. */
  right(event: MskEvent, context: Context): Promise<MskBatchResponse>;
  /** The processor's DynamoDB usage, for metrics and the benchmark. */
  readonly store: JoinStateStore;
}

export interface JoinHandlerOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
  /** Stop a fan-out when less than this remains of the invocation, and continue in the next. @default 10 s */
  readonly timeReserveMs?: number;
  readonly fanOutPageSize?: number;
  /** Keys applied at once within a batch. @default 8 */
  readonly keyConcurrency?: number;
}

/**
 * The two Lambda handlers of a foreign-key join, for a handler module to export:
 *
 * @example
 * // functions/items-with-flyer/handler.ts
 * export const { left, right } = createJoinHandlers(itemsWithFlyer);
 *
 * Clients are built once per execution environment. Records whose key is missing
 * or whose value the codec rejects are dead-lettered with the reason and the
 * partition moves on; any other failure fails the invocation so the event source
 * retries it (join consumers retry until success: dropping a valid update would
 * leave the join wrong for good). A fan-out that runs out of time reports its
 * record as a batch item failure and continues from where it stopped.
 */
export function createJoinHandlers(join: FkJoin, options: JoinHandlerOptions = {}): JoinHandlers {
  const env = options.env ?? process.env;
  const tableName = requireEnv(joinStateTableVariable(join.name), env);
  // Adaptive retries back off and slow the client down when DynamoDB throttles.
  const documents = options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 10 }));
  const kafka = options.kafka ?? kafkaFromEnvironment(`join.${join.name}`, env);
  const producer = orderedProducer(kafka);
  const connect = connectOnce(() => producer.connect());

  const store = new JoinStateStore(documents, tableName);
  const processor = new JoinProcessor(join, store, new KafkaJoinOutputSink(producer, join.outputTopic, join.name, join.formats.output), {
    ...(options.fanOutPageSize ? { fanOutPageSize: options.fanOutPageSize } : {}),
  });
  const deadLetters = (side: 'left' | 'right') => new KafkaDeadLetterPublisher(producer, join.deadLetterTopic, `${join.name}.${side}`);
  const timeReserveMs = options.timeReserveMs ?? 10_000;
  const keyConcurrency = options.keyConcurrency ?? 8;

  const handle = (side: 'left' | 'right') => {
    const deadLetter = deadLetters(side);
    const telemetry = createTelemetry(`${join.name}.${side}`);
    /** Applies one key's records in offset order; returns the record whose fan-out paused, if any. */
    /**
     * Applies one key's records in offset order; returns the first record it did not finish (out of time,
     * or a fan-out that paused), from which the event source resumes the partition.
     */
    const applyInOrder = async (records: readonly MskRecord[], context: Context): Promise<MskRecord | undefined> => {
      const hasTimeLeft = () => context.getRemainingTimeInMillis() > timeReserveMs;
      let started = 0;
      for (const record of records) {
        // Each key starts at least one record per invocation, so a partition always makes progress.
        if (started > 0 && !hasTimeLeft()) return record;
        started += 1;
        try {
          const input = await toJoinInput(record, join.formats[side]);
          if (input === undefined) throw new InvalidJoinInputError('join inputs need a key: the entity id');
          if (side === 'left') await processor.applyLeft(input);
          else if ((await processor.applyRight(input, hasTimeLeft)) === 'paused') return record;
        } catch (error) {
          // Only an invalid input is dead-lettered; anything else fails the invocation, to be retried.
          if (!(error instanceof InvalidJoinInputError)) throw error;
          const reason = error.cause instanceof Error ? error.cause : error;
          const message = `${reason.name}: ${reason.message}`;
          await deadLetter.publish([{ record: toSourceRecord(record), reason: 'InvalidRecord', error: message, attempts: 1 }]);
          telemetry.deadLettered(1, message);
        }
      }
      return undefined;
    };
    return async (event: MskEvent, context: Context): Promise<MskBatchResponse> => {
      try {
        return await handleBatch(event, context);
      } finally {
        telemetry.flush();
      }
    };
    async function handleBatch(event: MskEvent, context: Context): Promise<MskBatchResponse> {
      await connect();
      // Different keys are independent (each has its own rows), so they are applied concurrently;
      // one key's records stay in offset order.
      const outcomes = await mapSettledConcurrently([...recordsByKey(recordsOf(event)).values()], keyConcurrency, (records) => applyInOrder(records, context));
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      // Resume each partition from its earliest paused record; later records are applied again (idempotent).
      const earliestPaused = new Map<string, number>();
      for (const outcome of outcomes) {
        const paused = outcome.status === 'fulfilled' ? outcome.value : undefined;
        if (!paused) continue;
        const partition = `${paused.topic}-${paused.partition}`;
        earliestPaused.set(partition, Math.min(paused.offset, earliestPaused.get(partition) ?? Number.POSITIVE_INFINITY));
      }
      return { batchItemFailures: [...earliestPaused].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } })) };
    }
  };
  return { left: handle('left'), right: handle('right'), store };
}

/** A batch's records grouped by partition and key, each group in offset order. */
function recordsByKey(records: readonly MskRecord[]): Map<string, MskRecord[]> {
  const groups = new Map<string, MskRecord[]>();
  for (const record of records) {
    const group = `${record.topic}-${record.partition}/${record.key ?? `no-key@${record.offset}`}`;
    const existing = groups.get(group);
    if (existing) existing.push(record);
    else groups.set(group, [record]);
  }
  return groups;
}

/** The record as the join processor reads it: its key, and its value as JSON (read from the topic's wire format). */
async function toJoinInput(record: MskRecord, format: ValueFormat): Promise<JoinInputRecord | undefined> {
  const key = decodeKey(record);
  if (key === null) return undefined;
  if (record.value === undefined) return { key, offset: record.offset, value: null };
  try {
    return { key, offset: record.offset, value: await format.read(Buffer.from(record.value, 'base64')) };
  } catch (error) {
    if (error instanceof UnreadableValueError) throw new InvalidJoinInputError(error.message, false, { cause: error });
    throw error;
  }
}
