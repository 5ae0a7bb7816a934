import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { catalog } from '../../shared/catalog';
import { requireEnv } from '../../shared/config';
import { KafkaDeadLetterPublisher } from '../../shared/dead-letter';
import { projectEntityRecords } from '../../shared/entity-projection';
import type { MskBatchResponse, MskEvent } from '../../shared/event-source';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../../shared/kafka';
import { createTelemetry } from '../../shared/observability';
import { deadLetterTopicVariable } from '../../shared/pipeline';
import { recordsOf, toSourceRecord } from '../../shared/records';

// Built once per execution environment, at cold start.
const tableName = requireEnv('MERCHANT_DIRECTORY_TABLE_NAME');
const CONSUMER = 'merchant-directory';
const deadLetterTopic = requireEnv(deadLetterTopicVariable(CONSUMER));
const format = catalog.formats.get(catalog.offers.rightTopic);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const producer = orderedProducer(kafkaFromEnvironment(CONSUMER));
const connect = connectOnce(() => producer.connect());
// Letters name the consumer, as the joins' and hot streams' do: `platform dlq list merchant-directory` finds them.
const deadLetters = new KafkaDeadLetterPublisher(producer, deadLetterTopic, CONSUMER);
const telemetry = createTelemetry(CONSUMER);

/**
 * Keeps the merchant directory table equal to the latest state of the `merchants`
 * entity stream. A record no retry can fix (no key, unreadable, refused by
 * DynamoDB) is dead-lettered here with the reason and the batch goes on;
 * anything else (DynamoDB or the schema registry away) stops its partition at
 * that record, reported as a batch item failure, and the event source retries
 * from there (until it succeeds): earlier records and letters are not repeated.
 */
export const handler = async (event: MskEvent): Promise<MskBatchResponse> => {
  try {
    const { failed } = await projectEntityRecords(recordsOf(event), {
      documents,
      tableName,
      keyAttribute: 'merchantId',
      ...(format ? { format } : {}),
      deadLetter: async (record, error) => {
        await connect();
        await deadLetters.publish([{ record: toSourceRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 }]);
        telemetry.deadLettered(1, error.message);
      },
      partialBatch: true,
    });
    for (const { record, error } of failed) telemetry.logger.warn('record to retry', { partition: record.partition, offset: record.offset, error: String(error) });
    return { batchItemFailures: failed.map(({ record }) => ({ itemIdentifier: { partition: `${record.topic}-${record.partition}`, offset: record.offset } })) };
  } finally {
    telemetry.flush();
  }
};
