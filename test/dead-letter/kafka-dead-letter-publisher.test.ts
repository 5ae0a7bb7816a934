import type { Producer, ProducerRecord } from 'kafkajs';
import { DEAD_LETTER_HEADERS, DeadLetterPublishError, KafkaDeadLetterPublisher, type DeadLetter } from '../../shared/dead-letter';

function letter(offset: number, valueBytes: number, error = 'Error: boom'): DeadLetter {
  return {
    record: {
      topic: 'orders',
      partition: 2,
      offset,
      timestamp: 1_700_000_000_000,
      timestampType: 'CREATE_TIME',
      key: Buffer.from(`k${offset}`),
      value: Buffer.alloc(valueBytes, 1),
      headers: [
        ['trace', Buffer.from('t-1')],
        ['trace', Buffer.from('t-2')],
      ],
    },
    reason: 'RetryAttemptsExhausted',
    error,
    attempts: 3,
  };
}

/** A producer that records what it was asked to send. */
function recordingProducer(fail = false) {
  const sent: ProducerRecord[] = [];
  const producer = {
    send: async (record: ProducerRecord) => {
      if (fail) throw new Error('broker unreachable');
      sent.push(record);
      return [];
    },
  } as unknown as Producer;
  return { producer, sent };
}

describe('Class: KafkaDeadLetterPublisher', () => {
  it('keeps the original key, value and repeated headers, and adds the failure metadata', async () => {
    const { producer, sent } = recordingProducer();
    const publisher = new KafkaDeadLetterPublisher(producer, 'orders.dlq', 'catalog.audit', () => Date.UTC(2026, 10, 26));

    await publisher.publish([letter(15, 10)]);

    const message = sent[0]!.messages[0]!;
    expect(sent[0]!.topic).toBe('orders.dlq');
    expect(message.key).toEqual(Buffer.from('k15'));
    expect(message.value).toEqual(Buffer.alloc(10, 1));
    expect(message.timestamp).toBeUndefined();
    expect(message.headers).toEqual({
      trace: [Buffer.from('t-1'), Buffer.from('t-2')],
      [DEAD_LETTER_HEADERS.reason]: 'RetryAttemptsExhausted',
      [DEAD_LETTER_HEADERS.error]: 'Error: boom',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.sourceTopic]: 'orders',
      [DEAD_LETTER_HEADERS.sourcePartition]: '2',
      [DEAD_LETTER_HEADERS.sourceOffset]: '15',
      [DEAD_LETTER_HEADERS.sourceTimestamp]: '1700000000000',
      [DEAD_LETTER_HEADERS.consumerGroupId]: 'catalog.audit',
      [DEAD_LETTER_HEADERS.failedAt]: '2026-11-26T00:00:00.000Z',
    });
  });

  it('splits large dead letters over several produce requests, in order, so none exceeds the broker limit', async () => {
    const { producer, sent } = recordingProducer();
    const publisher = new KafkaDeadLetterPublisher(producer, 'orders.dlq', 'catalog.audit');

    await publisher.publish([letter(1, 300_000), letter(2, 300_000), letter(3, 300_000)]);

    expect(sent.length).toBeGreaterThan(1);
    expect(sent.flatMap((request) => request.messages.map((message) => String(message.key)))).toEqual(['k1', 'k2', 'k3']);
  });

  it('truncates a very long error message in the header', async () => {
    const { producer, sent } = recordingProducer();
    await new KafkaDeadLetterPublisher(producer, 'orders.dlq', 'g').publish([letter(1, 1, 'x'.repeat(100_000))]);

    expect(String(sent[0]!.messages[0]!.headers![DEAD_LETTER_HEADERS.error])).toHaveLength(4096);
  });

  it('fails with a retriable DeadLetterPublishError when the broker does not take the records', async () => {
    const { producer } = recordingProducer(true);
    const publishing = new KafkaDeadLetterPublisher(producer, 'orders.dlq', 'g').publish([letter(1, 1)]);

    await expect(publishing).rejects.toBeInstanceOf(DeadLetterPublishError);
    await expect(publishing).rejects.toMatchObject({ retriable: true, message: expect.stringContaining('orders.dlq') });
  });
});
