import type { IHeaders } from 'kafkajs';
import { childTraceHeaders, traceContextOfHeaders, traceContextOfMskHeaders, traceHeaders, type MskEventHeader } from './record-headers';
import { childContext, newRootContext, type TraceContext } from './trace-context';

/**
 * The trace of an input record: the W3C context it carried, or the one a
 * consumer started for it when it carried none (or an invalid one: never an
 * error). The outputs the record causes (a join result, a hot-stream delta)
 * continue it.
 */
export interface InputTrace {
  readonly context: TraceContext;
  /** False for a trace the consumer started: that span is on no record, so an output names no `x-trace-cause`. */
  readonly carried: boolean;
}

/** The trace of a record as Lambda's MSK event delivers it. */
export function inputTraceOfMskHeaders(headers: readonly MskEventHeader[]): InputTrace {
  return inputTraceOf(traceContextOfMskHeaders(headers));
}

/** The trace of a record as kafkajs reads it. */
export function inputTraceOfHeaders(headers: IHeaders | undefined): InputTrace {
  return inputTraceOf(traceContextOfHeaders(headers));
}

function inputTraceOf(carried: TraceContext | undefined): InputTrace {
  return { context: carried ?? newRootContext(), carried: carried !== undefined };
}

/**
 * An output's trace headers: a child of the input that caused it, naming that
 * input's span in `x-trace-cause` when the input carried its context. An
 * output whose cause is unknown starts a trace of its own.
 */
export function outputTraceHeaders(cause: InputTrace | undefined): Record<string, string> {
  if (cause === undefined) return traceHeaders(newRootContext());
  return cause.carried ? childTraceHeaders(cause.context) : traceHeaders(childContext(cause.context));
}
