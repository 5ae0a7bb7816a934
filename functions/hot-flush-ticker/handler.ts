import { requireEnv } from '../../shared/config';
import { publishFlushTicks } from '../../shared/hot-path';
import { connectOnce, kafkaFromEnvironment, orderedProducer } from '../../shared/kafka';
import { createTelemetry } from '../../shared/observability';
import { newRootContext, traceContextFromXRay, XRayBatchTracer } from '../../shared/tracing';

// Built once per execution environment, at cold start, from the environment read here and handed down.
const env = process.env;
const topics = requireEnv('HOT_FLUSH_TOPICS', env).split(',');
const kafka = kafkaFromEnvironment('hot-flush-ticker', env);
const admin = kafka.admin();
const producer = orderedProducer(kafka);
const connect = connectOnce(() => Promise.all([admin.connect(), producer.connect()]));
const telemetry = createTelemetry('hot-flush-ticker');
const tracer = new XRayBatchTracer('hot-flush-ticker', { env, warn: (message) => telemetry.logger.warn(message) });

/**
 * Invoked by an EventBridge Scheduler schedule: sends every partition of the
 * hot streams' input topics a flush tick, so keys whose last value waits for
 * its emit interval are flushed even when their stream has gone quiet.
 *
 * The ticks carry this invocation's X-Ray trace as their W3C context, so the
 * hot-stream invocations they wake are found from it
 * (`annotation.record_trace_ids CONTAINS "<this trace id>"`).
 */
export const handler = async (): Promise<{ ticks: number }> => {
  // Lambda sets the invocation's X-Ray trace header anew for each invocation.
  const trace = traceContextFromXRay(env._X_AMZN_TRACE_ID) ?? newRootContext();
  return tracer.trace([trace], async () => {
    await connect();
    return { ticks: await publishFlushTicks(admin, producer, topics, Date.now(), trace) };
  });
};
