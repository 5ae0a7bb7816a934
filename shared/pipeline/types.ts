import type { CdcMapping, CdcSource } from '../cdc/define-cdc-mapping';
import type { FkJoin } from '../fk-join/define-join';
import type { HotStream } from '../hot-path/define-hot-stream';

/**
 * The pipeline declaration: the one place where a pipeline's topology is written.
 * The local runtime, the CDK stacks and the tests all read a {@link Pipeline}
 * produced by `definePipeline`, never their own copy of topics or settings.
 */

/** How a topic is used, which decides its cleanup policy. */
export type TopicKind =
  /** Keyed, full-state facts; compacted; a tombstone (null value) deletes the key. */
  | 'entity'
  /** An append-only stream of events, deleted by retention. */
  | 'event'
  /** Records an event source gave up on, with the failure metadata in headers. */
  | 'dead-letter';

export interface TopicDeclaration {
  /** Kafka topic name: letters, digits, `.`, `_`, `-`; at most 249 characters. */
  readonly name: string;
  readonly kind: TopicKind;
  /** @default 3 */
  readonly partitions?: number;
  /**
   * How long records are kept. Entity topics are compacted, so for them this only
   * bounds how long a tombstone stays readable (`delete.retention.ms`).
   * @default 7 days for event topics, 14 days for dead-letter topics, 1 day of tombstone retention for entity topics
   */
  readonly retentionMs?: number;
  /** Replication factor in AWS; the local single-node broker always uses 1. @default 3 */
  readonly replicationFactor?: number;
  /**
   * The subject folder in `schemas/` whose newest version the topic's values
   * follow; they then travel as Avro in the Confluent wire format, registered
   * under `<topic>-value`. @default none: JSON values
   */
  readonly valueSchema?: string;
  /**
   * The largest record the topic takes (`max.message.bytes`). @default the cluster's (1 MB); the dead-letter
   * topic of a CDC mapping gets its change topic's (MAX_CHANGE_EVENT_BYTES), so any change it refuses fits.
   */
  readonly maxMessageBytes?: number;
}

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** Where an event source mapping sends records it gave up on. */
export interface KafkaOnFailureDestination {
  readonly kind: 'kafka';
  /** A declared topic of kind `dead-letter`; AWS writes it as `kafka://<topic>`. */
  readonly topic: string;
}
export type OnFailureDestination = KafkaOnFailureDestination;

/**
 * The settings of Lambda's MSK event source mapping, with AWS's names and defaults.
 * Ranges are the ones AWS enforces, checked when the pipeline is defined.
 */
export interface EventSourceSettings {
  /** 1–10,000. @default 100 */
  readonly batchSize?: number;
  /** 0–300,000 ms. @default 500 */
  readonly maximumBatchingWindowMs?: number;
  /** @default 'TRIM_HORIZON' (LATEST can miss events while a new mapping starts polling) */
  readonly startingPosition?: StartingPosition;
  /** Epoch milliseconds; required with AT_TIMESTAMP, forbidden otherwise. */
  readonly startingPositionTimestampMs?: number;
  /** Stable consumer group id. @default `<pipeline name>.<consumer name>` */
  readonly consumerGroupId?: string;
  /** −1 (until the record expires) or 0–10,000. With an on-failure destination, −1 means 10, as in AWS. @default -1 */
  readonly maximumRetryAttempts?: number;
  /** −1 (no limit) or 60–604,800 seconds. @default -1 */
  readonly maximumRecordAgeSeconds?: number;
  /** @default false */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Lets the handler return `{ batchItemFailures }`. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** Required whenever the mapping can give up on a record (finite retries or a maximum age). */
  readonly onFailure?: OnFailureDestination;
}

export interface HandlerReference {
  /** Absolute path of the handler module (what `NodejsFunction` calls `entry`). */
  readonly entry: string;
  /** @default 'handler' */
  readonly exportName?: string;
}

