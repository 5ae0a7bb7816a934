import { Kafka, logLevel, type Producer } from 'kafkajs';
import { kafkaClientConfig, kafkaConnectionFromEnvironment } from './kafka-connection';

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
 * The Kafka client a Lambda handler builds at cold start, from its
 * environment (`KAFKA_BROKERS` or `KAFKA_CLUSTER_ARN`, `KAFKA_AUTH`,
 * `AWS_REGION`; see {@link kafkaConnectionFromEnvironment}).
 */
export function kafkaFromEnvironment(clientId: string, env: NodeJS.ProcessEnv): Kafka {
  return new Kafka({ clientId, logLevel: logLevel.ERROR, ...kafkaClientConfig(kafkaConnectionFromEnvironment(env)) });
}
