import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { catalog } from '../../shared/catalog';
import { requireEnv } from '../../shared/config';
import { projectEntityRecords } from '../../shared/entity-projection';
import type { MskEvent } from '../../shared/event-source';
import { recordsOf } from '../../shared/records';

// Built once per execution environment, at cold start.
const tableName = requireEnv('MERCHANT_DIRECTORY_TABLE_NAME');
const format = catalog.formats.get(catalog.offers.rightTopic);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

/**
 * Keeps the merchant directory table equal to the latest state of the `merchants`
 * entity stream. An invalid record throws; the event source bisects the batch
 * down to it and, after its retries, dead-letters it with the error.
 */
export const handler = async (event: MskEvent): Promise<void> => {
  await projectEntityRecords(recordsOf(event), { documents, tableName, keyAttribute: 'merchantId', ...(format ? { format } : {}) });
};
