import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Kafka, Message } from 'kafkajs';
import { forEachConcurrently } from '../concurrency';
import { requireEnv } from '../config';
import { KafkaDeadLetterPublisher, type DeadLetter } from '../dead-letter';
import { connectOnce, kafkaFromEnvironment, orderedProducer, sendChunked } from '../kafka';
import { recordsOf, sourceRecordOfMskRecord, WHOLE_BATCH_DONE, type MskBatchResponse, type MskEvent, type MskRecord } from '../msk';
import { createTelemetry } from '../observability';
import { SchemaValidationError } from '../schemas/errors';
import { newRootContext, traceHeaders } from '../tracing';
import { isNewerChange, parseChangeEvent, type ChangePosition } from './change-event';
import { ChangePositionsStore } from './change-positions-store';
import { cdcPositionsTableVariable, type CdcMapping } from './define-cdc-mapping';
import { InvalidChangeError } from './errors';

/** The longest entity id a mapping takes, in UTF-8 bytes: it is the positions table's partition key, and a record key. */
export const MAX_ENTITY_KEY_BYTES = 512;
/** The largest entity a mapping publishes: a produce request to the entity topic must fit the broker's 1 MB default. */
export const MAX_ENTITY_BYTES = 900 * 1024;
/** Each entity record names the change it comes from: `<lsn>` while streaming, `<lsn> snapshot` for a snapshot read. */
export const CDC_POSITION_HEADER = 'x-cdc-position';

export interface CdcMappingHandlerOptions {
  /** The function's environment, read once by the handler module (`process.env` in Lambda) and handed down. */
  readonly env: NodeJS.ProcessEnv;
  readonly documents?: DynamoDBDocumentClient;
  readonly kafka?: Kafka;
}

export type CdcMappingHandler = (event: MskEvent) => Promise<MskBatchResponse>;

/** One entity's newest change in a batch, mapped and encoded. */
interface MappedChange {
  readonly key: string;
  readonly position: ChangePosition;
  /** The entity in its topic's format; null for a delete (a tombstone). */
  readonly value: Buffer | null;
}

/**
 * The Lambda handler of a CDC mapping, for a handler module to export: it
 * reads Debezium's row changes of one table and writes the entity stream.
 *
 * Per batch: every change is parsed and mapped (a change the mapping cannot
 * use is dead-lettered with the reason, in one request); the newest change per
 * entity is kept; the entities' stored positions are read (one BatchGetItem
 * per 100); what is newer is published in as few produce requests as fit, and
 * only then are the positions recorded (one conditional write each). A crash
 * between the two publishes the same version again on redelivery, never an
 * older one. Anything else (DynamoDB, the broker or the registry away) fails
 * the batch, retried until it succeeds.
 */
export function createCdcMappingHandler<E>(mapping: CdcMapping<E>, options: CdcMappingHandlerOptions): CdcMappingHandler {
  const { env } = options;
  const tableName = requireEnv(cdcPositionsTableVariable(mapping.name), env);
  const documents = options.documents ?? DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 10 }));
  const producer = orderedProducer(options.kafka ?? kafkaFromEnvironment(`cdc.${mapping.name}`, env));
  const connect = connectOnce(() => producer.connect());
  const positions = new ChangePositionsStore(documents, tableName);
  const deadLetters = new KafkaDeadLetterPublisher(producer, mapping.deadLetterTopic, mapping.name);
  const telemetry = createTelemetry(mapping.name);

  /** The change a record holds, mapped; undefined for the tombstone Debezium writes after a delete. @throws InvalidChangeError */
  const mapped = async (record: MskRecord): Promise<MappedChange | undefined> => {
    if (record.value === undefined) return undefined;
    const change = parseChangeEvent(Buffer.from(record.value, 'base64'));
    const row = change.op === 'd' ? change.before! : change.after!;
    const key = refusedAsInvalid('entityKey', () => mapping.entityKey(row));
    if (typeof key !== 'string' || key === '')
      throw new InvalidChangeError(`entityKey gave ${JSON.stringify(key)}, not a non-empty string`);
    if (Buffer.byteLength(key) > MAX_ENTITY_KEY_BYTES) {
      throw new InvalidChangeError(`an entity id of ${Buffer.byteLength(key)} bytes is longer than ${MAX_ENTITY_KEY_BYTES}`);
    }
    if (change.op === 'd') return { key, position: change.position, value: null };
    const entity = refusedAsInvalid('toEntity', () => mapping.toEntity(row));
    let value: Buffer;
    try {
      value = await mapping.entityFormat.encode(entity);
    } catch (error) {
      if (error instanceof SchemaValidationError)
        throw new InvalidChangeError(`the mapped entity does not match its schema: ${error.message}`);
      throw error;
    }
    if (value.length > MAX_ENTITY_BYTES) {
      throw new InvalidChangeError(`the mapped entity takes ${value.length} bytes, more than the entity topic takes (${MAX_ENTITY_BYTES})`);
    }
    return { key, position: change.position, value };
  };

  return async (event) => {
    try {
      await connect();
      const newest = new Map<string, MappedChange>();
      const letters: DeadLetter[] = [];
      for (const record of recordsOf(event)) {
        try {
          const change = await mapped(record);
          if (change && isNewerChange(change.position, newest.get(change.key)?.position)) newest.set(change.key, change);
        } catch (error) {
          if (!(error instanceof InvalidChangeError)) throw error;
          letters.push({
            record: sourceRecordOfMskRecord(record),
            reason: 'InvalidRecord',
            error: `${error.name}: ${error.message}`,
            attempts: 1,
          });
        }
      }
      if (letters.length > 0) {
        await deadLetters.publish(letters);
        for (const letter of letters) {
          telemetry.deadLettered(1, letter.error!, { partition: letter.record.partition, offset: letter.record.offset });
        }
      }
      const stored = await positions.read([...newest.keys()]);
      const publish = [...newest.values()].filter((change) => isNewerChange(change.position, stored.get(change.key)));
      const messages: Message[] = publish.map((change) => ({
        key: change.key,
        value: change.value,
        headers: {
          [CDC_POSITION_HEADER]: `${change.position.lsn}${change.position.snapshot ? ' snapshot' : ''}`,
          // A row change starts its entity's trace: the database carries none.
          ...traceHeaders(newRootContext()),
        },
      }));
      await sendChunked(producer, mapping.entityTopic, messages);
      await forEachConcurrently(publish, 8, async (change) => {
        await positions.record(change.key, change.position, change.value === null);
      });
      telemetry.logger.debug('batch mapped', { changes: newest.size, published: publish.length, deadLettered: letters.length });
      return WHOLE_BATCH_DONE;
    } finally {
      telemetry.flush();
    }
  };
}

/** Runs the mapping's own code; whatever it throws is its refusal of the row. */
function refusedAsInvalid<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new InvalidChangeError(`${what} refused the row: ${error instanceof Error ? error.message : String(error)}`, false, {
      cause: error,
    });
  }
}
