export { EventSourceMapping, type EventSourceLogger, type EventSourceMappingOptions } from './event-source-mapping';
export { invokeHandler, loadHandler, type InvocationOutcome, type InvocationSettings } from './invoker';
export { parseBatchItemFailures } from './partition-worker';
export type { EventSourceMappingStats } from './stats';
export { EventSourceError, HandlerLoadError, HandlerTimeoutError, InvalidBatchResponseError } from './errors';
