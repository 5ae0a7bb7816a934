export {
  buildMskEvent,
  partitionKey,
  serializedSize,
  toMskRecord,
  toSignedBytes,
  type EventSourceIdentity,
  type MskEvent,
  type MskHandler,
  type MskRecord,
  type MskRecordHeader,
  type MskTimestampType,
  type SourceRecord,
} from './event';
export { decodeKey, headerText, recordsOf, sourceRecordOfMskRecord, valueHeads } from './records';
export { BatchItemFailures, WHOLE_BATCH_DONE, type MskBatchItemFailure, type MskBatchResponse } from './batch-response';
export { InvalidRecordError } from './errors';
