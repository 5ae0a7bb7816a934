import { requireEnv } from '../../shared/config';
import { publishFlushTicks } from '../../shared/hot-path';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../../shared/kafka';

// Built once per execution environment, at cold start.
const topics = requireEnv('HOT_FLUSH_TOPICS').split(',');
const kafka = kafkaFromEnvironment('hot-flush-ticker');
const admin = kafka.admin();
const producer = orderedProducer(kafka);
const connect = connectOnce(() => Promise.all([admin.connect(), producer.connect()]));

/**
 * Invoked by an EventBridge Scheduler schedule: sends every partition of the
 * hot streams' input topics a flush tick, so keys whose last value waits for
 * its emit interval are flushed even when their stream has gone quiet.
 */
export const handler = async (): Promise<{ ticks: number }> => {
  await connect();
  return { ticks: await publishFlushTicks(admin, producer, topics) };
};
