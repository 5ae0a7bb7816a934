export { coalesceNewest, type HotUpdateRecord } from './coalesce';
export { createHotStreamHandler, type HotStreamHandler, type HotStreamHandlerOptions } from './create-hot-stream-handler';
export {
  defineHotStream,
  fieldOf,
  hotStateTableVariable,
  isNewerUpdate,
  parseUpdateOrder,
  PENDING_INDEX,
  reportBatchItemFailuresVariable,
  type HotStream,
  type HotStreamDeclaration,
  type HotStreamVerbosity,
  type UpdateOrder,
} from './define-hot-stream';
export {
  BatchIncompleteError,
  HotPathError,
  HotStateTableError,
  InvalidUpdateError,
  TimeBudgetExceededError,
  UpdateRefusedError,
} from './errors';
export { FLUSH_TICK_HEADER, isFlushTick, publishFlushTicks } from './flush-ticks';
export { HOT_DELTA_HEADERS, KafkaHotDeltaSink, type HotDelta, type HotDeltaSink } from './hot-delta-sink';
export {
  HotPathProcessor,
  type HotBatchResult,
  type HotPathProcessorOptions,
  type RefusedUpdate,
  type ReplayedRange,
} from './hot-path-processor';
export { HotStateStore, isBufferedRangeKey, type ApplyOutcome, type BufferedRange, type HotState } from './hot-state-store';
export { WriteBehindBuffer, type PartitionBuffer } from './write-behind-buffer';
export { MAX_STATE_KEY_BYTES, MAX_UPDATE_BYTES, whyUnstorable } from './storable-update';
