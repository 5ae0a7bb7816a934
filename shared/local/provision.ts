import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  type AttributeDefinition,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import type { Admin } from 'kafkajs';
import type { Pipeline, Table, Topic } from '../pipeline';
import { ProvisioningError } from './errors';

/**
 * Creates the pipeline's topics on a broker, with the partitions and configuration
 * the declaration derives. Existing topics are kept; one whose partition count
 * differs is an error, since silently running on a different topology would hide
 * bugs. (Configuration of existing topics is not compared.)
 */
export async function provisionTopics(admin: Admin, topics: readonly Topic[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic.name));
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic: topic.name,
          numPartitions: topic.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // A busy broker can answer the leader wait with "unknown topic" for a topic it has just created.
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      await untilLeadersElected(
        admin,
        missing.map((topic) => topic.name),
      );
    }
  }
  const present = topics.filter((topic) => existing.has(topic.name));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((topic) => topic.name) });
  for (const topic of present) {
    const partitions = metadata.topics.find((described) => described.name === topic.name)?.partitions.length;
    if (partitions !== topic.partitions) {
      throw new ProvisioningError(
        `Topic "${topic.name}" exists with ${partitions} partitions but the pipeline declares ${topic.partitions}; ` +
          'delete it (or start the local runtime without persistent state) to recreate it',
      );
    }
  }
}

/** Creates the pipeline's DynamoDB tables (on-demand, as in AWS); existing tables must have the declared keys. */
export async function provisionTables(dynamodb: DynamoDBClient, tables: readonly Table[]): Promise<void> {
  for (const table of tables) {
    const keySchema: KeySchemaElement[] = [{ AttributeName: table.partitionKey.name, KeyType: 'HASH' }];
    const attributes: AttributeDefinition[] = [{ AttributeName: table.partitionKey.name, AttributeType: table.partitionKey.type }];
    if (table.sortKey) {
      keySchema.push({ AttributeName: table.sortKey.name, KeyType: 'RANGE' });
      attributes.push({ AttributeName: table.sortKey.name, AttributeType: table.sortKey.type });
    }
    const globalIndexes = (table.globalIndexes ?? []).map((index) => {
      for (const key of [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])]) {
        if (!attributes.some((attribute) => attribute.AttributeName === key.name))
          attributes.push({ AttributeName: key.name, AttributeType: key.type });
      }
      return {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
          ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      };
    });
    const existingKeys = await describeKeySchema(dynamodb, table.name);
    if (existingKeys === undefined) {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: table.name,
          KeySchema: keySchema,
          AttributeDefinitions: attributes,
          BillingMode: 'PAY_PER_REQUEST',
          ...(globalIndexes.length > 0 ? { GlobalSecondaryIndexes: globalIndexes } : {}),
        }),
      );
      await untilActive(dynamodb, table.name);
    } else if (JSON.stringify(existingKeys) !== JSON.stringify(keySchema)) {
      throw new ProvisioningError(
        `Table "${table.name}" exists with key schema ${JSON.stringify(existingKeys)} but the pipeline declares ${JSON.stringify(keySchema)}`,
      );
    }
  }
}

async function untilLeadersElected(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (metadata.topics.every((topic) => topic.partitions.every((partition) => partition.leader >= 0))) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new ProvisioningError(`Topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A new table takes writes only once ACTIVE (dynalite: a timer later; AWS: seconds): a write before that is refused. */
async function untilActive(dynamodb: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table: description } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (description?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline)
      throw new ProvisioningError(`Table "${tableName}" is still ${description?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function describeKeySchema(dynamodb: DynamoDBClient, tableName: string): Promise<KeySchemaElement[] | undefined> {
  try {
    const { Table: description } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return (description?.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** Provisions everything a pipeline declares. */
export async function provisionPipeline(clients: { kafkaAdmin: Admin; dynamodb: DynamoDBClient }, pipeline: Pipeline): Promise<void> {
  await provisionTopics(clients.kafkaAdmin, pipeline.topics);
  await provisionTables(clients.dynamodb, pipeline.tables);
}
