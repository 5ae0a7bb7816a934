import { join } from 'node:path';
import { LocalConfigError } from './errors';
import { LOCAL_STATE_DIR } from './paths';

/** Where the local runtime's services come from: started here, or ones the user already runs. */
export interface LocalServicesConfig {
  /** From KAFKA_BROKERS (comma-separated host:port); when set, no broker is started. */
  readonly externalKafkaBrokers: readonly string[] | undefined;
  /** From DYNAMODB_ENDPOINT (http(s)://host:port); when set, no DynamoDB server is started. */
  readonly externalDynamoDbEndpoint: string | undefined;
  /** From LOCAL_KAFKA_PORT. @default 19092 (the controller listens on the next port) */
  readonly kafkaPort: number;
  /** From LOCAL_DYNAMODB_PORT. @default 18000 */
  readonly dynamoDbPort: number;
  /** From LOCAL_POSTGRES_PORT: the change-data-capture sources' PostgreSQL, when the pipeline declares one. @default 15432 */
  readonly postgresPort: number;
  /** From LOCAL_CONNECT_PORT: the Kafka Connect worker's REST API, when the pipeline declares a CDC source. @default 18083 */
  readonly connectPort: number;
  /** From LOCAL_CONSOLE_PORT: the web console `npm start` serves on 127.0.0.1; 0 for any free port. @default 18088 */
  readonly consolePort: number;
  /** From AWS_REGION. @default 'us-east-1' */
  readonly awsRegion: string;
  /**
   * From SCHEMA_REGISTRY_URL (and SCHEMA_REGISTRY_CREDENTIALS, `user:password`): a
   * real Confluent-compatible registry. Unset: the file-backed stand-in, in
   * SCHEMA_REGISTRY_FILE or the runtime's state directory.
   */
  readonly schemaRegistry: { readonly url: string; readonly credentials: string | undefined } | { readonly file: string | undefined };
  /**
   * What the functions the runtime runs get of the user's environment: real AWS
   * credentials when set (local servers take any, so `local` otherwise), and
   * POWERTOOLS_LOG_LEVEL (@default ERROR: the live view counts what goes wrong).
   */
  readonly functionDefaults: { readonly awsAccessKeyId: string; readonly awsSecretAccessKey: string; readonly logLevel: string };
}

export const ENVIRONMENT_VARIABLES = {
  kafkaBrokers: 'KAFKA_BROKERS',
  dynamoDbEndpoint: 'DYNAMODB_ENDPOINT',
  kafkaPort: 'LOCAL_KAFKA_PORT',
  dynamoDbPort: 'LOCAL_DYNAMODB_PORT',
  postgresPort: 'LOCAL_POSTGRES_PORT',
  connectPort: 'LOCAL_CONNECT_PORT',
  consolePort: 'LOCAL_CONSOLE_PORT',
  schemaRegistryUrl: 'SCHEMA_REGISTRY_URL',
  schemaRegistryCredentials: 'SCHEMA_REGISTRY_CREDENTIALS',
  schemaRegistryFile: 'SCHEMA_REGISTRY_FILE',
  mappingSwitchesDir: 'LOCAL_MAPPINGS_DIR',
} as const;

/** What the runtime's functions get when the user's environment sets none of it. */
export const LOCAL_FUNCTION_DEFAULTS: LocalServicesConfig['functionDefaults'] = Object.freeze({
  awsAccessKeyId: 'local',
  awsSecretAccessKey: 'local',
  logLevel: 'ERROR',
});

/** Reads and validates the local runtime's environment once; throws {@link LocalConfigError} on bad values. */
export function readLocalServicesConfig(env: NodeJS.ProcessEnv): LocalServicesConfig {
  return {
    externalKafkaBrokers: parseBrokers(env[ENVIRONMENT_VARIABLES.kafkaBrokers]),
    externalDynamoDbEndpoint: parseEndpoint(env[ENVIRONMENT_VARIABLES.dynamoDbEndpoint]),
    kafkaPort: parsePort(ENVIRONMENT_VARIABLES.kafkaPort, env[ENVIRONMENT_VARIABLES.kafkaPort], 19092),
    dynamoDbPort: parsePort(ENVIRONMENT_VARIABLES.dynamoDbPort, env[ENVIRONMENT_VARIABLES.dynamoDbPort], 18000),
    postgresPort: parsePort(ENVIRONMENT_VARIABLES.postgresPort, env[ENVIRONMENT_VARIABLES.postgresPort], 15432),
    connectPort: parsePort(ENVIRONMENT_VARIABLES.connectPort, env[ENVIRONMENT_VARIABLES.connectPort], 18083),
    consolePort: parsePort(ENVIRONMENT_VARIABLES.consolePort, env[ENVIRONMENT_VARIABLES.consolePort], 18088, { anyFreePort: true }),
    awsRegion: env.AWS_REGION || 'us-east-1',
    schemaRegistry: parseSchemaRegistry(env),
    functionDefaults: {
      awsAccessKeyId: env.AWS_ACCESS_KEY_ID ?? LOCAL_FUNCTION_DEFAULTS.awsAccessKeyId,
      awsSecretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? LOCAL_FUNCTION_DEFAULTS.awsSecretAccessKey,
      logLevel: env.POWERTOOLS_LOG_LEVEL ?? LOCAL_FUNCTION_DEFAULTS.logLevel,
    },
  };
}

/** From LOCAL_MAPPINGS_DIR: where the mappings' enabled switches live (see mapping-switches.ts). @default .local/mappings */
export function readMappingSwitchesDir(env: NodeJS.ProcessEnv): string {
  return env[ENVIRONMENT_VARIABLES.mappingSwitchesDir] || join(LOCAL_STATE_DIR, 'mappings');
}

function parseSchemaRegistry(env: NodeJS.ProcessEnv): LocalServicesConfig['schemaRegistry'] {
  const url = env[ENVIRONMENT_VARIABLES.schemaRegistryUrl];
  if (url === undefined || url.trim() === '') return { file: env[ENVIRONMENT_VARIABLES.schemaRegistryFile] || undefined };
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error('not http');
  } catch {
    throw new LocalConfigError(`${ENVIRONMENT_VARIABLES.schemaRegistryUrl} must be an http(s) URL, got "${url}"`);
  }
  return { url: url.replace(/\/$/, ''), credentials: env[ENVIRONMENT_VARIABLES.schemaRegistryCredentials] || undefined };
}

function parseBrokers(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const brokers = raw
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(broker)) {
      throw new LocalConfigError(`${ENVIRONMENT_VARIABLES.kafkaBrokers} must be host:port[,host:port…], got "${raw}"`);
    }
  }
  return brokers;
}

function parseEndpoint(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return raw.replace(/\/$/, '');
  } catch {
    throw new LocalConfigError(`${ENVIRONMENT_VARIABLES.dynamoDbEndpoint} must be an http(s) URL, got "${raw}"`);
  }
}

/** A port from 1 to 65534; with `anyFreePort`, 0 too, which asks the system for a free one (printed once bound). */
function parsePort(name: string, raw: string | undefined, fallback: number, options: { anyFreePort?: boolean } = {}): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  const lowest = options.anyFreePort ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65_534) {
    throw new LocalConfigError(
      `${name} must be a port number from 1 to 65534${options.anyFreePort ? ' (or 0: any free port)' : ''}, got "${raw}"`,
    );
  }
  return port;
}
