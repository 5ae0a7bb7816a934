import { toMskRecord, toSignedBytes, type MskRecordHeader } from '../../shared/msk';
import {
  childTraceHeaders,
  newRootContext,
  parseTraceparent,
  TRACE_HEADERS,
  traceContextOfHeaders,
  traceContextOfMskHeaders,
  traceHeaders,
} from '../../shared/tracing';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Headers as Lambda's MSK event carries them: single-key objects of signed Java bytes. */
function mskHeaders(headers: ReadonlyArray<readonly [string, string | Buffer]>): MskRecordHeader[] {
  return headers.map(([name, value]) => ({ [name]: toSignedBytes(typeof value === 'string' ? Buffer.from(value) : value) }));
}

describe('Function: traceContextOfMskHeaders', () => {
  it('reads traceparent and tracestate from signed-byte header arrays', () => {
    const context = traceContextOfMskHeaders(
      mskHeaders([
        ['x-event-id', 'e-1'],
        ['traceparent', TRACEPARENT],
        ['tracestate', 'rojo=00f067aa0ba902b7'],
      ]),
    );

    expect(context).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: 1,
      traceState: 'rojo=00f067aa0ba902b7',
    });
  });

  it('round-trips what traceHeaders writes through a record as the event source builds it, whatever its bytes', () => {
    // Trace ids whose text is ASCII, next to a header with bytes ≥ 0x80 (negative as Java bytes).
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const sent = { ...newRootContext(), traceState: 'vendor=v1' };
      const record = toMskRecord({
        topic: 't',
        partition: 0,
        offset: attempt,
        timestamp: 0,
        timestampType: 'CREATE_TIME',
        key: null,
        value: null,
        headers: [
          ['binary', Buffer.from([0xff, 0x80, 0x7f])],
          ...Object.entries(traceHeaders(sent)).map(([name, value]) => [name, Buffer.from(value)] as const),
        ],
      });
      expect(record.headers[0]!.binary).toEqual([-1, -128, 127]);

      expect(traceContextOfMskHeaders(record.headers)).toEqual(sent);
    }
  });

  it('takes the last traceparent, and several tracestate headers as one list', () => {
    const later = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

    const context = traceContextOfMskHeaders(
      mskHeaders([
        ['traceparent', TRACEPARENT],
        ['tracestate', 'a=1'],
        ['traceparent', later],
        ['tracestate', 'b=2'],
      ]),
    );

    expect(context).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentId: 'b7ad6b7169203331',
      flags: 0,
      traceState: 'a=1,b=2',
    });
  });

  it('gives none for a record without a traceparent, or with an invalid one, never throwing', () => {
    expect(traceContextOfMskHeaders([])).toBeUndefined();
    expect(traceContextOfMskHeaders(mskHeaders([['tracestate', 'a=1']]))).toBeUndefined();
    expect(traceContextOfMskHeaders(mskHeaders([['traceparent', 'not a traceparent']]))).toBeUndefined();
    expect(traceContextOfMskHeaders(mskHeaders([['traceparent', Buffer.from([0xff, 0xfe, 0x00])]]))).toBeUndefined();
    expect(traceContextOfMskHeaders([{ traceparent: 'bytes, but not an array' as unknown as number[] }])).toBeUndefined();
  });
});

describe('Function: traceContextOfHeaders', () => {
  it('reads kafkajs headers: Buffers as consumed, strings as sent, arrays for repeated headers', () => {
    expect(traceContextOfHeaders({ traceparent: Buffer.from(TRACEPARENT) })?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceContextOfHeaders({ traceparent: TRACEPARENT, tracestate: [Buffer.from('a=1'), 'b=2'] })?.traceState).toBe('a=1,b=2');
    expect(
      traceContextOfHeaders({
        traceparent: [Buffer.from('00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00'), Buffer.from(TRACEPARENT)],
      })?.parentId,
    ).toBe('00f067aa0ba902b7');
  });

  it('gives none without headers or with an invalid traceparent', () => {
    expect(traceContextOfHeaders(undefined)).toBeUndefined();
    expect(traceContextOfHeaders({})).toBeUndefined();
    expect(traceContextOfHeaders({ traceparent: undefined })).toBeUndefined();
    expect(traceContextOfHeaders({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' })).toBeUndefined();
  });
});

describe('Function: traceHeaders', () => {
  it('writes traceparent, and tracestate only when there is one', () => {
    const context = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: 1 };

    expect(traceHeaders(context)).toEqual({ [TRACE_HEADERS.traceparent]: TRACEPARENT });
    expect(traceHeaders({ ...context, traceState: 'rojo=1' })).toEqual({ traceparent: TRACEPARENT, tracestate: 'rojo=1' });
  });
});

describe('Function: childTraceHeaders', () => {
  it("writes a child of the cause (same trace, new span, its tracestate) and names the cause's span in x-trace-cause", () => {
    const cause = { ...newRootContext(), traceState: 'rojo=1' };

    const headers = childTraceHeaders(cause);

    const child = parseTraceparent(headers[TRACE_HEADERS.traceparent], headers[TRACE_HEADERS.tracestate])!;
    expect(child).toEqual({
      traceId: cause.traceId,
      parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
      flags: cause.flags,
      traceState: 'rojo=1',
    });
    expect(child.parentId).not.toBe(cause.parentId);
    expect(headers['x-trace-cause']).toBe(cause.parentId);
  });
});
