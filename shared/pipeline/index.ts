export { definePipeline, effectiveMaximumRetryAttempts, EVENT_SOURCE_LIMITS } from './define-pipeline';
export { PipelineDeclarationError } from './errors';
export type {
  AttributeType,
  Consumer,
  ConsumerDeclaration,
  EventSourceSettings,
  HandlerReference,
  Join,
  JoinBinding,
  KafkaOnFailureDestination,
  KeyAttribute,
  OnFailureDestination,
  Pipeline,
  PipelineDeclaration,
  ResolvedEventSourceSettings,
  StartingPosition,
  Table,
  TableDeclaration,
  Topic,
  TopicDeclaration,
  TopicKind,
} from './types';
