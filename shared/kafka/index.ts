import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, logLevel, type KafkaConfig, type Producer } from 'kafkajs';
import { ConfigError, requireEnv } from '../config';

/**
 * The producer every part of the platform writes with: idempotent with one
 * request in flight, so a retried request can neither duplicate nor reorder
 * records (per-key order is what joins, deltas and dead letters rely on), and
 * never creating topics (they come only from the pipeline declaration).
 */
export function orderedProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

/**
 * Connects on first use and reuses the connection, as a Lambda handler must
 * across warm invocations; a failed attempt is forgotten so the next one retries.
 */
export function connectOnce(connect: () => Promise<unknown>): () => Promise<void> {
  let connected: Promise<void> | undefined;
  return () =>
    (connected ??= connect().then(
      () => undefined,
      (error: unknown) => {
        connected = undefined;
        throw error;
      },
    ));
}

/**
 * The Kafka client a Lambda handler builds at cold start, from its environment:
 *
 * - `KAFKA_BROKERS`: comma-separated brokers (the local runtime sets it), or
 * - `KAFKA_CLUSTER_ARN`: an MSK cluster whose IAM bootstrap brokers are looked
 *   up on first connect (what the CDK stacks set);
 * - `KAFKA_AUTH`: `none` (default) or `aws-iam` (TLS and SASL/OAUTHBEARER
 *   signed with the function's role, as MSK IAM access control expects).
 */
export function kafkaFromEnvironment(clientId: string, env: NodeJS.ProcessEnv = process.env): Kafka {
  return new Kafka({ clientId, logLevel: logLevel.ERROR, ...kafkaConnection(env) });
}

/** Brokers and authentication from the environment; see {@link kafkaFromEnvironment}. */
export function kafkaConnection(env: NodeJS.ProcessEnv): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const auth = env['KAFKA_AUTH'] ?? 'none';
  if (auth !== 'none' && auth !== 'aws-iam') throw new ConfigError(`KAFKA_AUTH must be "none" or "aws-iam", got "${auth}"`);
  const clusterArn = env['KAFKA_CLUSTER_ARN'];
  const brokers: KafkaConfig['brokers'] =
    env['KAFKA_BROKERS'] || !clusterArn ? requireEnv('KAFKA_BROKERS', env).split(',') : () => bootstrapBrokers(clusterArn, auth);
  if (auth === 'none') return { brokers };
  const region = requireEnv('AWS_REGION', env);
  return {
    brokers,
    ssl: true,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    },
  };
}

let bootstrap: Promise<string[]> | undefined;

async function bootstrapBrokers(clusterArn: string, auth: 'none' | 'aws-iam'): Promise<string[]> {
  bootstrap ??= new KafkaClient({}).send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn })).then(
    (output) => {
      const brokers = auth === 'aws-iam' ? output.BootstrapBrokerStringSaslIam : output.BootstrapBrokerStringTls;
      if (!brokers) throw new ConfigError(`MSK cluster ${clusterArn} reports no ${auth === 'aws-iam' ? 'IAM' : 'TLS'} bootstrap brokers`);
      return brokers.split(',');
    },
    (error: unknown) => {
      bootstrap = undefined;
      throw error;
    },
  );
  return bootstrap;
}

export { READ_RANGE_GROUP_PREFIX, readPartitionRange, type PartitionRange, type ReadPartitionRangeOptions } from './read-partition-range';
export { chunkBySize, estimatedMessageBytes, MAX_PRODUCE_REQUEST_BYTES } from './chunk-by-size';
export { sendChunked, topicRecordCount } from './send-chunked';
