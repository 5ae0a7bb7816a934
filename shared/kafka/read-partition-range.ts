import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { PlatformError } from '../errors';

/** Some offsets of a requested range are no longer in the log (deleted by retention): they cannot be read again. */
export class OffsetsNoLongerRetainedError extends PlatformError {
  override readonly name = 'OffsetsNoLongerRetainedError';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly fromOffset: number,
    readonly logStartOffset: number,
  ) {
    super(`${topic}-${partition}: offsets ${fromOffset}–${logStartOffset - 1} are no longer retained (the log now starts at ${logStartOffset})`);
  }
}

export interface ReadPartitionRangeOptions {
  /** Gives up after this long. @default 60 s */
  readonly timeoutMs?: number;
}

/**
 * Reads the records of one partition from `fromOffset` to `toOffset`
 * (inclusive), as they are in the log now (a compacted topic may have dropped
 * some). kafkajs has no manual assignment, so this joins a throwaway consumer
 * group that never commits, seeks the one partition and pauses the rest.
 * @throws OffsetsNoLongerRetainedError when retention already deleted part of the range
 */
export async function readPartitionRange(
  kafka: Kafka,
  topic: string,
  partition: number,
  fromOffset: number,
  toOffset: number,
  options: ReadPartitionRangeOptions = {},
): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const bounds = offsets.find((entry) => entry.partition === partition);
    if (!bounds) throw new PlatformError(`${topic} has no partition ${partition}`);
    const logStart = Number(bounds.low);
    const last = Math.min(toOffset, Number(bounds.high) - 1);
    if (fromOffset < logStart) throw new OffsetsNoLongerRetainedError(topic, partition, fromOffset, logStart);
    if (last < fromOffset) return [];

    const groupId = `platform.read-range.${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const messages: KafkaMessage[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new PlatformError(`reading ${topic}-${partition} offsets ${fromOffset}–${last} took longer than ${options.timeoutMs ?? 60_000} ms`)),
          options.timeoutMs ?? 60_000,
        );
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset < fromOffset || offset > last) continue;
                messages.push(message);
              }
              // A compacted log may lack `last` itself: the batch's end says how far the log was read.
              if (Number(batch.lastOffset()) >= last || batch.messages.some((message) => Number(message.offset) >= last)) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .then(() => {
            const others = offsets.map((entry) => entry.partition).filter((other) => other !== partition);
            if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
            consumer.seek({ topic, partition, offset: String(fromOffset) });
          }, reject);
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined); // never committed: nothing of value to keep
    }
    return messages;
  } finally {
    await admin.disconnect();
  }
}
