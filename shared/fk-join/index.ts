export { defineJoin, joinStateTableVariable, type FkJoin, type JoinDeclaration, type JoinType } from './define-join';
export { createJoinHandlers, type JoinHandlerOptions, type JoinHandlers } from './create-join-handlers';
export {
  JoinProcessor,
  type JoinInput,
  type JoinInputRecord,
  type JoinProcessorOptions,
  type LeftInput,
  type PartitionBatch,
  type PausedRecord,
} from './join-processor';
export { JOIN_OUTPUT_HEADERS, KafkaJoinOutputSink, type JoinOutputRecord, type JoinOutputSink } from './join-output-sink';
export { formatJoinPosition, isAfter, parseJoinPosition, type JoinPosition } from './join-result';
export { JoinStateStore, type JoinStateUsage, type LeftRow, type RightRow, type Subscription } from './join-state-store';
export { FkJoinError, InvalidJoinInputError, JoinDeclarationError } from './errors';