export interface ConsumerDeclaration {
  /** Unique within the pipeline; names the function and its default consumer group. */
  readonly name: string;
  readonly handler: HandlerReference;
  /** The declared topic this consumer reads. */
  readonly topic: string;
  readonly eventSource?: EventSourceSettings;
  /** 1–840 seconds (Lambda's limit for Kafka event sources is 14 minutes). @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly memorySizeMb?: number;
  /** Declared tables the handler reads and writes; each is passed to it as an environment variable. */
  readonly tables?: readonly string[];
  /**
   * Declared topics the handler itself writes (outputs, dead letters it
   * publishes). In AWS the function may write only these; the on-failure
   * destination is written by the event source and need not be listed.
   */
  readonly produces?: readonly string[];
  /**
   * A declared topic of kind `dead-letter` the handler writes records it can
   * never use to, itself (with partial batch responses and retries until
   * success, nothing else is given up). Added to `produces`, and passed to the
   * handler as `<CONSUMER>_DEAD_LETTER_TOPIC` (see {@link deadLetterTopicVariable}).
   */
  readonly deadLetterTopic?: string;
  /** Extra environment variables for the handler. */
  readonly environment?: Readonly<Record<string, string>>;
}

export type AttributeType = 'S' | 'N' | 'B';
export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface TableDeclaration {
  /** Logical table name; the deployed physical name may differ. */
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute holding an epoch-seconds expiry. DynamoDB honours it in AWS; dynalite ignores it. */
  readonly timeToLiveAttribute?: string;
  /** Global secondary indexes, projecting keys only. */
  readonly globalIndexes?: readonly GlobalIndexDeclaration[];
}

