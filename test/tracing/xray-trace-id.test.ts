import { fromXRayTraceId, newRootContext, parseXRayTraceHeader, toXRayTraceId, traceContextFromXRay } from '../../shared/tracing';

describe('Function: toXRayTraceId', () => {
  it('writes a W3C trace id in X-Ray form, and fromXRayTraceId reads it back', () => {
    expect(toXRayTraceId('5759e988bd862e3fe1be46a994272793')).toBe('1-5759e988-bd862e3fe1be46a994272793');
    expect(fromXRayTraceId('1-5759e988-bd862e3fe1be46a994272793')).toBe('5759e988bd862e3fe1be46a994272793');
    const { traceId } = newRootContext();
    expect(fromXRayTraceId(toXRayTraceId(traceId))).toBe(traceId);
  });

  it('refuses what is not a W3C trace id, and reads no X-Ray id from what is not one', () => {
    expect(() => toXRayTraceId('not-a-trace-id')).toThrow(/32 lowercase hex digits/);
    expect(fromXRayTraceId('2-5759e988-bd862e3fe1be46a994272793')).toBeUndefined();
    expect(fromXRayTraceId('1-5759e988bd862e3fe1be46a994272793')).toBeUndefined();
  });
});

describe('Function: parseXRayTraceHeader', () => {
  it('reads Root, Parent and Sampled, ignoring other fields', () => {
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1')).toEqual({
      root: '1-5759e988-bd862e3fe1be46a994272793',
      parent: '53995c3f42cd8ad8',
      sampled: true,
    });
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793')).toEqual({
      root: '1-5759e988-bd862e3fe1be46a994272793',
      parent: undefined,
      sampled: undefined,
    });
  });

  it('gives none without a valid Root', () => {
    expect(parseXRayTraceHeader(undefined)).toBeUndefined();
    expect(parseXRayTraceHeader('Parent=53995c3f42cd8ad8;Sampled=1')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=nonsense')).toBeUndefined();
  });
});

describe('Function: traceContextFromXRay', () => {
  it('continues an X-Ray trace: the same trace, the current segment as parent', () => {
    expect(traceContextFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0')).toEqual({
      traceId: '5759e988bd862e3fe1be46a994272793',
      parentId: '53995c3f42cd8ad8',
      flags: 0,
    });
  });

  it('makes a new span of the trace when the header names no parent', () => {
    const context = traceContextFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793');

    expect(context).toEqual({ traceId: '5759e988bd862e3fe1be46a994272793', parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1 });
    expect(context?.parentId).not.toBe('0000000000000000');
  });
});
