import { LOCAL_FUNCTION_DEFAULTS, type LocalServicesConfig } from '../../shared/local';

/**
 * The local runtime's settings for a broker and dynalite of the caller's own, on these ports (never
 * the services KAFKA_BROKERS / DYNAMODB_ENDPOINT name), with the file-backed schema registry in
 * `schemaRegistryFile` (by default, in the runtime's state directory).
 */
export function ownServicesConfig(
  ports: { readonly kafkaPort: number; readonly dynamoDbPort: number },
  schemaRegistryFile?: string,
): LocalServicesConfig {
  return {
    externalKafkaBrokers: undefined,
    externalDynamoDbEndpoint: undefined,
    kafkaPort: ports.kafkaPort,
    dynamoDbPort: ports.dynamoDbPort,
    // No CDC services here: these runtimes start none.
    postgresPort: 0,
    connectPort: 0,
    consolePort: 0,
    awsRegion: 'us-east-1',
    schemaRegistry: { file: schemaRegistryFile },
    functionDefaults: LOCAL_FUNCTION_DEFAULTS,
  };
}