export interface GlobalIndexDeclaration {
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

/**
 * A foreign-key join deployed in the pipeline. From it the pipeline derives the
 * join-state table and two consumers, `<join>.left` and `<join>.right`, whose
 * handlers are the `left` and `right` exports of the handler module.
 */
export interface JoinBinding {
  // The join's own value types do not matter to the topology: FkJoin's defaults (unknown) accept any join.
  readonly join: FkJoin;
  /** The module exporting `left` and `right` (made by `createJoinHandlers`). */
  readonly handler: { readonly entry: string };
  /** Batching for both consumers; retries are always "until success" with partial batch responses. */
  readonly eventSource?: Pick<EventSourceSettings, 'batchSize' | 'maximumBatchingWindowMs' | 'startingPosition'>;
  /** @default 300 */
  readonly timeoutSeconds?: number;
}

/**
 * A high-frequency stream (price, stock) deployed in the pipeline. From it the
 * pipeline derives the hot-state table and one consumer named after the stream,
 * whose handler is the `handler` export of the handler module.
 */
export interface HotStreamBinding {
  // The stream's update type does not matter to the topology: HotStream's default (UpdateOrder) accepts any stream.
  readonly stream: HotStream;
  /** The module exporting `handler` (made by `createHotStreamHandler`). */
  readonly handler: { readonly entry: string };
  /** @default batches of 1,000 and a 1 s window: larger than entity consumers, to coalesce more */
  readonly eventSource?: Pick<EventSourceSettings, 'batchSize' | 'maximumBatchingWindowMs' | 'startingPosition'>;
  /** How often every input partition gets a flush tick. @default the stream's emit interval, within 0.2–60 s */
  readonly flushTickIntervalMs?: number;
  /** @default 60 */
  readonly timeoutSeconds?: number;
}

/**
 * A table of the monolith mapped to an entity stream through change data
 * capture. From it the pipeline derives the table's change topic (internal,
 * written by the source's connector), the positions table, and one consumer
 * named after the mapping, whose handler is the `handler` export of the module
 * (made by `createCdcMappingHandler`). Mappings of one source share its connector.
 */
export interface CdcMappingBinding {
  // The entity type does not matter to the topology: CdcMapping's default (unknown) accepts any mapping.
  readonly mapping: CdcMapping;
  readonly handler: { readonly entry: string };
  /** Partitions of the change topic (Debezium keys each change by the row's primary key). @default the entity topic's */
  readonly changeTopicPartitions?: number;
  /** @default batches of 500 and a 1 s window */
  readonly eventSource?: Pick<EventSourceSettings, 'batchSize' | 'maximumBatchingWindowMs' | 'startingPosition'>;
  /** @default 60 */
  readonly timeoutSeconds?: number;
}

export interface PipelineDeclaration {
  /** Prefixes consumer group ids and deployed resource names. */
  readonly name: string;
  readonly topics: readonly TopicDeclaration[];
  readonly tables?: readonly TableDeclaration[];
  readonly consumers?: readonly ConsumerDeclaration[];
  readonly joins?: readonly JoinBinding[];
  readonly hotStreams?: readonly HotStreamBinding[];
  readonly cdcMappings?: readonly CdcMappingBinding[];
}

/** A topic with every default applied. */
export interface Topic {
  readonly name: string;
  readonly kind: TopicKind;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly replicationFactor: number;
  /** See {@link TopicDeclaration.valueSchema}. */
  readonly valueSchema?: string;
  /** The Kafka topic configuration derived from the kind, as created locally and in MSK. */
  readonly config: Readonly<Record<string, string>>;
}

/** Event source settings with every default applied and AWS's rules resolved. */
export interface ResolvedEventSourceSettings {
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly startingPosition: StartingPosition;
  readonly startingPositionTimestampMs: number | undefined;
  readonly consumerGroupId: string;
  /** As declared (−1 or a count); see {@link effectiveMaximumRetryAttempts}. */
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly onFailure: OnFailureDestination | undefined;
}

export interface Consumer {
  readonly name: string;
  readonly handler: Required<HandlerReference>;
  readonly topic: Topic;
  readonly eventSource: ResolvedEventSourceSettings;
  readonly timeoutSeconds: number;
  readonly memorySizeMb: number;
  readonly tables: readonly Table[];
  /** Topics the handler writes. */
  readonly produces: readonly Topic[];
  /** Where the handler dead-letters records itself, if it does. */
  readonly deadLetterTopic: Topic | undefined;
  /** Declared environment plus one `<TABLE>_TABLE_NAME` variable per table. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface Table extends TableDeclaration {
  /** The environment variable that carries this table's physical name to handlers. */
  readonly environmentVariable: string;
}

/** A join with the table and the two consumers derived for it. */
export interface Join {
  readonly join: FkJoin;
  readonly table: Table;
  readonly leftConsumer: Consumer;
  readonly rightConsumer: Consumer;
}

/** A hot stream with the table and the consumer derived for it. */
export interface HotStreamDeployment {
  readonly stream: HotStream;
  readonly table: Table;
  readonly consumer: Consumer;
  readonly flushTickIntervalMs: number;
}

/** A CDC mapping with the change topic, the positions table and the consumer derived for it. */
export interface CdcMappingDeployment {
  readonly mapping: CdcMapping;
  readonly changeTopic: Topic;
  readonly table: Table;
  readonly consumer: Consumer;
}

/** A database captured by one connector, with the mappings of its tables. */
export interface CdcSourceDeployment {
  readonly source: CdcSource;
  readonly mappings: readonly CdcMappingDeployment[];
}

/** A validated pipeline with every default applied; what every reader of the declaration gets. */
export interface Pipeline {
  readonly name: string;
  readonly topics: readonly Topic[];
  /** Declared tables and the join-state tables of the joins. */
  readonly tables: readonly Table[];
  /** Declared consumers and the two consumers of every join. */
  readonly consumers: readonly Consumer[];
  readonly joins: readonly Join[];
  readonly hotStreams: readonly HotStreamDeployment[];
  /** The change-data-capture sources, each one connector; empty when the pipeline declares none. */
  readonly cdcSources: readonly CdcSourceDeployment[];
}
