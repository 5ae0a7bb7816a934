import { childContext, SAMPLED_FLAG, type TraceContext } from './trace-context';

const W3C_TRACE_ID = /^[0-9a-f]{32}$/;
const XRAY_TRACE_ID = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const SEGMENT_ID = /^[0-9a-f]{16}$/;

/**
 * A W3C trace id in X-Ray's form, `1-<first 8 hex>-<other 24 hex>`: the same
 * 128 bits, so a record's trace and an X-Ray trace with this id are one trace.
 * (X-Ray reads the first 8 digits as the trace's start time; the ids
 * `newRootContext` makes are shaped that way.)
 *
 * @example
 * toXRayTraceId('5759e988bd862e3fe1be46a994272793') // '1-5759e988-bd862e3fe1be46a994272793'
 */
export function toXRayTraceId(traceId: string): string {
  if (!W3C_TRACE_ID.test(traceId)) throw new RangeError(`a W3C trace id is 32 lowercase hex digits, got "${traceId}"`);
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
}

/** The W3C trace id of an X-Ray trace id (`1-5759e988-bd862e3fe1be46a994272793` → `5759e988bd862e3fe1be46a994272793`); undefined when it is not one. */
export function fromXRayTraceId(xrayTraceId: string): string | undefined {
  const match = XRAY_TRACE_ID.exec(xrayTraceId.trim().toLowerCase());
  return match ? `${match[1]}${match[2]}` : undefined;
}

/** The fields of an X-Ray trace header (`_X_AMZN_TRACE_ID`, `X-Amzn-Trace-Id`): `Root=1-…;Parent=…;Sampled=1`. */
export interface XRayTraceHeader {
  readonly root: string;
  readonly parent: string | undefined;
  readonly sampled: boolean | undefined;
}

/** Reads an X-Ray trace header; undefined without a valid `Root`. */
export function parseXRayTraceHeader(header: string | undefined): XRayTraceHeader | undefined {
  if (!header) return undefined;
  const fields = new Map(
    header.split(';').map((field) => {
      const at = field.indexOf('=');
      return [field.slice(0, at).trim(), field.slice(at + 1).trim()] as const;
    }),
  );
  const root = fields.get('Root');
  if (root === undefined || fromXRayTraceId(root) === undefined) return undefined;
  const parent = fields.get('Parent');
  const sampled = fields.get('Sampled');
  return {
    root,
    parent: parent !== undefined && SEGMENT_ID.test(parent) ? parent : undefined,
    sampled: sampled === '1' ? true : sampled === '0' ? false : undefined,
  };
}

/**
 * The trace context to publish with from inside an X-Ray-traced request (a
 * Lambda function with active tracing, say): the records continue the X-Ray
 * trace, as children of its current segment. Undefined without a valid header.
 *
 * @example
 * // a producer running in Lambda: the entities' records join the invocation's X-Ray trace
 * const trace = traceContextFromXRay(process.env['_X_AMZN_TRACE_ID']);
 * await entities.publish(items, trace ? { traceparent: formatTraceparent(trace) } : {});
 */
export function traceContextFromXRay(header: string | undefined): TraceContext | undefined {
  const parsed = parseXRayTraceHeader(header);
  if (!parsed) return undefined;
  const context: TraceContext = {
    traceId: fromXRayTraceId(parsed.root)!,
    parentId: parsed.parent ?? '0000000000000000',
    flags: parsed.sampled === false ? 0 : SAMPLED_FLAG,
  };
  // With a parent segment, the records are its children; without one, a new span of that trace.
  return parsed.parent === undefined ? childContext(context) : context;
}
