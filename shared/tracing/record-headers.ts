import type { IHeaders } from 'kafkajs';
import { childContext, formatTraceparent, parseTraceparent, type TraceContext } from './trace-context';

/**
 * The trace headers of a record: W3C Trace Context (`traceparent`, `tracestate`:
 * the names OpenTelemetry's Kafka instrumentations use too), and, on a record
 * produced because of another, `x-trace-cause`: the span id of that record
 * (its `traceparent`'s parent id), so a journey can be followed back hop by hop
 * from the records alone.
 */
export const TRACE_HEADERS = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  cause: 'x-trace-cause',
} as const;

/**
 * A header as Lambda's MSK event carries it: one name to the value's bytes as signed Java bytes. Declared here,
 * not imported from the event contract, so this bottom module imports nothing above it.
 */
export type MskEventHeader = Readonly<Record<string, readonly number[]>>;

/**
 * The trace context a record arrived with, read from the headers as Lambda's
 * MSK event carries them (single-key objects of signed Java bytes).
 *
 * The last `traceparent` counts (as for every header the platform reads);
 * several `tracestate` headers are one list. A missing or invalid
 * `traceparent` gives undefined, never an error: start a new trace then.
 *
 * @example
 * const context = traceContextOfMskHeaders(record.headers) ?? newRootContext();
 */
export function traceContextOfMskHeaders(headers: readonly MskEventHeader[]): TraceContext | undefined {
  let traceparent: string | undefined;
  const tracestate: string[] = [];
  for (const header of headers) {
    const parent = header[TRACE_HEADERS.traceparent];
    if (parent !== undefined) traceparent = signedBytesText(parent);
    const state = header[TRACE_HEADERS.tracestate];
    if (state !== undefined) tracestate.push(signedBytesText(state) ?? '');
  }
  return parseTraceparent(traceparent, tracestate.length > 0 ? tracestate.join(',') : undefined);
}

/**
 * The trace context of a record as kafkajs reads or sends it (`message.headers`:
 * Buffers or strings, an array for a repeated header). Undefined when there is
 * none or it is invalid.
 *
 * @example
 * // platform tail: show the trace a record belongs to
 * const traceId = traceContextOfHeaders(message.headers)?.traceId;
 */
export function traceContextOfHeaders(headers: IHeaders | undefined): TraceContext | undefined {
  if (headers === undefined) return undefined;
  const values = (name: string): string[] => {
    const value = headers[name];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map((part) => (typeof part === 'string' ? part : Buffer.from(part).toString('utf8')));
  };
  const tracestate = values(TRACE_HEADERS.tracestate);
  return parseTraceparent(values(TRACE_HEADERS.traceparent).at(-1), tracestate.length > 0 ? tracestate.join(',') : undefined);
}

/**
 * The headers that carry a context on an outgoing record: `traceparent`, and
 * `tracestate` when the context has one. Spread them into a kafkajs message's headers.
 *
 * @example
 * const headers = { 'x-join-name': name, ...traceHeaders(childContext(input)) };
 */
export function traceHeaders(context: TraceContext): Record<string, string> {
  return {
    [TRACE_HEADERS.traceparent]: formatTraceparent(context),
    ...(context.traceState === undefined ? {} : { [TRACE_HEADERS.tracestate]: context.traceState }),
  };
}

/**
 * The headers of a record produced because of another one (a join result, a
 * delta, a redriven letter): a child of the cause's context (same trace, new
 * span), its tracestate, and the cause's span id in `x-trace-cause`.
 *
 * @example
 * const headers = { 'x-join-position': position, ...childTraceHeaders(inputContext) };
 */
export function childTraceHeaders(cause: TraceContext): Record<string, string> {
  return { ...traceHeaders(childContext(cause)), [TRACE_HEADERS.cause]: cause.parentId };
}

/** Header bytes sent as signed Java bytes, as UTF-8 text; undefined when they are not an array of bytes. */
function signedBytesText(bytes: unknown): string | undefined {
  if (!Array.isArray(bytes)) return undefined;
  return Buffer.from(Int8Array.from(bytes as number[]).buffer).toString('utf8');
}
