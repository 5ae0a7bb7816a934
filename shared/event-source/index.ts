export { EventSourceMapping, type EventSourceLogger, type EventSourceMappingOptions } from './event-source-mapping';
export { invokeHandler, loadHandler, type InvocationOutcome, type MskHandler } from './handler';
export {
  buildMskEvent,
  partitionKey,
  sourceRecordOfKafkaMessage,
  toMskRecord,
  toSignedBytes,
  type EventSourceIdentity,
  type MskBatchItemFailure,
  type MskBatchResponse,
  type MskEvent,
  type MskRecord,
  type MskRecordHeader,
  type MskTimestampType,
  type SourceRecord,
} from './msk-event';
export { parseBatchItemFailures } from './partition-worker';
export type { EventSourceMappingStats } from './stats';
export {
  EventSourceError,
  HandlerLoadError,
  HandlerTimeoutError,
  InvalidBatchResponseError,
} from './errors';
