import type { Admin, Kafka } from 'kafkajs';
import { EventSourceMapping, type EventSourceLogger } from './event-source';
import type { MskHandler } from '../msk';
import { publishFlushTicks } from '../hot-path/flush-ticks';
import { orderedProducer } from '../kafka';
import type { Pipeline } from '../pipeline';
import type { LocalRuntime } from './local-runtime';
import { isMappingEnabled, watchMappingSwitches } from './mapping-switches';
import { provisionPipeline } from './provision';

export interface RunPipelineOptions {
  readonly log?: EventSourceLogger;
  /** Replace declared handlers by consumer name (tests use this to inject failures). */
  readonly handlers?: Readonly<Record<string, MskHandler>>;
  readonly retryDelayMs?: (attempt: number) => number;
  /**
   * Where the mappings' enabled switches live (`<dir>/<consumer>.disabled`, see mapping-switches.ts):
   * a disabled consumer does not start, and flipping a switch stops or restarts its mapping while the
   * pipeline runs. `npm start` passes its state directory; without it every consumer runs.
   */
  readonly mappingSwitchesDir?: string;
}

/** A pipeline running locally: every declared consumer behind its own event source mapping. */
export interface RunningPipeline {
  /** One per consumer, in declaration order: the current mapping (a disabled consumer's is stopped, or never started). */
  readonly mappings: readonly EventSourceMapping[];
  /** Per consumer and partition: records not yet committed by the consumer group. */
  lag(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/**
 * Provisions the pipeline's topics and tables, exports the handler environment
 * (the AWS SDK endpoint and each consumer's variables) and starts one event
 * source mapping per declared consumer, as `cdk deploy` would in AWS.
 */
export async function runPipeline(runtime: LocalRuntime, pipeline: Pipeline, options: RunPipelineOptions = {}): Promise<RunningPipeline> {
  const kafka = runtime.kafkaClient(`local-runtime.${pipeline.name}`);
  const admin = kafka.admin();
  await admin.connect();
  const dynamodb = runtime.dynamoDbClient();
  try {
    await provisionPipeline({ kafkaAdmin: admin, dynamodb }, pipeline);
  } catch (error) {
    await admin.disconnect();
    throw error;
  } finally {
    dynamodb.destroy();
  }

  await waitForGroupCoordinators(admin, pipeline);

  // Handlers read their configuration at module load, so the environment is set before any is required.
  Object.assign(process.env, runtime.handlerEnvironment());
  for (const consumer of pipeline.consumers) Object.assign(process.env, consumer.environment);

  const createMapping = (consumer: Pipeline['consumers'][number]) =>
    new EventSourceMapping({
      consumer,
      kafka,
      bootstrapServers: runtime.kafka.brokers,
      eventSourceArn: `arn:aws:kafka:${runtime.awsRegion}:000000000000:cluster/local/${runtime.kafka.clusterId}`,
      awsRegion: runtime.awsRegion,
      ...(options.handlers?.[consumer.name] ? { handler: options.handlers[consumer.name] } : {}),
      ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  const switches = options.mappingSwitchesDir;
  const enabled = (consumer: Pipeline['consumers'][number]) => switches === undefined || isMappingEnabled(switches, consumer.name);
  const mappings = pipeline.consumers.map(createMapping);
  for (const consumer of pipeline.consumers.filter((candidate) => !enabled(candidate))) {
    options.log?.('warn', `${consumer.name}: disabled (platform mapping enable ${consumer.name} to start it)`);
  }
  // Every start settles before any clean-up, so no consumer is left connecting behind a failure.
  const started = await Promise.allSettled(
    mappings.filter((_, index) => enabled(pipeline.consumers[index]!)).map((mapping) => mapping.start()),
  );
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.allSettled(mappings.map((mapping) => mapping.stop()));
    await admin.disconnect();
    throw failure.reason;
  }

  // A switch flipped while running: the mapping stops (finishing and committing its in-flight batch, then
  // leaving its group) or a new one starts, one change at a time.
  let switching = Promise.resolve();
  const stopWatching =
    switches === undefined
      ? () => undefined
      : watchMappingSwitches(
          switches,
          pipeline.consumers.map((consumer) => consumer.name),
          (name, nowEnabled) => {
            const index = pipeline.consumers.findIndex((consumer) => consumer.name === name);
            switching = switching
              .then(async () => {
                if (!nowEnabled) {
                  await mappings[index]!.stop();
                  options.log?.(
                    'warn',
                    `${name}: disabled: stopped polling and left group ${pipeline.consumers[index]!.eventSource.consumerGroupId}`,
                  );
                  return;
                }
                mappings[index] = createMapping(pipeline.consumers[index]!);
                await mappings[index]!.start();
                options.log?.('info', `${name}: enabled: polling again from its group's committed offsets`);
              })
              .catch((error: unknown) =>
                options.log?.('error', `${name}: could not be ${nowEnabled ? 'enabled' : 'disabled'}: ${String(error)}`),
              );
          },
        );

  const stopTicks = await startFlushTicks(kafka, admin, pipeline, options.log);
  return {
    mappings,
    lag: () => consumerLag(admin, pipeline),
    async stop() {
      stopWatching();
      await switching;
      await stopTicks();
      await Promise.all(mappings.map((mapping) => mapping.stop()));
      await admin.disconnect();
    },
  };
}

/**
 * Waits until the broker's group coordinators answer for every consumer group. A broker that has just
 * started is still loading its offsets topic; consumers started then crash on their first join ("the
 * coordinator is loading") and only restart after a back-off of seconds.
 */
async function waitForGroupCoordinators(admin: Admin, pipeline: Pipeline, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const consumer of pipeline.consumers) {
    for (;;) {
      try {
        await admin.fetchOffsets({ groupId: consumer.eventSource.consumerGroupId, topics: [consumer.topic.name] });
        break;
      } catch {
        // Consumers started now would hit the same error and recover by themselves: start them anyway.
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/**
 * The local stand-in for the EventBridge Scheduler schedule of each hot stream:
 * a timer that sends every input partition a flush tick.
 */
async function startFlushTicks(
  kafka: Kafka,
  admin: Admin,
  pipeline: Pipeline,
  log: EventSourceLogger | undefined,
): Promise<() => Promise<void>> {
  if (pipeline.hotStreams.length === 0) return async () => undefined;
  const producer = orderedProducer(kafka);
  await producer.connect();
  let sending = Promise.resolve();
  const timers = pipeline.hotStreams.map(({ stream, flushTickIntervalMs }) =>
    setInterval(() => {
      sending = sending
        .then(() => publishFlushTicks(admin, producer, [stream.inputTopic]))
        .then(() => undefined)
        .catch((error: unknown) => log?.('warn', `flush ticks for ${stream.name} failed: ${String(error)}`));
    }, flushTickIntervalMs),
  );
  return async () => {
    for (const timer of timers) clearInterval(timer);
    await sending;
    await producer.disconnect();
  };
}

/** Total lag per consumer: the topic's end offsets minus the group's committed offsets. */
async function consumerLag(admin: Admin, pipeline: Pipeline): Promise<Map<string, number>> {
  const lag = new Map<string, number>();
  for (const consumer of pipeline.consumers) {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(consumer.topic.name),
      admin.fetchOffsets({ groupId: consumer.eventSource.consumerGroupId, topics: [consumer.topic.name] }),
    ]);
    let total = 0;
    for (const end of ends) {
      const committedOffset = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
      const from = committedOffset >= 0 ? committedOffset : Number(end.low);
      total += Math.max(0, Number(end.high) - from);
    }
    lag.set(consumer.name, total);
  }
  return lag;
}
