import { findFreePort, findFreePortPair, startLocalRuntime, type LocalRuntime } from '../../shared/local';

/** Local services of its own for one benchmark, on free ports, so a running `npm start` is never measured. */
export async function startBenchRuntime(): Promise<LocalRuntime> {
  return startLocalRuntime({
    config: {
      externalKafkaBrokers: undefined,
      externalDynamoDbEndpoint: undefined,
      kafkaPort: await findFreePortPair(),
      dynamoDbPort: await findFreePort(),
      awsRegion: 'us-east-1',
    },
  });
}
