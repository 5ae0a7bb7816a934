import { Kafka, logLevel } from 'kafkajs';
import { requireEnv } from '../../shared/config';
import { publishFlushTicks } from '../../shared/hot-path';

// Built once per execution environment, at cold start.
const topics = requireEnv('HOT_FLUSH_TOPICS').split(',');
const kafka = new Kafka({ clientId: 'hot-flush-ticker', brokers: requireEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.ERROR });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
let connected: Promise<unknown> | undefined;

/**
 * Invoked by an EventBridge Scheduler schedule: sends every partition of the
 * hot streams' input topics a flush tick, so keys whose last value waits for
 * its emit interval are flushed even when their stream has gone quiet.
 */
export const handler = async (): Promise<{ ticks: number }> => {
  connected ??= Promise.all([admin.connect(), producer.connect()]).catch((error: unknown) => {
    connected = undefined;
    throw error;
  });
  await connected;
  return { ticks: await publishFlushTicks(admin, producer, topics) };
};
