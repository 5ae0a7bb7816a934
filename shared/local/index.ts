export { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './local-runtime';
export { runPipeline, type RunningPipeline, type RunPipelineOptions } from './run-pipeline';
export { provisionPipeline, provisionTables, provisionTopics } from './provision';
export { readLocalServicesConfig, ENVIRONMENT_VARIABLES, LOCAL_FUNCTION_DEFAULTS, type LocalServicesConfig } from './config';
export { startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './kafka/kafka-broker';
export { startDynamoDbServer, type DynamoDbServer, type DynamoDbServerOptions } from './dynamodb/dynalite-server';
export { assertPortFree, findFreePort, findFreePortPair } from './ports';
export { LOCAL_STATE_DIR, PROJECT_ROOT } from './paths';
export type { ServiceDeath } from './child-process';
export {
  DynamoDbServerError,
  KafkaBrokerError,
  LocalConfigError,
  LocalRuntimeError,
  PortInUseError,
  ProvisioningError,
} from './errors';
