import type { Admin, Producer } from 'kafkajs';
import { newRootContext, traceHeaders, type TraceContext } from '../tracing';

/** Header marking a flush tick: a record that carries no update and only wakes the consumer of its partition. */
export const FLUSH_TICK_HEADER = 'x-hot-flush-tick';
const FLUSH_TICK_KEY = '__flush-tick__';

/**
 * Publishes one flush tick to every partition of each input topic. The tick
 * invokes the partition's consumer even when its stream is quiet, so keys whose
 * last value waits for the emit interval are flushed by the one consumer that
 * owns them: emissions for a key stay in order. Scheduled by EventBridge
 * Scheduler in AWS and by a timer in the local runtime.
 *
 * Every tick of a call carries `trace` (the ticker's; a new trace by default),
 * so the hot-stream batches a tick wakes are annotated with it in X-Ray. The
 * deltas a flush emits do not take it: each continues the trace of the update
 * it carries.
 */
export async function publishFlushTicks(
  admin: Admin,
  producer: Producer,
  inputTopics: readonly string[],
  now: number = Date.now(),
  trace: TraceContext = newRootContext(),
): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...inputTopics] });
  const messages = metadata.topics.flatMap((topic) =>
    topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionId })),
  );
  await producer.sendBatch({
    acks: -1,
    topicMessages: inputTopics.map((topic) => ({
      topic,
      messages: messages
        .filter((message) => message.topic === topic)
        // No value (the tick's time is in its header): any reader of the topic, whatever its format, reads a null.
        .map(({ partition }) => ({
          partition,
          key: FLUSH_TICK_KEY,
          value: null,
          headers: { [FLUSH_TICK_HEADER]: String(now), ...traceHeaders(trace) },
        })),
    })),
  });
  return messages.length;
}

/** True for a flush tick, judged from an MSK record's headers. */
export function isFlushTick(headers: ReadonlyArray<Readonly<Record<string, readonly number[]>>>): boolean {
  return headers.some((header) => FLUSH_TICK_HEADER in header);
}
