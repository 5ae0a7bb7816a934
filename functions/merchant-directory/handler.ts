import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { catalog } from '../../shared/catalog';
import { requireEnv } from '../../shared/config';
import { KafkaDeadLetterPublisher } from '../../shared/dead-letter';
import { projectEntityRecords } from '../../shared/entity-projection';
import type { MskEvent } from '../../shared/event-source';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../../shared/kafka';
import { createTelemetry } from '../../shared/observability';
import { recordsOf, toSourceRecord } from '../../shared/records';

// Built once per execution environment, at cold start.
const tableName = requireEnv('MERCHANT_DIRECTORY_TABLE_NAME');
const deadLetterTopic = requireEnv('MERCHANT_DIRECTORY_DEAD_LETTER_TOPIC');
const format = catalog.formats.get(catalog.offers.rightTopic);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const producer = orderedProducer(kafkaFromEnvironment('merchant-directory'));
const connect = connectOnce(() => producer.connect());
const deadLetters = new KafkaDeadLetterPublisher(producer, deadLetterTopic, 'merchant-directory');
const telemetry = createTelemetry('merchant-directory');

/**
 * Keeps the merchant directory table equal to the latest state of the `merchants`
 * entity stream. A record no retry can fix (no key, unreadable) is dead-lettered
 * here with the reason and the batch goes on; anything else (DynamoDB or the
 * schema registry unavailable) fails the batch, which the event source retries.
 */
export const handler = async (event: MskEvent): Promise<void> => {
  try {
    await projectEntityRecords(recordsOf(event), {
      documents,
      tableName,
      keyAttribute: 'merchantId',
      ...(format ? { format } : {}),
      deadLetter: async (record, error) => {
        await connect();
        await deadLetters.publish([{ record: toSourceRecord(record), reason: 'InvalidRecord', error: `${error.name}: ${error.message}`, attempts: 1 }]);
        telemetry.deadLettered(1, error.message);
      },
    });
  } finally {
    telemetry.flush();
  }
};
