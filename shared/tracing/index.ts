export {
  childContext,
  formatTraceparent,
  isSampled,
  newRootContext,
  parseTraceparent,
  SAMPLED_FLAG,
  type NewTraceOptions,
  type TraceContext,
} from './trace-context';
export { childTraceHeaders, TRACE_HEADERS, traceContextOfHeaders, traceContextOfMskHeaders, traceHeaders } from './record-headers';
export { fromXRayTraceId, parseXRayTraceHeader, toXRayTraceId, traceContextFromXRay, type XRayTraceHeader } from './xray-trace-id';
export { XRayBatchTracer, type XRayBatchTracerOptions } from './xray-batch-tracer';
export { inputTraceOfHeaders, inputTraceOfMskHeaders, outputTraceHeaders, type InputTrace } from './input-trace';
