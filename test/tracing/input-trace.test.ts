import { outputTraceHeaders, parseTraceparent, TRACE_HEADERS, type InputTrace } from '../../shared/tracing';

const carried: InputTrace = {
  context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: 1, traceState: 'shop=1' },
  carried: true,
};

describe('Function: outputTraceHeaders', () => {
  it("makes a delta a child of the update it carries, naming the update's span as its cause", () => {
    const headers = outputTraceHeaders(carried);

    expect(parseTraceparent(headers[TRACE_HEADERS.traceparent], headers[TRACE_HEADERS.tracestate])).toEqual({
      traceId: carried.context.traceId,
      parentId: expect.not.stringMatching(carried.context.parentId),
      flags: 1,
      traceState: 'shop=1',
    });
    expect(headers[TRACE_HEADERS.cause]).toBe('00f067aa0ba902b7');
  });

  it('continues a trace the hot stream started without naming a cause, whose span is on no record', () => {
    const headers = outputTraceHeaders({
      context: { traceId: carried.context.traceId, parentId: carried.context.parentId, flags: 1 },
      carried: false,
    });

    expect(parseTraceparent(headers[TRACE_HEADERS.traceparent])?.traceId).toBe(carried.context.traceId);
    expect(headers).not.toHaveProperty(TRACE_HEADERS.cause);
    expect(headers).not.toHaveProperty(TRACE_HEADERS.tracestate);
  });

  it('starts a trace for a delta whose update has none (an item stored before traces were kept)', () => {
    const [one, two] = [outputTraceHeaders(undefined), outputTraceHeaders(undefined)];

    expect(parseTraceparent(one[TRACE_HEADERS.traceparent])).toEqual({
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
      flags: 1,
    });
    expect(parseTraceparent(one[TRACE_HEADERS.traceparent])?.traceId).not.toBe(parseTraceparent(two[TRACE_HEADERS.traceparent])?.traceId);
    expect(one).not.toHaveProperty(TRACE_HEADERS.cause);
  });
});
