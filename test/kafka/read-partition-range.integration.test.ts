import type { Kafka } from 'kafkajs';
import { OffsetsNoLongerRetainedError, readPartitionRange } from '../../shared/kafka';
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
    const messages = await readPartitionRange(kafka, topic, 1, 3, 6);

    expect(messages.map((message) => [Number(message.offset), message.value?.toString()])).toEqual([
      [3, 'p1-3'],
      [4, 'p1-4'],
      [5, 'p1-5'],
      [6, 'p1-6'],
    ]);
  });

  it('stops at the end of the log when the range reaches past it', async () => {
    const messages = await readPartitionRange(kafka, topic, 0, 2, 99);

    expect(messages.map((message) => message.value?.toString())).toEqual(['p0-2', 'p0-3']);
  });

  it('refuses a range retention already deleted, naming where the log starts now', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '8' }] });
    await admin.disconnect();

    const reading = readPartitionRange(kafka, topic, 1, 5, 9);

    await expect(reading).rejects.toBeInstanceOf(OffsetsNoLongerRetainedError);
    await expect(reading).rejects.toThrow(/offsets 5–7 are no longer retained \(the log now starts at 8\)/);
  });
});
