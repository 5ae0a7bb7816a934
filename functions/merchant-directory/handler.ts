import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { catalog } from '../../example';
import { requireEnv } from '../../shared/config';
import { KafkaDeadLetterPublisher } from '../../shared/dead-letter';
import { projectEntityRecords } from '../../shared/entity-projection';
import type { MskBatchResponse, MskEvent, MskRecord } from '../../shared/msk';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../../shared/kafka';
import { createTelemetry } from '../../shared/observability';
import { deadLetterTopicVariable } from '../../shared/pipeline';
import { BatchItemFailures, recordsOf, sourceRecordOfMskRecord } from '../../shared/msk';
import { traceContextOfMskHeaders, XRayBatchTracer } from '../../shared/tracing';

// Built once per execution environment, at cold start, from the environment read here and handed down.
const env = process.env;
const tableName = requireEnv('MERCHANT_DIRECTORY_TABLE_NAME', env);
const CONSUMER = 'merchant-directory';
const deadLetterTopic = requireEnv(deadLetterTopicVariable(CONSUMER), env);
const format = catalog.formats.get(catalog.offers.rightTopic);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const producer = orderedProducer(kafkaFromEnvironment(CONSUMER, env));
const connect = connectOnce(() => producer.connect());
// Letters name the consumer, as the joins' and hot streams' do: `platform dlq list merchant-directory` finds them.
const deadLetters = new KafkaDeadLetterPublisher(producer, deadLetterTopic, CONSUMER);
const telemetry = createTelemetry(CONSUMER);
const tracer = new XRayBatchTracer(CONSUMER, { env, warn: (message) => telemetry.logger.warn(message) });
/** The W3C trace id a record carries, for log lines about it. */
const traceIdOf = (record: MskRecord) => traceContextOfMskHeaders(record.headers)?.traceId;

/**
 * Keeps the merchant directory table equal to the latest state of the `merchants`
 * entity stream. A record no retry can fix (no key, unreadable, refused by
 * DynamoDB) is dead-lettered here with the reason and the batch goes on;
 * anything else (DynamoDB or the schema registry away) stops its partition at
 * that record, reported as a batch item failure, and the event source retries
 * from there (until it succeeds): earlier records and letters are not repeated.
 */
export const handler = async (event: MskEvent): Promise<MskBatchResponse> => {
  const records = recordsOf(event);
  try {
    // Recorded in X-Ray (active tracing) with the records' trace ids; the projection produces nothing, so their traces end here.
    const { failed } = await tracer.trace(
      records.flatMap((record) => traceContextOfMskHeaders(record.headers) ?? []),
      () =>
        projectEntityRecords(records, {
          documents,
          tableName,
          keyAttribute: 'merchantId',
          ...(format ? { format } : {}),
          deadLetter: async (record, error) => {
            await connect();
            // The letter keeps the record's own headers, its traceparent included.
            await deadLetters.publish([
              { record: sourceRecordOfMskRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 },
            ]);
            telemetry.deadLettered(1, error.message, { partition: record.partition, offset: record.offset, traceId: traceIdOf(record) });
          },
          partialBatch: true,
        }),
    );
    for (const { record, error } of failed)
      telemetry.logger.warn('record to retry', {
        partition: record.partition,
        offset: record.offset,
        traceId: traceIdOf(record),
        error: String(error),
      });
    const failures = new BatchItemFailures();
    for (const { record } of failed) failures.resumeAtRecord(record);
    return failures.response();
  } finally {
    telemetry.flush();
  }
};
