import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Kafka } from 'kafkajs';
import type { Pipeline } from '../../pipeline';
import type { ValueFormat } from '../../schemas';

/**
 * What an operation needs to reach the platform: the pipeline, clients for its
 * services, where its tables are and how its topics lay out their values. The
 * command line's context is one (local or `--env`); `npm start`'s console
 * builds another from the services it runs.
 */
export interface PlatformAccess {
  readonly pipeline: Pipeline;
  /** The Kafka client, built on first use. */
  kafka(): Promise<Kafka>;
  dynamodb(): DynamoDBClient;
  /** A declared table's name where it is deployed (as declared locally). */
  tableName(declared: string): Promise<string>;
  /** How a topic lays out its values, as the pipeline declares it (JSON for topics it does not declare). */
  formatOf(topic: string): ValueFormat;
}
