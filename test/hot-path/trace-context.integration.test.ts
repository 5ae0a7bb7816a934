import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { MskEvent } from '../../shared/msk';
import { FLUSH_TICK_HEADER, type HotStream } from '../../shared/hot-path';
import { definePriceStream } from '../../example';
import { runPipeline } from '../../shared/local';
import { parseTraceparent, toXRayTraceId, TRACE_HEADERS, type TraceContext } from '../../shared/tracing';
import { eventually, produce, readAll, readTopic, recordCount, useTestServices, type ConsumedRecord } from '../support/integration';
import { context, deployHotStream, eventOf, hotStreamTopics, notedPrices, price, prices, tickEvent } from './hot-stream-harness';

/** A traceparent as a producer in another service writes it. */
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_B = '0af7651916cd43dd8448eb211c80319c';
const TRACE_C = '5759e988bd862e3fe1be46a994272793';
const SPAN_A = '00f067aa0ba902b7';
const SPAN_B = 'b7ad6b7169203331';
const SPAN_C = '53995c3f42cd8ad8';

/** What the process writes (Powertools' JSON log lines) until restored; `lines` are those with the given message. */
function captureOutput() {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  return {
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
    lines: (message: string) =>
      written
        .flatMap((text) => text.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.message === message),
  };
}

/** The trace context a record carries. */
const traceOf = (record: ConsumedRecord | undefined): TraceContext | undefined =>
  record && parseTraceparent(record.headers[TRACE_HEADERS.traceparent], record.headers[TRACE_HEADERS.tracestate]);

