/**
 * The join under test in a process of its own, so the benchmark counts its CPU
 * (and the local DynamoDB server's) apart from the driver that produces the
 * inputs and waits, exactly as it counts the Kafka Streams JVM's.
 *
 *   node -r @swc-node/register test/bench/fk-join/runner.ts <prefix> <inner|left> <brokers> <dynamodb-endpoint>
 *
 * Prints READY once its consumers run; answers each `status` line on stdin with
 * `STATUS {"lag":…,"usage":{…}}`; stops and exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createJoinHandlers, joinStateTableVariable, type JoinType } from '../../../shared/fk-join';
import { LOCAL_FUNCTION_DEFAULTS, runPipeline, startLocalRuntime } from '../../../shared/local';
import { benchJoin, benchPipeline } from './workload';

async function main(): Promise<void> {
  const [prefix, type, brokers, endpoint, batchSize] = process.argv.slice(2);
  if (!prefix || (type !== 'inner' && type !== 'left') || !brokers || !endpoint) {
    process.stderr.write('usage: runner.ts <prefix> <inner|left> <brokers> <dynamodb-endpoint> [batch size]\n');
    process.exit(2);
  }
  const runtime = await startLocalRuntime({
    config: {
      externalKafkaBrokers: brokers.split(','),
      externalDynamoDbEndpoint: endpoint,
      kafkaPort: 0,
      dynamoDbPort: 0,
      postgresPort: 0,
      connectPort: 0,
      consolePort: 0,
      awsRegion: 'us-east-1',
      schemaRegistry: { file: undefined },
      functionDefaults: LOCAL_FUNCTION_DEFAULTS,
    },
  });
  const join = benchJoin(prefix, type as JoinType);
  const pipeline = benchPipeline(join, Number(batchSize ?? 500));
  const kafka = runtime.kafkaClient(`bench-runner-${prefix}`);
  const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
  const handlers = createJoinHandlers(join, {
    env: { [joinStateTableVariable(join.name)]: pipeline.joins[0]!.table.name, KAFKA_BROKERS: brokers },
    documents,
    kafka,
  });
  const running = await runPipeline(runtime, pipeline, {
    handlers: { [`${join.name}.left`]: handlers.left, [`${join.name}.right`]: handlers.right },
  });
  process.stdout.write('READY\n');

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'status') return;
    void running.lag().then(
      (lag) =>
        process.stdout.write(
          `STATUS ${JSON.stringify({ lag: [...lag.values()].reduce((sum, value) => sum + value, 0), usage: handlers.store.usage })}\n`,
        ),
      (error: unknown) => process.stdout.write(`STATUS ${JSON.stringify({ error: String(error) })}\n`),
    );
  });
  // The driver's death closes stdin: never outlive it.
  lines.on('close', () => {
    void running
      .stop()
      .finally(() => documents.destroy())
      .finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
