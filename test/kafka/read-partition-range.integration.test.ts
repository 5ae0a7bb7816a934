import type { Kafka } from 'kafkajs';
import { readPartitionRange } from '../../shared/kafka';
import { connectToTestServices, produce, uniqueName } from '../support/integration';

describe('readPartitionRange (integration)', () => {
  let kafka: Kafka;
  let topic: string;

  beforeAll(async () => {
    const runtime = await connectToTestServices();
    kafka = runtime.kafkaClient('read-range-test');
    topic = uniqueName('read-range');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await produce(kafka, topic, [
      ...Array.from({ length: 10 }, (_, index) => ({ key: `k${index}`, value: `p1-${index}`, partition: 1 })),
      ...Array.from({ length: 4 }, (_, index) => ({ key: `k${index}`, value: `p0-${index}`, partition: 0 })),
    ]);
  });

  it('reads exactly the requested offsets of one partition', async () => {
    const { messages, lostBefore } = await readPartitionRange(kafka, topic, 1, 3, 6);

    expect(lostBefore).toBeUndefined();
    expect(messages.map((message) => [Number(message.offset), message.value?.toString()])).toEqual([
      [3, 'p1-3'],
      [4, 'p1-4'],
      [5, 'p1-5'],
      [6, 'p1-6'],
    ]);
  });

  it('stops at the end of the log when the range reaches past it', async () => {
    const { messages } = await readPartitionRange(kafka, topic, 0, 2, 99);

    expect(messages.map((message) => message.value?.toString())).toEqual(['p0-2', 'p0-3']);
  });

  it('reads what is left of a range retention partly deleted, and says where the log starts now', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '8' }] });
    await admin.disconnect();

    const { messages, lostBefore } = await readPartitionRange(kafka, topic, 1, 5, 9);

    expect(lostBefore).toBe(8);
    expect(messages.map((message) => Number(message.offset))).toEqual([8, 9]);
  });
});
