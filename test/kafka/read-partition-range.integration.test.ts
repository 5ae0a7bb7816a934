import { readPartitionRange } from '../../shared/kafka';
import { produce, uniqueName, useTestServices } from '../support/integration';

describe('readPartitionRange (integration)', () => {
  const services = useTestServices('read-range-test');
  let topic: string;

  beforeAll(async () => {
    topic = uniqueName('read-range');
    await services.admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await produce(services.kafka, topic, [
      ...Array.from({ length: 10 }, (_, index) => ({ key: `k${index}`, value: `p1-${index}`, partition: 1 })),
      ...Array.from({ length: 4 }, (_, index) => ({ key: `k${index}`, value: `p0-${index}`, partition: 0 })),
    ]);
  });

  it('reads exactly the requested offsets of one partition', async () => {
    const { messages, lostBefore } = await readPartitionRange(services.kafka, topic, 1, 3, 6);

    expect(lostBefore).toBeUndefined();
    expect(messages.map((message) => [Number(message.offset), message.value?.toString()])).toEqual([
      [3, 'p1-3'],
      [4, 'p1-4'],
      [5, 'p1-5'],
      [6, 'p1-6'],
    ]);
  });

  it('stops at the end of the log when the range reaches past it', async () => {
    const { messages } = await readPartitionRange(services.kafka, topic, 0, 2, 99);

    expect(messages.map((message) => message.value?.toString())).toEqual(['p0-2', 'p0-3']);
  });

  it('reads what is left of a range retention partly deleted, and says where the log starts now', async () => {
    await services.admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
    await services.admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '8' }] });

    const { messages, lostBefore } = await readPartitionRange(services.kafka, topic, 1, 5, 9);

    expect(lostBefore).toBe(8);
    expect(messages.map((message) => Number(message.offset))).toEqual([8, 9]);
  });
});
