import { childContext, formatTraceparent, isSampled, newRootContext, parseTraceparent } from '../../shared/tracing';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`;

describe('Function: parseTraceparent', () => {
  it('reads a version 00 traceparent into its trace id, parent id and flags', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 });
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.flags).toBe(0);
    expect(parseTraceparent(` ${VALID} `)?.traceId).toBe(TRACE_ID);
  });

  it('keeps a valid tracestate beside it, without blank entries', () => {
    expect(parseTraceparent(VALID, 'rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE')?.traceState).toBe(
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    );
    expect(parseTraceparent(VALID, 'tenant@vendor=value')?.traceState).toBe('tenant@vendor=value');
  });

  it('drops an invalid tracestate but keeps the traceparent', () => {
    for (const state of ['no-equals-sign', 'UPPER=case', 'key=', '', Array.from({ length: 33 }, (_, index) => `k${index}=v`).join(',')]) {
      const context = parseTraceparent(VALID, state);
      expect([state, context?.traceId, context?.traceState]).toEqual([state, TRACE_ID, undefined]);
    }
  });

  it('shortens a tracestate longer than 512 characters by whole entries from its end', () => {
    const entries = Array.from({ length: 10 }, (_, index) => `k${index}=${'v'.repeat(60)}`);

    const state = parseTraceparent(VALID, entries.join(','))?.traceState;

    expect(state!.length).toBeLessThanOrEqual(512);
    expect(state).toBe(entries.slice(0, 8).join(',')); // 8 entries of 63 characters and their commas: 511
  });

  it('reads a later version for its version 00 fields, ignoring what follows', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-holds`)).toEqual({
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      flags: 1,
    });
    expect(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01`)?.traceId).toBe(TRACE_ID);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['version 00 with more fields', `00-${TRACE_ID}-${PARENT_ID}-01-extra`],
    ['a later version run into the flags', `cc-${TRACE_ID}-${PARENT_ID}-01extra`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', VALID.toUpperCase()],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['long parent id', `00-${TRACE_ID}-${PARENT_ID}0-01`],
    ['non-hex flags', `00-${TRACE_ID}-${PARENT_ID}-0x`],
    ['wrong separators', `00_${TRACE_ID}_${PARENT_ID}_01`],
    ['an X-Ray header', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'],
  ])('treats a %s traceparent as none', (_label, header) => {
    expect(parseTraceparent(header, 'rojo=1')).toBeUndefined();
  });
});

describe('Function: formatTraceparent', () => {
  it('writes version 00, round-tripping what parseTraceparent reads', () => {
    expect(formatTraceparent(parseTraceparent(VALID)!)).toBe(VALID);
    expect(formatTraceparent(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-03-more`)!)).toBe(`00-${TRACE_ID}-${PARENT_ID}-03`);
  });
});

describe('Function: newRootContext', () => {
  it('starts a sampled trace whose id begins with the Unix time in seconds (a valid X-Ray trace id) and a random parent id', () => {
    const now = Date.UTC(2026, 10, 26, 10, 0, 0);

    const [first, second] = [newRootContext({ now: () => now }), newRootContext({ now: () => now })];

    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.traceId.slice(0, 8)).toBe((now / 1000).toString(16));
    expect(first.parentId).toMatch(/^[0-9a-f]{16}$/);
    expect(first.traceId).not.toBe(second!.traceId);
    expect(first.parentId).not.toBe(second!.parentId);
    expect(isSampled(first)).toBe(true);
    expect(parseTraceparent(formatTraceparent(first))).toEqual(first);
  });

  it('starts an unsampled trace on request', () => {
    expect(isSampled(newRootContext({ sampled: false }))).toBe(false);
  });
});

describe('Function: childContext', () => {
  it('keeps the trace id, sampled flag and tracestate, with a new parent id', () => {
    const parent = parseTraceparent(VALID, 'rojo=1')!;

    const child = childContext(parent);

    expect(child).toEqual({ traceId: TRACE_ID, parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1, traceState: 'rojo=1' });
    expect(child.parentId).not.toBe(PARENT_ID);
    expect(childContext(child).parentId).not.toBe(child.parentId);
  });

  it('does not pass on flags it does not know', () => {
    expect(childContext(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-ff`)!).flags).toBe(0x03);
    expect(childContext(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)!).flags).toBe(0);
  });
});
