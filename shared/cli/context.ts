import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { resolve } from 'node:path';
import { PlatformError } from '../errors';
import { readLocalServicesConfig } from '../local/config';
import { LOCAL_SCHEMA_REGISTRY_FILE, PROJECT_ROOT } from '../local/paths';
import type { Consumer, Pipeline } from '../pipeline';
import { JSON_VALUE_FORMAT, schemaRegistryFromEnvironment, topicValueFormat, type SchemaRegistry, type ValueFormat } from '../schemas';

/** A command failed for a reason the user can act on: printed without a stack, exit code 1. */
export class CliError extends PlatformError {
  override readonly name: string = 'CliError';
}

/** The command line itself is wrong: printed with a pointer to --help, exit code 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
}

/** What every command gets: the pipeline, clients for the services it runs on, and how to print. */
export interface CliContext {
  readonly pipeline: Pipeline;
  readonly json: boolean;
  kafka(): Kafka;
  dynamodb(): DynamoDBClient;
  /** The registry `npm start` uses: SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_FILE, or the local stand-in's file. */
  schemaRegistry(): SchemaRegistry;
  /** How a topic lays out its values, as the pipeline declares it (JSON for topics it does not declare). */
  formatOf(topic: string): ValueFormat;
  /** Prints a result: as JSON with --json, else as text. */
  print(value: unknown, text: () => string): void;
}

/**
 * Services are the ones `npm start` runs (KAFKA_BROKERS / DYNAMODB_ENDPOINT
 * or the local defaults), the pipeline is `pipeline.ts` unless --pipeline names another.
 */
export function createContext(options: { pipeline?: string | undefined; json: boolean }): CliContext {
  const pipelinePath = options.pipeline ? resolve(process.env['INIT_CWD'] ?? process.cwd(), options.pipeline) : resolve(PROJECT_ROOT, 'pipeline.ts');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(pipelinePath) as { default?: Pipeline };
  if (!loaded.default || !Array.isArray(loaded.default.consumers)) throw new CliError(`${pipelinePath} must default-export the result of definePipeline({...})`);
  const config = readLocalServicesConfig();
  const brokers = config.externalKafkaBrokers ?? [`127.0.0.1:${config.kafkaPort}`];
  const endpoint = config.externalDynamoDbEndpoint ?? `http://127.0.0.1:${config.dynamoDbPort}`;
  let kafka: Kafka | undefined;
  let dynamodb: DynamoDBClient | undefined;
  let registry: SchemaRegistry | undefined;
  const schemaRegistry = () => (registry ??= schemaRegistryFromEnvironment(process.env, LOCAL_SCHEMA_REGISTRY_FILE));
  const pipeline = loaded.default;
  return {
    pipeline,
    schemaRegistry,
    formatOf: (topic) => {
      const declared = pipeline.topics.find((candidate) => candidate.name === topic);
      return declared ? topicValueFormat(declared, schemaRegistry) : JSON_VALUE_FORMAT;
    },
    json: options.json,
    kafka: () => (kafka ??= new Kafka({ clientId: 'platform-cli', brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 2 } })),
    dynamodb: () =>
      (dynamodb ??= new DynamoDBClient({
        endpoint,
        region: config.awsRegion,
        credentials: { accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? 'local', secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'local' },
      })),
    print(value, text) {
      console.log(options.json ? JSON.stringify(value, null, 2) : text());
    },
  };
}

/** A declared consumer by name, or a clear error listing the ones there are. */
export function consumerNamed(pipeline: Pipeline, name: string): Consumer {
  const consumer = pipeline.consumers.find((candidate) => candidate.name === name);
  if (!consumer) throw new CliError(`no consumer "${name}" in pipeline "${pipeline.name}" (there are: ${pipeline.consumers.map((known) => known.name).join(', ')})`);
  return consumer;
}

/** Where a consumer's failed records go: the topic its handler dead-letters to, or its on-failure topic. */
export function deadLetterTopicOf(consumer: Consumer): string {
  const topic = consumer.deadLetterTopic?.name ?? consumer.eventSource.onFailure?.topic;
  if (!topic) throw new CliError(`consumer "${consumer.name}" has no dead-letter topic`);
  return topic;
}
