import { Partitioners, type Kafka, type KafkaMessage } from 'kafkajs';
import { readPartitionRange } from '../../kafka';

/** A record found in a topic: where it is, and the record as kafkajs read it. */
export interface FoundRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/** Where records are read back from: the brokers ({@link kafkaRecordSource}), or a test's own. */
export interface RecordSource {
  /** The newest record of a key in a topic (a tombstone counts); undefined when none is there. */
  latest(topic: string, key: string): Promise<FoundRecord | undefined>;
  /** The record of a key at an offset of a topic; undefined when it is no longer there. */
  at(topic: string, key: string, offset: number): Promise<FoundRecord | undefined>;
}

/** How far back the newest record of a key is looked for in its partition. */
export const LATEST_RECORD_SEARCH_LIMIT = 100_000;
const SEARCH_WINDOW = 5_000;
const READER = 'lineage';
const DEFAULT_PARTITIONER = Partitioners.DefaultPartitioner();

/**
 * The partition a key's records go to: the default partitioner of kafkajs 2,
 * which is Java's (murmur2 of the key's bytes), as every producer of this
 * platform and Kafka Connect use.
 */
export function partitionOfKey(key: string, partitions: number): number {
  return DEFAULT_PARTITIONER({
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

/**
 * Records read back from the brokers. Each topic's partition bounds are read
 * once per source (one explanation), and each read is one throwaway consumer
 * group (kafkajs has no manual assignment): slow by Kafka's standards (a
 * second or so per lineage here), cheap enough for a person asking.
 */
export function kafkaRecordSource(kafka: Kafka): RecordSource {
  const bounds = new Map<string, Promise<Array<{ partition: number; low: number; high: number }>>>();
  const boundsOf = (topic: string) => {
    let known = bounds.get(topic);
    if (!known) {
      known = partitionBounds(kafka, topic);
      bounds.set(topic, known);
    }
    return known;
  };
  return {
    async latest(topic, key) {
      const all = await boundsOf(topic);
      const partition = partitionOfKey(key, all.length);
      const { low, high } = all.find((entry) => entry.partition === partition) ?? { low: 0, high: 0 };
      const stop = Math.max(low, high - LATEST_RECORD_SEARCH_LIMIT);
      for (let end = high; end > stop; end -= SEARCH_WINDOW) {
        const from = Math.max(stop, end - SEARCH_WINDOW);
        const { messages } = await readPartitionRange(kafka, topic, partition, from, end - 1, { reader: READER });
        const found = messages.findLast((message) => message.key?.toString('utf8') === key);
        if (found) return { topic, partition, message: found };
      }
      return undefined;
    },
    async at(topic, key, offset) {
      const all = await boundsOf(topic);
      // Only the key's own partition: a record compacted away is not looked for in every other one.
      const partition = partitionOfKey(key, all.length);
      const { low, high } = all.find((entry) => entry.partition === partition) ?? { low: 0, high: 0 };
      if (offset < low || offset >= high) return undefined;
      const { messages } = await readPartitionRange(kafka, topic, partition, offset, offset, { reader: READER });
      const found = messages.find((message) => Number(message.offset) === offset && message.key?.toString('utf8') === key);
      return found ? { topic, partition, message: found } : undefined;
    },
  };
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
