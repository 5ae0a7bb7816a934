import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { ENVIRONMENT_VARIABLES, readLocalServicesConfig, type LocalServicesConfig } from './config';
import type { ServiceDeath } from './child-process';
import { stopLeftoverBrokers } from './kafka/broker-record';
import { assertPortFree } from './ports';
import { startDynamoDbServer, type DynamoDbServer } from './dynamodb/dynalite-server';
import { startKafkaBroker, type KafkaBroker } from './kafka/kafka-broker';
import { LOCAL_SCHEMA_REGISTRY_FILE, LOCAL_STATE_DIR } from './paths';
import { SCHEMA_REGISTRY_VARIABLES, schemaRegistryFromEnvironment, type SchemaRegistry } from '../schemas';

export interface LocalRuntimeOptions {
  /** The services' settings, read once from the process's environment by {@link readLocalServicesConfig}. */
  readonly config: LocalServicesConfig;
  /** Keep broker data and tables on disk here across restarts; by default both are fresh on every start. */
  readonly persistDir?: string;
  /** @default the project's git-ignored `.local` directory */
  readonly stateDir?: string;
  readonly log?: (line: string) => void;
}

/** The running local services, or the user's own ones when KAFKA_BROKERS / DYNAMODB_ENDPOINT are set. */
export interface LocalRuntime {
  readonly kafka: { readonly brokers: readonly string[]; readonly managed: boolean; readonly clusterId: string };
  readonly dynamodb: { readonly endpoint: string; readonly managed: boolean };
  readonly awsRegion: string;
  /** A kafkajs client for these brokers. */
  kafkaClient(clientId: string): Kafka;
  /** A DynamoDB client for this endpoint, with the placeholder credentials local servers accept. */
  dynamoDbClient(): DynamoDBClient;
  /** The schema registry handlers use: the configured one, or the file-backed stand-in. */
  schemaRegistry(): SchemaRegistry;
  /**
   * The environment handlers see locally: the AWS SDK's own endpoint variable points
   * every DynamoDB client at the local server, so handler code has no local-only branch.
   */
  handlerEnvironment(): Record<string, string>;
  /**
   * Resolves when a service this runtime started ends without stop() having been called: the broker
   * or dynalite crashed or was killed. Never resolves for the user's own services.
   */
  readonly died: Promise<ServiceDeath>;
  /** Stops what this runtime started (never the user's own services). */
  stop(): Promise<void>;
}

/**
 * Starts the local Kafka broker and DynamoDB server (or connects to the user's own),
 * concurrently. Used by `npm start`, the test suite's global setup and the benchmark.
 *
 * @example
 * const runtime = await startLocalRuntime({ config: readLocalServicesConfig(process.env) });
 * try { ... } finally { await runtime.stop(); }
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config } = options;
  const stateDir = options.stateDir ?? LOCAL_STATE_DIR;
  const log = options.log ?? (() => undefined);
  // Every port is checked before anything starts, so a busy one fails at once, not after a broker start.
  if (!config.externalKafkaBrokers) {
    // Unless it is held by a broker an earlier, killed run of this checkout left behind: that one is stopped.
    await stopLeftoverBrokers(stateDir, log);
    await assertPortFree('the Kafka broker', '127.0.0.1', config.kafkaPort, ENVIRONMENT_VARIABLES.kafkaPort);
    await assertPortFree('the Kafka KRaft controller', '127.0.0.1', config.kafkaPort + 1, ENVIRONMENT_VARIABLES.kafkaPort);
  }
  if (!config.externalDynamoDbEndpoint) {
    await assertPortFree('the local DynamoDB server (dynalite)', '127.0.0.1', config.dynamoDbPort, ENVIRONMENT_VARIABLES.dynamoDbPort);
  }

  const kafkaStart: Promise<KafkaBroker | undefined> = config.externalKafkaBrokers
    ? Promise.resolve(undefined)
    : startKafkaBroker({
        port: config.kafkaPort,
        stateDir,
        log,
        ...(options.persistDir ? { dataDir: join(options.persistDir, 'kafka') } : {}),
      });
  const dynamoStart: Promise<DynamoDbServer | undefined> = config.externalDynamoDbEndpoint
    ? Promise.resolve(undefined)
    : startDynamoDbServer({
        port: config.dynamoDbPort,
        stateDir,
        ...(options.persistDir ? { dataDir: join(options.persistDir, 'dynamodb') } : {}),
      });
  const [kafkaResult, dynamoResult] = await Promise.allSettled([kafkaStart, dynamoStart]);
  if (kafkaResult.status === 'rejected' || dynamoResult.status === 'rejected') {
    // Never leave half a runtime behind.
    if (kafkaResult.status === 'fulfilled') await kafkaResult.value?.stop();
    if (dynamoResult.status === 'fulfilled') await dynamoResult.value?.stop();
    throw kafkaResult.status === 'rejected' ? kafkaResult.reason : (dynamoResult as PromiseRejectedResult).reason;
  }
  const broker = kafkaResult.value;
  const dynamoServer = dynamoResult.value;
  const brokers = broker?.brokers ?? config.externalKafkaBrokers ?? [];
  const endpoint = dynamoServer?.endpoint ?? config.externalDynamoDbEndpoint ?? '';

  const environment: Record<string, string> = {
    AWS_REGION: config.awsRegion,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    // Local servers accept any credentials; real ones in the environment are left alone.
    AWS_ACCESS_KEY_ID: config.functionDefaults.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: config.functionDefaults.awsSecretAccessKey,
    KAFKA_BROKERS: brokers.join(','),
    // Powertools: no embedded-metric JSON on the terminal, errors only (the live view counts dead letters).
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: config.functionDefaults.logLevel,
    ...registryEnvironment(config, options.stateDir === undefined ? LOCAL_SCHEMA_REGISTRY_FILE : join(stateDir, 'schema-registry.json')),
  };

  return {
    kafka: { brokers, managed: broker !== undefined, clusterId: broker?.clusterId ?? 'external' },
    dynamodb: { endpoint, managed: dynamoServer !== undefined },
    awsRegion: config.awsRegion,
    kafkaClient: (clientId) => new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 8 } }),
    dynamoDbClient: () =>
      new DynamoDBClient({
        endpoint,
        region: config.awsRegion,
        credentials: { accessKeyId: environment.AWS_ACCESS_KEY_ID!, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY! },
      }),
    schemaRegistry: () => schemaRegistryFromEnvironment(environment),
    handlerEnvironment: () => ({ ...environment }),
    died: Promise.race([broker?.died ?? new Promise<never>(() => undefined), dynamoServer?.died ?? new Promise<never>(() => undefined)]),
    async stop() {
      await Promise.all([broker?.stop(), dynamoServer?.stop()]);
    },
  };
}

/**
 * What tells handlers where the registry is. The stand-in's file stays in the
 * state directory whether or not the broker's data persists: the CLI finds it
 * there, and ids are stable per schema, so one file serves every run.
 */
function registryEnvironment(config: LocalServicesConfig, defaultFile: string): Record<string, string> {
  const registry = config.schemaRegistry;
  if ('url' in registry) {
    return {
      [SCHEMA_REGISTRY_VARIABLES.url]: registry.url,
      ...(registry.credentials ? { [SCHEMA_REGISTRY_VARIABLES.credentials]: registry.credentials } : {}),
    };
  }
  return { [SCHEMA_REGISTRY_VARIABLES.file]: registry.file ?? defaultFile };
}