describe('High-frequency path: trace context (integration)', () => {
  const services = useTestServices('hot-trace-test');

  const deployed = (stream: Parameters<typeof deployHotStream>[1], options: Parameters<typeof deployHotStream>[2] = {}) =>
    deployHotStream(services, stream, options);

  /** Every record a topic holds now, by key (the last one of each). */
  async function latestByKey(topic: string): Promise<Map<string, ConsumedRecord>> {
    return new Map((await readAll(services.kafka, topic)).map((record) => [record.key!, record]));
  }

  it('emits a price delta as a child of the update it carries', async () => {
    // Prepare: a stream that also writes the full value to an entity topic; item-1 updated twice in one batch, in two traces.
    const topics = hotStreamTopics('prices');
    const entityTopic = `${topics.name}.current`;
    const stream = definePriceStream({ ...topics, minEmitIntervalMs: 0, verbosity: { mode: 'delta-and-entity', entityTopic } });
    const { handler, stored } = await deployed(stream);

    // Act
    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', price(1, 100), { traceparent: traceparent(TRACE_A, SPAN_A) }],
        ['item-1', price(2, 90), { traceparent: traceparent(TRACE_B, SPAN_B), tracestate: 'shop=edit-7' }],
        ['item-2', price(1, 50), { traceparent: traceparent(TRACE_C, SPAN_C) }],
      ]),
      context,
    );

    // Assess: coalesced to the newest update per key, whose trace the delta continues as a child of its span ...
    const deltas = await latestByKey(stream.outputTopic);
    expect(JSON.parse(deltas.get('item-1')!.value!)).toMatchObject({ version: 2, amountMinor: 90 });
    const delta = traceOf(deltas.get('item-1'))!;
    expect(delta).toEqual({ traceId: TRACE_B, parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1, traceState: 'shop=edit-7' });
    expect(delta.parentId).not.toBe(SPAN_B);
    expect(deltas.get('item-1')!.headers[TRACE_HEADERS.cause]).toBe(SPAN_B);
    expect(traceOf(deltas.get('item-2'))?.traceId).toBe(TRACE_C);
    expect(deltas.get('item-2')!.headers[TRACE_HEADERS.cause]).toBe(SPAN_C);
    // ... the entity record is written by the same emission: the same span ...
    const entities = await latestByKey(entityTopic);
    expect(entities.get('item-1')!.headers).toMatchObject({
      [TRACE_HEADERS.traceparent]: deltas.get('item-1')!.headers[TRACE_HEADERS.traceparent],
      [TRACE_HEADERS.tracestate]: 'shop=edit-7',
      [TRACE_HEADERS.cause]: SPAN_B,
    });
    // ... and the hot state holds the update's context beside it.
    expect((await stored('item-1'))?.trace).toEqual({
      context: { traceId: TRACE_B, parentId: SPAN_B, flags: 1, traceState: 'shop=edit-7' },
      carried: true,
    });
  });

  it('continues the trace of a buffered update when a flush tick emits it', async () => {
    // Prepare: a stream that holds updates in the write-behind buffer for 300 ms, run by the event-source
    // emulator with flush ticks every 200 ms; each invocation noted with whether it emitted.
    const stream = prices(0, 300);
    const { pipeline, handler } = await deployed(stream);
    const invocations: Array<{ ticksOnly: boolean; emitted: number }> = [];
    const noting = async (event: MskEvent, invocation: Context) => {
      const before = handler.totals.emitted;
      const response = await handler(event, invocation);
      const records = Object.values(event.records).flat();
      invocations.push({
        ticksOnly: records.every((record) => record.headers.some((header) => FLUSH_TICK_HEADER in header)),
        emitted: handler.totals.emitted - before,
      });
      return response;
    };
    const running = await runPipeline(services.runtime, pipeline, { handlers: { [stream.name]: noting } });
    try {
      // Act: one update, in the producer's trace; nothing else arrives.
      await produce(services.kafka, stream.inputTopic, [
        {
          key: 'item-7',
          value: JSON.stringify(price(1, 700)),
          headers: { traceparent: traceparent(TRACE_A, SPAN_A), tracestate: 'shop=7' },
        },
      ]);

      // Assess: a batch of ticks only emitted it, as a child of the update, not of the tick that woke it.
      await eventually('an invocation emits the delta', () => invocations.some((invocation) => invocation.emitted > 0), 30_000);
      expect(invocations.filter((invocation) => invocation.emitted > 0)).toEqual([{ ticksOnly: true, emitted: 1 }]);
      const [delta] = await readTopic(services.kafka, stream.outputTopic, 1);
      expect(traceOf(delta)).toEqual({ traceId: TRACE_A, parentId: expect.not.stringMatching(SPAN_A), flags: 1, traceState: 'shop=7' });
      expect(delta!.headers[TRACE_HEADERS.cause]).toBe(SPAN_A);
      // The ticks carry a trace of their own (the ticker's), which the batches they wake are annotated with.
      const ticks = (await readTopic(services.kafka, stream.inputTopic, await recordCount(services.kafka, stream.inputTopic))).filter(
        (record) => record.headers[FLUSH_TICK_HEADER] !== undefined,
      );
      expect(ticks.length).toBeGreaterThan(0);
      for (const tick of ticks)
        expect(traceOf(tick)).toEqual({
          traceId: expect.not.stringMatching(TRACE_A),
          parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
          flags: 1,
        });
    } finally {
      await running.stop();
    }
  });

  it('continues the trace of a rate-limited update when another execution environment emits it from the hot state', async () => {
    // Prepare: v1 emitted at once; v2, in another trace, held back by the interval (stored, pending).
    let now = 1_000_000;
    const stream = prices(10_000);
    const { handler, handlerIn, stored } = await deployed(stream, { now: () => now });
    await handler(eventOf(stream.inputTopic, [['item-1', price(1, 100), { traceparent: traceparent(TRACE_A, SPAN_A) }]]), context);
    now += 1_000;
    await handler(eventOf(stream.inputTopic, [['item-1', price(2, 90), { traceparent: traceparent(TRACE_B, SPAN_B) }]], 0, 1), context);
    expect(handler.totals.emitted).toBe(1);
    expect((await stored('item-1'))?.trace?.context.traceId).toBe(TRACE_B);

    // Act: the interval over, a tick (in the ticker's trace) wakes a fresh environment, which knows only the table.
    now += 10_000;
    const elsewhere = handlerIn({ now: () => now, environmentId: 'elsewhere' });
    await elsewhere(tickEvent(stream.inputTopic, 0, 2, { traceparent: traceparent(TRACE_C, SPAN_C) }), context);

    // Assess
    expect(elsewhere.totals.emitted).toBe(1);
    const deltas = await readTopic(services.kafka, stream.outputTopic, 2);
    expect(deltas.map((delta) => [JSON.parse(delta.value!).version, traceOf(delta)?.traceId, delta.headers[TRACE_HEADERS.cause]])).toEqual([
      [1, TRACE_A, SPAN_A],
      [2, TRACE_B, SPAN_B],
    ]);
  });

  it('starts a new trace for an update without trace context', async () => {
    // Prepare
    const stream = prices(0);
    const { handler, stored } = await deployed(stream);

    // Act: one update with no context, one with a traceparent that is not valid (upper-case hex).
    await handler(
      eventOf(stream.inputTopic, [
        ['item-1', price(1, 100)],
        ['item-2', price(1, 200), { traceparent: traceparent(TRACE_A.toUpperCase(), SPAN_A), tracestate: 'shop=1' }],
      ]),
      context,
    );

    // Assess: each delta is in a trace of its own, started by the hot stream (X-Ray's id shape: the time first) ...
    const deltas = await latestByKey(stream.outputTopic);
    const [one, two] = [traceOf(deltas.get('item-1'))!, traceOf(deltas.get('item-2'))!];
    for (const trace of [one, two])
      expect(trace).toEqual({
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
        flags: 1,
      });
    expect(one.traceId).not.toBe(two.traceId);
    expect(two.traceId).not.toBe(TRACE_A);
    expect(() => toXRayTraceId(one.traceId)).not.toThrow();
    // ... naming no cause: the span it started is on no record ...
    expect(deltas.get('item-1')!.headers).not.toHaveProperty(TRACE_HEADERS.cause);
    expect(deltas.get('item-2')!.headers).not.toHaveProperty(TRACE_HEADERS.cause);
    // ... and the trace started is the one the hot state keeps with the update.
    const kept = (await stored('item-1'))!.trace!;
    expect(kept).toEqual({
      context: { traceId: one.traceId, parentId: expect.not.stringMatching(one.parentId), flags: 1 },
      carried: false,
    });
  });

  it('starts a new trace for the delta of an item stored without trace context', async () => {
    // Prepare: an update held back by the interval, then its item stripped of its trace, as items stored before hot streams kept one are.
    let now = 1_000_000;
    const stream = prices(10_000);
    const { handler, tableName, stored } = await deployed(stream, { now: () => now });
    await handler(eventOf(stream.inputTopic, [['item-1', price(1, 100), { traceparent: traceparent(TRACE_A, SPAN_A) }]]), context);
    now += 1_000;
    await handler(eventOf(stream.inputTopic, [['item-1', price(2, 90), { traceparent: traceparent(TRACE_B, SPAN_B) }]], 0, 1), context);
    await services.documents.send(
      new UpdateCommand({ TableName: tableName, Key: { pk: 'item-1' }, UpdateExpression: 'REMOVE traceparent, tracestate, traceStarted' }),
    );
    expect((await stored('item-1'))?.trace).toBeUndefined();

    // Act
    now += 10_000;
    await handler(tickEvent(stream.inputTopic, 0, 2), context);

    // Assess
    const deltas = await readTopic(services.kafka, stream.outputTopic, 2);
    expect(JSON.parse(deltas[1]!.value!).version).toBe(2);
    expect(traceOf(deltas[1])?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceOf(deltas[1])?.traceId).not.toBe(TRACE_B);
    expect(deltas[1]!.headers).not.toHaveProperty(TRACE_HEADERS.cause);
  });

  it('keeps the trace context of an update it dead-letters, and logs its trace id', async () => {
    // Prepare: a handler that logs warnings (the tests' default is errors only), its log lines captured.
    const stream = prices(0);
    const level = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const { handler, letters } = await deployed(stream).finally(() => (process.env.POWERTOOLS_LOG_LEVEL = level));
    const logged = captureOutput();

    // Act
    try {
      await handler(
        eventOf(stream.inputTopic, [
          ['item-1', Buffer.from('not json'), { traceparent: traceparent(TRACE_A, SPAN_A), tracestate: 'shop=1' }],
        ]),
        context,
      );
    } finally {
      logged.restore();
    }

    // Assess: the letter is the record as it was, its trace headers included; the log line names its trace.
    const letter = (await letters(1)).get(0)!;
    expect(letter.headers).toMatchObject({
      [TRACE_HEADERS.traceparent]: traceparent(TRACE_A, SPAN_A),
      [TRACE_HEADERS.tracestate]: 'shop=1',
      'x-dead-letter-reason': 'InvalidRecord',
    });
    expect(logged.lines('records dead-lettered')).toEqual([
      expect.objectContaining({ level: 'WARN', count: 1, partition: 0, offset: 0, traceId: TRACE_A }),
    ]);
  });

  it('keeps the trace of an update the hot state refuses in its letter and log line, and emits the fallback as a child of its own update', async () => {
    // Prepare: compressed values, so a small record can carry an update far too large to store; warnings captured.
    const stream = notedPrices();
    const level = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const { handler, letters } = await deployed(stream as unknown as HotStream<never>).finally(
      () => (process.env.POWERTOOLS_LOG_LEVEL = level),
    );
    const logged = captureOutput();

    // Act
    try {
      await handler(
        eventOf(stream.inputTopic, [
          ['item-1', gzipSync(JSON.stringify({ ...price(1, 100), note: 'fits' })), { traceparent: traceparent(TRACE_A, SPAN_A) }],
          [
            'item-1',
            gzipSync(JSON.stringify({ ...price(2, 90), note: 'x'.repeat(200_000) })),
            { traceparent: traceparent(TRACE_B, SPAN_B), tracestate: 'shop=2' },
          ],
        ]),
        context,
      );
    } finally {
      logged.restore();
    }

    // Assess
    const letter = (await letters(1)).get(1)!;
    expect(letter.headers).toMatchObject({
      [TRACE_HEADERS.traceparent]: traceparent(TRACE_B, SPAN_B),
      [TRACE_HEADERS.tracestate]: 'shop=2',
    });
    expect(letter.headers['x-dead-letter-error']).toMatch(/^UpdateRefusedError: /);
    expect(logged.lines('records dead-lettered')).toEqual([expect.objectContaining({ count: 1, offset: 1, traceId: TRACE_B })]);
    const [delta] = await readTopic(services.kafka, stream.outputTopic, 1);
    expect([JSON.parse(delta!.value!).version, traceOf(delta)?.traceId, delta!.headers[TRACE_HEADERS.cause]]).toEqual([1, TRACE_A, SPAN_A]);
  });

  it("records each hot batch in X-Ray, annotated with its updates' traces and the trace of the tick that woke it", async () => {
    // Prepare: a daemon listening where X-Ray's would, and an invocation that X-Ray samples.
    const daemon = createSocket('udp4');
    const datagrams: Array<{ name: string; trace_id: string; annotations: { record_trace_ids: string } }> = [];
    daemon.on('message', (message) => datagrams.push(JSON.parse(message.toString('utf8').split('\n')[1]!)));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const { port } = daemon.address() as AddressInfo;
    try {
      const stream = prices(0);
      const { handler } = await deployed(stream, {
        env: {
          AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}`,
          _X_AMZN_TRACE_ID: 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1',
        },
      });

      // Act: a batch of an update, then one of a tick.
      await handler(eventOf(stream.inputTopic, [['item-1', price(1, 100), { traceparent: traceparent(TRACE_A, SPAN_A) }]]), context);
      await handler(tickEvent(stream.inputTopic, 0, 1, { traceparent: traceparent(TRACE_C, SPAN_C) }), context);

      // Assess
      await eventually('both subsegments arrive', () => datagrams.length === 2, 5_000);
      expect(datagrams.map((document) => [document.name, document.trace_id, document.annotations.record_trace_ids])).toEqual([
        [stream.name, '1-67891233-abcdef012345678912345678', toXRayTraceId(TRACE_A)],
        [stream.name, '1-67891233-abcdef012345678912345678', toXRayTraceId(TRACE_C)],
      ]);
    } finally {
      daemon.close();
    }
  });
});
