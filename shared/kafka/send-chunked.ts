import type { Admin, Message, Producer, Transaction } from 'kafkajs';
import { chunkBySize, estimatedMessageBytes } from './chunk-by-size';

/** Sends messages to a topic in requests under the broker's size limit, in order, waiting for every replica. */
export async function sendChunked(producer: Producer | Transaction, topic: string, messages: readonly Message[]): Promise<void> {
  for (const chunk of chunkBySize(messages, estimatedMessageBytes)) await producer.send({ topic, acks: -1, messages: chunk });
}

/** A topic's end offsets summed: the records ever written to it (transaction markers included). */
export async function topicRecordCount(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high), 0);
}
