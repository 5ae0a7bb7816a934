import type { Producer, ProducerRecord } from 'kafkajs';
import { JOIN_OUTPUT_HEADERS, KafkaJoinOutputSink, type JoinOutputRecord } from '../../shared/fk-join';
import { JoinOutputCauses, withJoinOutputCauses } from '../../shared/fk-join/join-output-sink';
import { newRootContext, parseTraceparent, TRACE_HEADERS, type TraceContext } from '../../shared/tracing';

/** A producer that keeps what it was asked to send. */
function capturingProducer() {
  const sent: ProducerRecord[] = [];
  const producer = { send: async (record: ProducerRecord) => void sent.push(record) } as unknown as Producer;
  const headersOf = (key: string) =>
    sent.flatMap((record) => record.messages).find((message) => message.key === key)!.headers as Record<string, string>;
  return { producer, sent, headersOf };
}

const carried = (context: TraceContext) => ({ context, carried: true });
const output = (leftKey: string, leftOffset: number, rightOffset: number): JoinOutputRecord => ({
  leftKey,
  position: { leftOffset, rightOffset },
  value: Buffer.from('{}'),
});

describe('Class: KafkaJoinOutputSink (trace context)', () => {
  it("gives each result of a left batch a child of its key's last record in the batch (the one coalescing kept), keeping the join's headers", async () => {
    // Prepare: item-1 twice in the batch, item-2 once, with a tracestate.
    const { producer, headersOf } = capturingProducer();
    const sink = new KafkaJoinOutputSink(producer, 'items-with-flyer', 'items-with-flyer');
    const [first, last, other] = [newRootContext(), newRootContext(), { ...newRootContext(), traceState: 'vendor=1' }];
    const causes = new JoinOutputCauses('left');
    causes.input('item-1', 10, carried(first));
    causes.input('item-2', 11, carried(other));
    causes.input('item-1', 12, carried(last));

    // Act
    await withJoinOutputCauses(causes, () => sink.publish([output('item-1', 12, 7), output('item-2', 11, 7)]));

    // Assess
    const item1 = headersOf('item-1');
    expect(item1).toMatchObject({ [JOIN_OUTPUT_HEADERS.position]: '12:7', [JOIN_OUTPUT_HEADERS.join]: 'items-with-flyer' });
    expectChildOf(parseTraceparent(item1.traceparent)!, last);
    expect(item1[TRACE_HEADERS.cause]).toBe(last.parentId);
    expect(item1.tracestate).toBeUndefined();
    const item2 = headersOf('item-2');
    expectChildOf(parseTraceparent(item2.traceparent, item2.tracestate)!, other);
    expect(item2.tracestate).toBe('vendor=1');
  });

  it('gives each result of a fan-out a child of the right record whose fan-out reached its key', async () => {
    // Prepare: two flyers updated in one batch; item-3 moved from flyer-a to flyer-b, so both fan-outs reach it.
    const { producer, headersOf } = capturingProducer();
    const sink = new KafkaJoinOutputSink(producer, 'items-with-flyer', 'items-with-flyer');
    const [flyerA, flyerB] = [newRootContext(), newRootContext()];
    const causes = new JoinOutputCauses('right');
    causes.input('flyer-a', 40, carried(flyerA));
    causes.input('flyer-b', 41, carried(flyerB));
    causes.reached('flyer-a', [
      { rightKey: 'flyer-a', leftKey: 'item-1', subscribedAt: 1, retired: false },
      { rightKey: 'flyer-a', leftKey: 'item-3', subscribedAt: 2, retired: true },
    ]);
    causes.reached('flyer-b', [
      { rightKey: 'flyer-b', leftKey: 'item-2', subscribedAt: 3, retired: false },
      { rightKey: 'flyer-b', leftKey: 'item-3', subscribedAt: 5, retired: false },
    ]);

    // Act
    await withJoinOutputCauses(causes, () => sink.publish([output('item-1', 1, 40), output('item-2', 3, 41), output('item-3', 5, 41)]));

    // Assess
    expectChildOf(parseTraceparent(headersOf('item-1').traceparent)!, flyerA);
    expectChildOf(parseTraceparent(headersOf('item-2').traceparent)!, flyerB);
    expectChildOf(parseTraceparent(headersOf('item-3').traceparent)!, flyerB);
    expect(headersOf('item-3')[TRACE_HEADERS.cause]).toBe(flyerB.parentId);
  });

  it('continues the trace started for an input that carried none, in every result it causes, naming no cause span', async () => {
    const { producer, headersOf } = capturingProducer();
    const sink = new KafkaJoinOutputSink(producer, 'offers', 'offers');
    const started = newRootContext();
    const causes = new JoinOutputCauses('right');
    causes.input('merchant-1', 9, { context: started, carried: false });
    causes.reached(
      'merchant-1',
      ['item-1', 'item-2'].map((leftKey, index) => ({ rightKey: 'merchant-1', leftKey, subscribedAt: index, retired: false })),
    );

    await withJoinOutputCauses(causes, () => sink.publish([output('item-1', 0, 9), output('item-2', 1, 9)]));

    for (const key of ['item-1', 'item-2']) {
      expectChildOf(parseTraceparent(headersOf(key).traceparent)!, started);
      expect(headersOf(key)[TRACE_HEADERS.cause]).toBeUndefined();
    }
  });

  it('starts a trace of its own for a result whose cause it does not know (a sink used outside the handlers)', async () => {
    const { producer, headersOf } = capturingProducer();
    const sink = new KafkaJoinOutputSink(producer, 'out', 'join');

    await sink.publish([output('k', 1, -1)]);

    expect(parseTraceparent(headersOf('k').traceparent)).toEqual({
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
      flags: 1,
    });
  });

  it('keeps the causes of concurrent invocations apart', async () => {
    const { producer, headersOf } = capturingProducer();
    const sink = new KafkaJoinOutputSink(producer, 'out', 'join');
    const contexts = [newRootContext(), newRootContext()];

    await Promise.all(
      contexts.map(async (context, index) => {
        const causes = new JoinOutputCauses('left');
        causes.input(`k-${index}`, index, carried(context));
        await withJoinOutputCauses(causes, async () => {
          await new Promise((resolve) => setTimeout(resolve, 10 * (2 - index)));
          await sink.publish([output(`k-${index}`, index, -1)]);
        });
      }),
    );

    contexts.forEach((context, index) => {
      expectChildOf(parseTraceparent(headersOf(`k-${index}`).traceparent)!, context);
    });
  });
});

function expectChildOf(child: TraceContext, parent: TraceContext): void {
  expect(child.traceId).toBe(parent.traceId);
  expect(child.parentId).toMatch(/^[0-9a-f]{16}$/);
  expect(child.parentId).not.toBe(parent.parentId);
  expect(child.flags).toBe(parent.flags);
}
