import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { PlatformError } from '../errors';

/** Consumer groups of range reads start with this; IAM grants them by prefix. */
export const READ_RANGE_GROUP_PREFIX = 'platform.read-range.';

export interface ReadPartitionRangeOptions {
  /** Gives up after this long. @default 60 s */
  readonly timeoutMs?: number;
  /** Names the throwaway group after its reader, so IAM can scope it: `${READ_RANGE_GROUP_PREFIX}<reader>.<uuid>`. @default 'anonymous' */
  readonly reader?: string;
}

export interface PartitionRange {
  /** The records of the range still in the log, in offset order. */
  readonly messages: KafkaMessage[];
  /** Set when retention already deleted the range's beginning: the first offset still in the log. */
  readonly lostBefore: number | undefined;
}

/**
 * Reads the records of one partition from `fromOffset` to `toOffset`
 * (inclusive), as they are in the log now (a compacted topic may have dropped
 * some). kafkajs has no manual assignment, so this joins a throwaway consumer
 * group that never commits, seeks the one partition and pauses the rest once
 * it has joined. What retention already deleted is reported, not read.
 */
export async function readPartitionRange(
  kafka: Kafka,
  topic: string,
  partition: number,
  fromOffset: number,
  toOffset: number,
  options: ReadPartitionRangeOptions = {},
): Promise<PartitionRange> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const bounds = offsets.find((entry) => entry.partition === partition);
    if (!bounds) throw new PlatformError(`${topic} has no partition ${partition}`);
    const logStart = Number(bounds.low);
    const lostBefore = fromOffset < logStart ? logStart : undefined;
    const first = Math.max(fromOffset, logStart);
    const last = Math.min(toOffset, Number(bounds.high) - 1);
    if (last < first) return { messages: [], lostBefore };

    const groupId = `${READ_RANGE_GROUP_PREFIX}${options.reader ?? 'anonymous'}.${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const messages = new Map<number, KafkaMessage>();
    try {
      await consumer.connect();
      // From the beginning, so the range is read even if the seek below came late; the seek only saves time.
      await consumer.subscribe({ topic, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        const others = offsets.map((entry) => entry.partition).filter((other) => other !== partition);
        if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
        consumer.seek({ topic, partition, offset: String(first) });
      });
      await new Promise<void>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? 60_000;
        const timer = setTimeout(
          () => reject(new PlatformError(`reading ${topic}-${partition} offsets ${first}–${last} took longer than ${timeoutMs} ms`)),
          timeoutMs,
        );
        // run() resolves once consuming starts; a later failure (joining, authorization) only shows as a crash.
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          clearTimeout(timer);
          reject(payload.error);
        });
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset >= first && offset <= last) messages.set(offset, message);
              }
              // A compacted log may lack `last` itself: the batch's end says how far the log was read.
              if (Number(batch.lastOffset()) >= last) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error as Error);
          });
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined); // never committed: nothing of value to keep
    }
    return { messages: [...messages.values()].sort((a, b) => Number(a.offset) - Number(b.offset)), lostBefore };
  } finally {
    await admin.disconnect();
  }
}
