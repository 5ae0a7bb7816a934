import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { requireEnv } from '../config';
import { KafkaDeadLetterPublisher } from '../dead-letter';
import type { MskBatchResponse, MskEvent, MskRecord } from '../event-source';
import { decodeKey, recordsOf, toSourceRecord } from '../records';
import { joinStateTableVariable, type FkJoin } from './define-join';
import { CodecError } from './errors';
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
  const documents = options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const kafka =
    options.kafka ?? new Kafka({ clientId: `join.${join.name}`, brokers: requireEnv('KAFKA_BROKERS', env).split(','), logLevel: logLevel.ERROR });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  let connected: Promise<void> | undefined;
  const connect = () => (connected ??= producer.connect().catch((error: unknown) => {
    connected = undefined;
    throw error;
  }));

  const store = new JoinStateStore(documents, tableName);
  const processor = new JoinProcessor(join, store, new KafkaJoinOutputSink(producer, join.outputTopic, join.name), {
    ...(options.fanOutPageSize ? { fanOutPageSize: options.fanOutPageSize } : {}),
  });
  const deadLetters = (side: 'left' | 'right') => new KafkaDeadLetterPublisher(producer, join.deadLetterTopic, `${join.name}.${side}`);
  const timeReserveMs = options.timeReserveMs ?? 10_000;
  const keyConcurrency = options.keyConcurrency ?? 8;

  const handle = (side: 'left' | 'right') => {
    const deadLetter = deadLetters(side);
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
        // Only the input's own key and value decide whether it is dead-lettered; a failure while applying it
        // (stored state, the joiner, DynamoDB) fails the invocation instead, so nothing is left half-applied.
        let input: JoinInputRecord;
        try {
          input = validInput(record);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
          await deadLetter.publish([
            { record: toSourceRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 },
          ]);
          continue;
        }
        if (side === 'left') await processor.applyLeft(input);
        else if ((await processor.applyRight(input, hasTimeLeft)) === 'paused') return record;
      }
      return undefined;
    };
    /** @throws CodecError when the record has no key or its value does not decode (or yields no foreign key). */
    const validInput = (record: MskRecord): JoinInputRecord => {
      const input = toJoinInput(record);
      if (input === undefined) throw new CodecError('join inputs need a key: the entity id');
      if (input.value !== null) {
        if (side === 'left') join.foreignKey(join.leftCodec.decode(input.value));
        else join.rightCodec.decode(input.value);
      }
      return input;
    };
    return async (event: MskEvent, context: Context): Promise<MskBatchResponse> => {
      await connect();
      // Different keys are independent (each has its own rows), so they are applied concurrently;
      // one key's records stay in offset order.
      const outcomes = await mapConcurrently([...recordsByKey(recordsOf(event)).values()], keyConcurrency, (records) => applyInOrder(records, context));
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
    };
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

/** Runs `work` over items with at most `concurrency` at once, and reports every outcome. */
async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const outcomes: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      try {
        outcomes[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  });
  await Promise.all(workers);
  return outcomes;
}

function toJoinInput(record: MskRecord): JoinInputRecord | undefined {
  const key = decodeKey(record);
  if (key === null) return undefined;
  return { key, offset: record.offset, value: record.value === undefined ? null : Buffer.from(record.value, 'base64') };
}
