import { Partitioners, type Kafka, type KafkaMessage } from 'kafkajs';
import { readPartitionRange } from '../../kafka';

/** A record found in a topic: where it is, and the record as kafkajs read it. */
export interface FoundRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/** How far back the newest record of a key is looked for in its partition. */
export const LATEST_RECORD_SEARCH_LIMIT = 100_000;
const SEARCH_WINDOW = 5_000;
const READER = 'lineage';

/**
 * The partition a key's records go to: the default partitioner of kafkajs 2,
 * which is Java's (murmur2 of the key's bytes), as every producer of this
 * platform and Kafka Connect use. A producer with another partitioner put its
 * keys elsewhere; {@link recordAt} then looks in the other partitions too.
 */
export function partitionOfKey(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({
    topic: '',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key, value: null },
  });
}

async function partitionBounds(kafka: Kafka, topic: string): Promise<Array<{ partition: number; low: number; high: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map((entry) => ({ partition: entry.partition, low: Number(entry.low), high: Number(entry.high) }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The newest record of a key in a topic (a tombstone counts), read from the
 * end of the key's partition backwards in windows, at most
 * {@link LATEST_RECORD_SEARCH_LIMIT} records back; undefined when none is there.
 */
export async function latestRecordOf(kafka: Kafka, topic: string, key: string): Promise<FoundRecord | undefined> {
  const bounds = await partitionBounds(kafka, topic);
  const partition = partitionOfKey(key, bounds.length);
  const { low, high } = bounds.find((entry) => entry.partition === partition) ?? { low: 0, high: 0 };
  const stop = Math.max(low, high - LATEST_RECORD_SEARCH_LIMIT);
  for (let end = high; end > stop; end -= SEARCH_WINDOW) {
    const from = Math.max(stop, end - SEARCH_WINDOW);
    const { messages } = await readPartitionRange(kafka, topic, partition, from, end - 1, { reader: READER });
    const found = messages.findLast((message) => message.key?.toString('utf8') === key);
    if (found) return { topic, partition, message: found };
  }
  return undefined;
}

/**
 * The record of a key at an offset of a topic: looked for in the key's
 * partition first, then in the others. Undefined when it is no longer there
 * (compaction keeps only a key's newest record; retention deletes old ones).
 */
export async function recordAt(kafka: Kafka, topic: string, key: string, offset: number): Promise<FoundRecord | undefined> {
  const bounds = await partitionBounds(kafka, topic);
  const expected = partitionOfKey(key, bounds.length);
  const order = [expected, ...bounds.map((entry) => entry.partition).filter((partition) => partition !== expected)];
  for (const partition of order) {
    const { low, high } = bounds.find((entry) => entry.partition === partition)!;
    if (offset < low || offset >= high) continue;
    const { messages } = await readPartitionRange(kafka, topic, partition, offset, offset, { reader: READER });
    const found = messages.find((message) => Number(message.offset) === offset && message.key?.toString('utf8') === key);
    if (found) return { topic, partition, message: found };
  }
  return undefined;
}
