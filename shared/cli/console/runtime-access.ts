import type { Kafka } from 'kafkajs';
import type { LocalRuntime } from '../../local';
import type { Pipeline } from '../../pipeline';
import { JSON_VALUE_FORMAT, topicValueFormat } from '../../schemas';
import type { PlatformAccess } from '../operations/platform-access';

/**
 * The platform as `npm start` runs it, for the operations the console serves:
 * its broker, its DynamoDB, its registry, the tables under their declared names.
 * Clients are built once and kept; {@link close} releases them.
 */
export function runtimeAccess(
  runtime: Pick<LocalRuntime, 'kafkaClient' | 'dynamoDbClient' | 'schemaRegistry'>,
  pipeline: Pipeline,
): PlatformAccess & { close(): void } {
  const kafka: Kafka = runtime.kafkaClient('local-console');
  const dynamodb = runtime.dynamoDbClient();
  const formats = new Map(pipeline.topics.map((topic) => [topic.name, topicValueFormat(topic, () => runtime.schemaRegistry())]));
  return {
    pipeline,
    kafka: async () => kafka,
    dynamodb: () => dynamodb,
    tableName: async (declared) => declared,
    formatOf: (topic) => formats.get(topic) ?? JSON_VALUE_FORMAT,
    close: () => dynamodb.destroy(),
  };
}
