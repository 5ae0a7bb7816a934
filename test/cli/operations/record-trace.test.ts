import { printedTrace, producedTraceHeaders, redrivenTraceHeaders, traceparentFlag } from '../../../shared/cli/operations/record-trace';
import { UsageError } from '../../../shared/cli/errors';
import { parseTraceparent } from '../../../shared/tracing';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('Function: printedTrace', () => {
  it('shows the trace id, the span, the cause span and the X-Ray trace id of a record', () => {
    const trace = printedTrace({
      traceparent: Buffer.from(TRACEPARENT),
      'x-trace-cause': Buffer.from('b7ad6b7169203331'),
      'x-event-id': Buffer.from('e-1'),
    });

    expect(trace).toEqual({
      traceId: TRACE_ID,
      spanId: '00f067aa0ba902b7',
      causeSpanId: 'b7ad6b7169203331',
      xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736',
    });
  });

  it('leaves out the cause span when the record names none', () => {
    expect(printedTrace({ traceparent: TRACEPARENT })).toEqual({
      traceId: TRACE_ID,
      spanId: '00f067aa0ba902b7',
      xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736',
    });
  });

  it('shows no trace for a record without a valid traceparent', () => {
    expect(printedTrace(undefined)).toBeUndefined();
    expect(printedTrace({ trace: Buffer.from('t-1') })).toBeUndefined();
    expect(
      printedTrace({
        traceparent: Buffer.from('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'),
        'x-trace-cause': Buffer.from('b7ad6b7169203331'),
      }),
    ).toBeUndefined();
  });
});

describe('Function: traceparentFlag', () => {
  it('reads a valid traceparent', () => {
    expect(traceparentFlag(TRACEPARENT)).toEqual({ traceId: TRACE_ID, parentId: '00f067aa0ba902b7', flags: 1 });
    expect(traceparentFlag(undefined)).toBeUndefined();
  });

  it.each([
    '',
    'abc',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
  ])('refuses "%s" as a usage error that shows the expected form', (value) => {
    expect(() => traceparentFlag(value)).toThrow(UsageError);
    expect(() => traceparentFlag(value)).toThrow(/--traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-.*got "/);
  });
});

describe('Function: producedTraceHeaders', () => {
  it('keeps a line’s own valid traceparent and every other header', () => {
    const headers = { traceparent: TRACEPARENT, tracestate: 'rojo=1', 'x-source-system': 'monolith' };

    expect(producedTraceHeaders(headers, undefined)).toEqual({ headers, traceId: TRACE_ID });
  });

  it('starts a new trace per line without one, dropping trace headers of a context it does not keep', () => {
    const first = producedTraceHeaders(
      { traceparent: 'not-a-traceparent', tracestate: 'rojo=1', 'x-trace-cause': 'b7ad6b7169203331', 'x-source-system': 'monolith' },
      undefined,
    );
    const second = producedTraceHeaders(undefined, undefined);

    expect(Object.keys(first.headers).sort()).toEqual(['traceparent', 'x-source-system']);
    expect(parseTraceparent(first.headers.traceparent)?.traceId).toBe(first.traceId);
    expect(parseTraceparent(second.headers.traceparent)?.traceId).toBe(second.traceId);
    expect(first.traceId).not.toBe(second.traceId);
  });

  it('makes every line a child span of --traceparent: its trace and flags, a span of its own, no x-trace-cause', () => {
    const parent = traceparentFlag('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')!;

    const lines = [producedTraceHeaders(undefined, parent), producedTraceHeaders({ 'x-source-system': 'monolith' }, parent)];

    const contexts = lines.map((line) => parseTraceparent(line.headers.traceparent));
    expect(lines.map((line) => line.traceId)).toEqual([TRACE_ID, TRACE_ID]);
    expect(contexts.map((context) => [context?.traceId, context?.flags])).toEqual([
      [TRACE_ID, 0],
      [TRACE_ID, 0],
    ]);
    expect(new Set([contexts[0]?.parentId, contexts[1]?.parentId, '00f067aa0ba902b7']).size).toBe(3);
    expect(lines[1]!.headers).toEqual({ 'x-source-system': 'monolith', traceparent: expect.any(String) });
  });
});

describe('Function: redrivenTraceHeaders', () => {
  it('makes the redriven record a child of the letter’s trace, naming the letter’s span as its cause', () => {
    const headers = redrivenTraceHeaders({
      traceparent: Buffer.from(TRACEPARENT),
      tracestate: Buffer.from('rojo=1'),
      'x-trace-cause': Buffer.from('aaaaaaaaaaaaaaaa'),
      'x-event-id': Buffer.from('e-1'),
    });

    const context = parseTraceparent(String(headers.traceparent), String(headers.tracestate));
    expect(context).toEqual({
      traceId: TRACE_ID,
      parentId: expect.not.stringMatching(/^00f067aa0ba902b7$/),
      flags: 1,
      traceState: 'rojo=1',
    });
    expect(headers['x-trace-cause']).toBe('00f067aa0ba902b7');
    expect(headers['x-event-id']).toEqual(Buffer.from('e-1'));
  });

  it('starts a new trace for a letter without one, with no cause', () => {
    const headers = redrivenTraceHeaders({ trace: Buffer.from('t-1'), 'x-trace-cause': Buffer.from('aaaaaaaaaaaaaaaa') });

    expect(parseTraceparent(String(headers.traceparent))).toEqual(expect.objectContaining({ flags: 1 }));
    expect(headers['x-trace-cause']).toBeUndefined();
    expect(headers.trace).toEqual(Buffer.from('t-1'));
  });
});
