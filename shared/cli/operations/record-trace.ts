import type { IHeaders } from 'kafkajs';
import {
  childContext,
  childTraceHeaders,
  newRootContext,
  parseTraceparent,
  TRACE_HEADERS,
  traceContextOfHeaders,
  traceHeaders,
  toXRayTraceId,
  type TraceContext,
} from '../../tracing';
import { UsageError } from '../errors';

/** The trace a record belongs to, as `tail` and `dlq show` print it. */
export interface PrintedTrace {
  /** The W3C trace id (32 hex): the whole journey of one change. */
  readonly traceId: string;
  /** The span that wrote the record (its `traceparent`'s parent id). */
  readonly spanId: string;
  /** The span of the record this one was produced from (`x-trace-cause`: join results, redriven letters). */
  readonly causeSpanId?: string;
  /** The trace id in X-Ray's form, for the X-Ray console (`annotation.record_trace_ids CONTAINS "…"`). */
  readonly xrayTraceId: string;
}

/**
 * The trace of a record as kafkajs reads it; undefined when it carries no
 * valid `traceparent` (nothing is invented for a record that has none).
 *
 * @example
 * printedTrace(message.headers)
 * // { traceId: '4bf92f35…', spanId: '00f067aa0ba902b7', causeSpanId: 'b7ad6b7169203331', xrayTraceId: '1-4bf92f35-77b3…' }
 */
export function printedTrace(headers: IHeaders | undefined): PrintedTrace | undefined {
  const context = traceContextOfHeaders(headers);
  if (!context) return undefined;
  const cause = lastText(headers?.[TRACE_HEADERS.cause]);
  return {
    traceId: context.traceId,
    spanId: context.parentId,
    ...(cause ? { causeSpanId: cause } : {}),
    xrayTraceId: toXRayTraceId(context.traceId),
  };
}

/**
 * The `--traceparent` of `produce`: the caller's W3C context, which every line
 * joins as a child. An invalid value is a usage error (it would otherwise be
 * ignored silently, and the records land in traces nobody looks for).
 */
export function traceparentFlag(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const context = parseTraceparent(value);
  if (!context) {
    throw new UsageError(
      `--traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>, ids not all zero ` +
        `(e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01), got "${value}"`,
    );
  }
  return context;
}

/**
 * The headers a `produce` line goes out with, and its trace. With `--traceparent`
 * (`parent`), the line is a new span of that trace (a child: same trace and
 * sampled flag). Otherwise a line keeps a valid `traceparent` of its own, and a
 * line without one (or with an invalid one) starts a trace of its own. Trace
 * headers that belonged to a context the line does not keep (its `tracestate`,
 * its `x-trace-cause`) are dropped with it. No `x-trace-cause` is added: the
 * caller's span is on no record.
 */
export function producedTraceHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  parent: TraceContext | undefined,
): { headers: Record<string, string>; traceId: string } {
  const own = parent ? undefined : traceContextOfHeaders(headers);
  if (own) return { headers: { ...headers }, traceId: own.traceId };
  const context = parent ? childContext(parent) : newRootContext();
  return { headers: { ...withoutTraceHeaders(headers ?? {}), ...traceHeaders(context) }, traceId: context.traceId };
}

/**
 * The trace headers of a redriven letter: a child of the trace the letter
 * arrived with (a new span, `x-trace-cause` naming the letter's), or a new
 * trace when it has none. Every other header is kept as it was.
 */
export function redrivenTraceHeaders(headers: IHeaders): IHeaders {
  const context = traceContextOfHeaders(headers);
  return { ...withoutTraceHeaders(headers), ...(context ? childTraceHeaders(context) : traceHeaders(newRootContext())) };
}

function withoutTraceHeaders<T>(headers: Readonly<Record<string, T>>): Record<string, T> {
  const names = new Set<string>(Object.values(TRACE_HEADERS));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name)));
}

/** A header's value as text (the last one when it is repeated); undefined when missing or blank. */
function lastText(value: IHeaders[string]): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  const text = last === undefined ? undefined : (typeof last === 'string' ? last : Buffer.from(last).toString('utf8')).trim();
  return text || undefined;
}
