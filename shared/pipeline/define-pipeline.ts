import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { CDC_POSITIONS_KEY } from '../cdc/change-positions-store';
import { cdcPositionsTableVariable, MAX_CHANGE_EVENT_BYTES } from '../cdc/define-cdc-mapping';
import { JOIN_STATE_TTL_ATTRIBUTE, joinStateTableVariable } from '../fk-join/define-join';
import { hotStateTableVariable, PENDING_INDEX, reportBatchItemFailuresVariable } from '../hot-path/define-hot-stream';
import { repositorySchemas } from '../schemas/repository-schemas';
import { PipelineDeclarationError } from './errors';
import type {
  CdcMappingBinding,
  CdcMappingDeployment,
  CdcSourceDeployment,
  Consumer,
  ConsumerDeclaration,
  HotStreamBinding,
  HotStreamDeployment,
  Join,
  JoinBinding,
  Pipeline,
  PipelineDeclaration,
  ResolvedEventSourceSettings,
  Table,
  TableDeclaration,
  Topic,
  TopicDeclaration,
  TopicKind,
} from './types';

const DAY_MS = 24 * 60 * 60 * 1000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TABLE_NAME = /^[a-zA-Z0-9._-]{3,255}$/;
const ENVIRONMENT_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Lambda's limits and defaults for Kafka event sources. */
export const EVENT_SOURCE_LIMITS = {
  defaultBatchSize: 100,
  maxBatchSize: 10_000,
  defaultBatchingWindowMs: 500,
  maxBatchingWindowMs: 300_000,
  maxRetryAttempts: 10_000,
  /** AWS caps "retry forever" at this when an on-failure destination is set. */
  retryAttemptsWithInfiniteRetryAndDestination: 10,
  minRecordAgeSeconds: 60,
  maxRecordAgeSeconds: 604_800,
  maxTimeoutSeconds: 840,
  maxPayloadBytes: 6 * 1024 * 1024,
} as const;

/**
 * Validates a pipeline declaration and applies every default, so that the local
 * runtime and the CDK stacks read the same resolved topology.
 *
 * @throws PipelineDeclarationError listing every problem, not just the first.
 * @example
 * export default definePipeline({
 *   name: 'catalog',
 *   topics: [
 *     { name: 'merchants', kind: 'entity', partitions: 3 },
 *     { name: 'merchants.dlq', kind: 'dead-letter', partitions: 1 },
 *   ],
 *   tables: [{ name: 'merchant-directory', partitionKey: { name: 'merchantId', type: 'S' } }],
 *   consumers: [{
 *     name: 'merchant-directory',
 *     handler: { entry: path.join(__dirname, 'functions/merchant-directory/handler.ts') },
 *     topic: 'merchants',
 *     tables: ['merchant-directory'],
 *     eventSource: { maximumRetryAttempts: 2, onFailure: { kind: 'kafka', topic: 'merchants.dlq' } },
 *   }],
 * });
 */
export function definePipeline(declaration: PipelineDeclaration): Pipeline {
  const problems: string[] = [];
  if (!TOPIC_NAME.test(declaration.name)) {
    problems.push(`pipeline name "${declaration.name}" must be 1–249 letters, digits, ".", "_" or "-"`);
  }
  const cdcBindings = declaration.cdcMappings ?? [];
  // A mapping's change topic is derived: the connector writes it and only the mapping reads it.
  const changeTopics = cdcBindings.map((binding) =>
    resolveTopic(
      {
        name: binding.mapping.changeTopic,
        kind: 'entity',
        partitions:
          binding.changeTopicPartitions ?? declaration.topics.find((topic) => topic.name === binding.mapping.entityTopic)?.partitions ?? 1,
        // A wide row's change event is larger than the cluster's 1 MB default.
        maxMessageBytes: MAX_CHANGE_EVENT_BYTES,
      },
      problems,
    ),
  );
  // What a CDC mapping dead-letters is a change event: its dead-letter topic takes one as large as its change topic does.
  const cdcDeadLetterTopics = new Set(cdcBindings.map(({ mapping }) => mapping.deadLetterTopic));
  const topics = [
    ...declaration.topics.map((topic) =>
      resolveTopic(
        cdcDeadLetterTopics.has(topic.name) && topic.maxMessageBytes === undefined
          ? { ...topic, maxMessageBytes: MAX_CHANGE_EVENT_BYTES }
          : topic,
        problems,
      ),
    ),
    ...changeTopics,
  ];
  const joinBindings = declaration.joins ?? [];
  const joinTables = joinBindings.map(joinStateTable);
  const hotBindings = declaration.hotStreams ?? [];
  const hotTables = hotBindings.map(hotStateTable);
  const cdcTables = cdcBindings.map(cdcPositionsTable);
  const tables = [...(declaration.tables ?? []).map((table) => resolveTable(table, problems)), ...joinTables, ...hotTables, ...cdcTables];
  reportDuplicates(
    'topic',
    topics.map((topic) => topic.name),
    problems,
  );
  reportDuplicates(
    'table',
    tables.map((table) => table.name),
    problems,
  );

  const topicsByName = new Map(topics.map((topic) => [topic.name, topic]));
  const tablesByName = new Map(tables.map((table) => [table.name, table]));
  const consumerDeclarations = [
    ...(declaration.consumers ?? []),
    ...joinBindings.flatMap(joinConsumers),
    ...hotBindings.map(hotStreamConsumer),
    ...cdcBindings.map(cdcMappingConsumer),
  ];
  const declaredConsumerCount = declaration.consumers?.length ?? 0;
  const consumers = consumerDeclarations.flatMap((consumer, index) => {
    // A join's or hot stream's own checks already name its missing topics.
    const derived = index >= declaredConsumerCount;
    const resolved = resolveConsumer(declaration.name, consumer, topicsByName, tablesByName, problems, derived);
    return resolved ? [resolved] : [];
  });
  reportDuplicates(
    'consumer',
    consumerDeclarations.map((consumer) => consumer.name),
    problems,
  );
  reportDuplicates(
    'join',
    joinBindings.map((binding) => binding.join.name),
    problems,
  );
  const joins = joinBindings.flatMap((binding, index) => resolveJoin(binding, joinTables[index]!, consumers, topicsByName, problems));
  reportDuplicates(
    'hot stream',
    hotBindings.map((binding) => binding.stream.name),
    problems,
  );
  const hotStreams = hotBindings.flatMap((binding, index) =>
    resolveHotStream(binding, hotTables[index]!, consumers, topicsByName, problems),
  );
  const cdcSources = resolveCdcSources(cdcBindings, changeTopics, cdcTables, consumers, topicsByName, problems);
  reportDuplicates(
    'consumer group id',
    consumers.map((consumer) => consumer.eventSource.consumerGroupId),
    problems,
  );
  reportConflictingEnvironment(consumers, problems);

  if (problems.length > 0) throw new PipelineDeclarationError(declaration.name, problems);
  return deepFreeze({ name: declaration.name, topics, tables, consumers, joins, hotStreams, cdcSources });
}

/** The hot-state table of a stream, with the sparse index of keys waiting to be emitted. */
function hotStateTable(binding: HotStreamBinding): Table {
  return {
    name: `${binding.stream.name}.hot-state`,
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [
      {
        name: PENDING_INDEX.name,
        partitionKey: { name: PENDING_INDEX.partitionKey, type: 'S' },
        sortKey: { name: PENDING_INDEX.sortKey, type: 'N' },
      },
    ],
    environmentVariable: hotStateTableVariable(binding.stream.name),
  };
}

/** The stream's consumer: larger batches and a longer window than entity consumers, retried until success. */
function hotStreamConsumer(binding: HotStreamBinding): ConsumerDeclaration {
  const { stream } = binding;
  return {
    name: stream.name,
    handler: { entry: binding.handler.entry, exportName: 'handler' },
    topic: stream.inputTopic,
    tables: [`${stream.name}.hot-state`],
    produces: [stream.outputTopic, ...(stream.verbosity.mode === 'delta-and-entity' ? [stream.verbosity.entityTopic] : [])],
    deadLetterTopic: stream.deadLetterTopic,
    timeoutSeconds: binding.timeoutSeconds ?? 60,
    // The handler reports the first record not done only when the mapping takes partial batch responses; one
    // place sets both, so they never disagree (a mapping without the setting would commit the records named).
    environment: { [reportBatchItemFailuresVariable(stream.name)]: 'true' },
    eventSource: {
      batchSize: 1_000,
      maximumBatchingWindowMs: 1_000,
      ...binding.eventSource,
      maximumRetryAttempts: -1,
      // What still fails after the handler dead-lettered what it could is not one record's fault: bisecting would only multiply invocations.
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: true,
    },
  };
}

function resolveHotStream(
  binding: HotStreamBinding,
  table: Table,
  consumers: readonly Consumer[],
  topics: ReadonlyMap<string, Topic>,
  problems: string[],
): HotStreamDeployment[] {
  const { stream } = binding;
  const where = `hot stream "${stream.name}"`;
  const expectKind = (role: string, name: string, kind: Topic['kind']) => expectTopicKind(where, role, name, kind, topics, problems);
  expectKind('input', stream.inputTopic, 'event');
  expectKind('output', stream.outputTopic, 'event');
  expectKind('dead-letter', stream.deadLetterTopic, 'dead-letter');
  if (stream.verbosity.mode === 'delta-and-entity') expectKind('entity', stream.verbosity.entityTopic, 'entity');
  const flushTickIntervalMs = binding.flushTickIntervalMs ?? Math.min(60_000, Math.max(200, stream.minEmitIntervalMs));
  checkInteger(where, 'flushTickIntervalMs', flushTickIntervalMs, 100, 3_600_000, problems);
  const consumer = consumers.find((candidate) => candidate.name === stream.name);
  return consumer ? [{ stream, table, consumer, flushTickIntervalMs }] : [];
}

/** Checks that a binding's topic is declared with the kind its role needs; returns it when it is. */
function expectTopicKind(
  where: string,
  role: string,
  name: string,
  kind: Topic['kind'],
  topics: ReadonlyMap<string, Topic>,
  problems: string[],
): Topic | undefined {
  const topic = topics.get(name);
  if (!topic) problems.push(`${where}: its ${role} topic "${name}" is not declared`);
  else if (topic.kind !== kind) problems.push(`${where}: its ${role} topic "${name}" must be declared with kind "${kind}"`);
  return topic?.kind === kind ? topic : undefined;
}

/** A mapping's positions table: per entity, the position of the last change published. */
function cdcPositionsTable(binding: CdcMappingBinding): Table {
  return {
    name: `${binding.mapping.name}.cdc-positions`,
    partitionKey: { name: CDC_POSITIONS_KEY, type: 'S' },
    environmentVariable: cdcPositionsTableVariable(binding.mapping.name),
  };
}

/** A mapping's consumer: it retries until success (a dropped change would leave the entity wrong for good). */
function cdcMappingConsumer(binding: CdcMappingBinding): ConsumerDeclaration {
  const { mapping } = binding;
  return {
    name: mapping.name,
    handler: { entry: binding.handler.entry, exportName: 'handler' },
    topic: mapping.changeTopic,
    tables: [`${mapping.name}.cdc-positions`],
    produces: [mapping.entityTopic],
    deadLetterTopic: mapping.deadLetterTopic,
    timeoutSeconds: binding.timeoutSeconds ?? 60,
    eventSource: {
      batchSize: 500,
      maximumBatchingWindowMs: 1_000,
      ...binding.eventSource,
      maximumRetryAttempts: -1,
      // The handler dead-letters what one change is at fault for; what still fails is not one record's fault.
      bisectBatchOnFunctionError: false,
    },
  };
}

/** The mappings grouped by source, one connector each; a source's name and database must agree across its mappings. */
function resolveCdcSources(
  bindings: readonly CdcMappingBinding[],
  changeTopics: readonly Topic[],
  tables: readonly Table[],
  consumers: readonly Consumer[],
  topics: ReadonlyMap<string, Topic>,
  problems: string[],
): CdcSourceDeployment[] {
  const sources = new Map<string, { source: CdcMappingBinding['mapping']['source']; mappings: CdcMappingDeployment[] }>();
  const capturedTables = new Set<string>();
  bindings.forEach((binding, index) => {
    const { mapping } = binding;
    const where = `CDC mapping "${mapping.name}"`;
    expectTopicKind(where, 'entity', mapping.entityTopic, 'entity', topics, problems);
    const deadLetter = expectTopicKind(where, 'dead-letter', mapping.deadLetterTopic, 'dead-letter', topics, problems);
    if (deadLetter && Number(deadLetter.config['max.message.bytes'] ?? MAX_CHANGE_EVENT_BYTES) < MAX_CHANGE_EVENT_BYTES) {
      problems.push(
        `${where}: its dead-letter topic "${mapping.deadLetterTopic}" takes records up to ${deadLetter.config['max.message.bytes']} bytes, ` +
          `less than a change event may take (${MAX_CHANGE_EVENT_BYTES}): leave maxMessageBytes out or raise it`,
      );
    }
    const captured = `${mapping.source.name}/${mapping.table}`;
    if (capturedTables.has(captured)) problems.push(`${where}: table ${mapping.table} of source "${mapping.source.name}" is mapped twice`);
    capturedTables.add(captured);
    const group = sources.get(mapping.source.name) ?? { source: mapping.source, mappings: [] };
    if (group.source.database !== mapping.source.database) {
      problems.push(
        `${where}: source "${mapping.source.name}" names database "${mapping.source.database}" here and "${group.source.database}" elsewhere`,
      );
    }
    if (group.source.localSchemaSql !== mapping.source.localSchemaSql) {
      problems.push(`${where}: source "${mapping.source.name}" has another localSchemaSql here than elsewhere: declare the source once`);
    }
    sources.set(mapping.source.name, group);
    const consumer = consumers.find((candidate) => candidate.name === mapping.name);
    if (consumer) group.mappings.push({ mapping, changeTopic: changeTopics[index]!, table: tables[index]!, consumer });
  });
  return [...sources.values()];
}

/** The join-state table of a join: one table per join, so each join's functions can be granted only their own. */
function joinStateTable(binding: JoinBinding): Table {
  return {
    name: `${binding.join.name}.join-state`,
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: JOIN_STATE_TTL_ATTRIBUTE,
    environmentVariable: joinStateTableVariable(binding.join.name),
  };
}

/**
 * The two consumers of a join. They retry until success with partial batch
 * responses: a valid update must never be dropped, and records the join cannot
 * read are dead-lettered by the handler itself.
 */
function joinConsumers(binding: JoinBinding): ConsumerDeclaration[] {
  const { join } = binding;
  const side = (name: 'left' | 'right', topic: string): ConsumerDeclaration => ({
    name: `${join.name}.${name}`,
    handler: { entry: binding.handler.entry, exportName: name },
    topic,
    tables: [`${join.name}.join-state`],
    produces: [join.outputTopic],
    deadLetterTopic: join.deadLetterTopic,
    timeoutSeconds: binding.timeoutSeconds ?? 300,
    eventSource: {
      ...binding.eventSource,
      maximumRetryAttempts: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: true,
    },
  });
  return [side('left', join.leftTopic), side('right', join.rightTopic)];
}

function resolveJoin(
  binding: JoinBinding,
  table: Table,
  consumers: readonly Consumer[],
  topics: ReadonlyMap<string, Topic>,
  problems: string[],
): Join[] {
  const { join } = binding;
  const where = `join "${join.name}"`;
  const expectKind = (role: string, name: string, kind: Topic['kind']) => expectTopicKind(where, role, name, kind, topics, problems);
  expectKind('left', join.leftTopic, 'entity');
  expectKind('right', join.rightTopic, 'entity');
  expectKind('output', join.outputTopic, 'entity');
  expectKind('dead-letter', join.deadLetterTopic, 'dead-letter');
  const leftConsumer = consumers.find((consumer) => consumer.name === `${join.name}.left`);
  const rightConsumer = consumers.find((consumer) => consumer.name === `${join.name}.right`);
  if (!leftConsumer || !rightConsumer) return [];
  return [{ join, table, leftConsumer, rightConsumer }];
}

/** The retry count the mapping really applies, after AWS's cap for infinite retries with a destination. */
export function effectiveMaximumRetryAttempts(settings: ResolvedEventSourceSettings): number {
  if (settings.maximumRetryAttempts === -1 && settings.onFailure) {
    return EVENT_SOURCE_LIMITS.retryAttemptsWithInfiniteRetryAndDestination;
  }
  return settings.maximumRetryAttempts;
}

/**
 * Days a topic keeps records unless it declares `retentionMs`. Dead letters wait for a person to notice,
 * investigate and redrive them, so they keep two weeks (a holiday week and then some); entity topics are
 * compacted and this only bounds how long a tombstone stays readable.
 */
const DEFAULT_RETENTION_DAYS: Readonly<Record<TopicKind, number>> = { entity: 1, event: 7, 'dead-letter': 14 };

function resolveTopic(topic: TopicDeclaration, problems: string[]): Topic {
  const where = `topic "${topic.name}"`;
  if (!TOPIC_NAME.test(topic.name)) problems.push(`${where}: name must be 1–249 letters, digits, ".", "_" or "-"`);
  const partitions = topic.partitions ?? 3;
  checkInteger(where, 'partitions', partitions, 1, 10_000, problems);
  const replicationFactor = topic.replicationFactor ?? 3;
  checkInteger(where, 'replicationFactor', replicationFactor, 1, 32, problems);
  const retentionMs = topic.retentionMs ?? DEFAULT_RETENTION_DAYS[topic.kind] * DAY_MS;
  if (retentionMs !== -1) checkInteger(where, 'retentionMs', retentionMs, 60_000, Number.MAX_SAFE_INTEGER, problems);
  if (topic.maxMessageBytes !== undefined) checkInteger(where, 'maxMessageBytes', topic.maxMessageBytes, 1_024, 64 * 1024 * 1024, problems);

  const config: Record<string, string> =
    topic.kind === 'entity'
      ? // Compacted: the latest value per key is kept forever; tombstones stay readable for retentionMs.
        { 'cleanup.policy': 'compact', 'delete.retention.ms': String(retentionMs) }
      : { 'cleanup.policy': 'delete', 'retention.ms': String(retentionMs) };
  if (topic.maxMessageBytes !== undefined) config['max.message.bytes'] = String(topic.maxMessageBytes);
  if (topic.valueSchema !== undefined && !repositorySchemas().has(topic.valueSchema)) {
    problems.push(
      `${where}: valueSchema "${topic.valueSchema}" is not a subject folder in schemas/ (${[...repositorySchemas().keys()].join(', ')})`,
    );
  }
  return {
    name: topic.name,
    kind: topic.kind,
    partitions,
    retentionMs,
    replicationFactor,
    ...(topic.valueSchema === undefined ? {} : { valueSchema: topic.valueSchema }),
    config,
  };
}

function resolveTable(table: TableDeclaration, problems: string[]): Table {
  if (!TABLE_NAME.test(table.name)) {
    problems.push(`table "${table.name}": name must be 3–255 letters, digits, ".", "_" or "-"`);
  }
  const environmentVariable = `${table.name.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_TABLE_NAME`;
  // Copied, so freezing the resolved pipeline never freezes the caller's objects.
  return {
    name: table.name,
    partitionKey: { ...table.partitionKey },
    ...(table.sortKey ? { sortKey: { ...table.sortKey } } : {}),
    ...(table.timeToLiveAttribute ? { timeToLiveAttribute: table.timeToLiveAttribute } : {}),
    ...(table.globalIndexes ? { globalIndexes: table.globalIndexes.map((index) => ({ ...index })) } : {}),
    environmentVariable,
  };
}

function resolveConsumer(
  pipelineName: string,
  consumer: ConsumerDeclaration,
  topics: ReadonlyMap<string, Topic>,
  tables: ReadonlyMap<string, Table>,
  problems: string[],
  /** Derived from a join or hot stream, whose own checks name its missing topics. */
  derived = false,
): Consumer | undefined {
  const where = `consumer "${consumer.name}"`;
  if (!TOPIC_NAME.test(consumer.name)) problems.push(`${where}: name must be 1–249 letters, digits, ".", "_" or "-"`);
  if (!isAbsolute(consumer.handler.entry)) {
    problems.push(`${where}: handler.entry must be an absolute path (use path.join(__dirname, ...)), got "${consumer.handler.entry}"`);
  } else if (!existsSync(consumer.handler.entry)) {
    problems.push(`${where}: handler.entry "${consumer.handler.entry}" does not exist`);
  }
  const topic = topics.get(consumer.topic);
  if (!topic) problems.push(`${where}: reads topic "${consumer.topic}", which is not declared`);

  const eventSource = resolveEventSource(pipelineName, consumer, topics, problems);
  const timeoutSeconds = consumer.timeoutSeconds ?? 60;
  checkInteger(where, 'timeoutSeconds', timeoutSeconds, 1, EVENT_SOURCE_LIMITS.maxTimeoutSeconds, problems);
  const memorySizeMb = consumer.memorySizeMb ?? 512;
  checkInteger(where, 'memorySizeMb', memorySizeMb, 128, 10_240, problems);

  const consumerTables = (consumer.tables ?? []).flatMap((name) => {
    const table = tables.get(name);
    if (!table) problems.push(`${where}: uses table "${name}", which is not declared`);
    return table ? [table] : [];
  });
  for (const name of Object.keys(consumer.environment ?? {})) {
    if (!ENVIRONMENT_VARIABLE.test(name)) problems.push(`${where}: environment variable name "${name}" is not valid`);
    if (consumerTables.some((table) => table.environmentVariable === name)) {
      problems.push(`${where}: environment variable ${name} is set by the binding of the table it names; do not set it yourself`);
    }
  }
  const deadLetterTopic = consumer.deadLetterTopic === undefined ? undefined : topics.get(consumer.deadLetterTopic);
  // A join's or hot stream's own checks already name its dead-letter topic's problems.
  if (!derived && consumer.deadLetterTopic !== undefined && !deadLetterTopic)
    problems.push(`${where}: dead-letters to topic "${consumer.deadLetterTopic}", which is not declared`);
  else if (!derived && deadLetterTopic && deadLetterTopic.kind !== 'dead-letter')
    problems.push(`${where}: its dead-letter topic "${deadLetterTopic.name}" must be declared with kind "dead-letter"`);
  const produces = [...new Set([...(consumer.produces ?? []), ...(deadLetterTopic ? [deadLetterTopic.name] : [])])].flatMap((name) => {
    const produced = topics.get(name);
    if (!produced && !derived) problems.push(`${where}: produces topic "${name}", which is not declared`);
    return produced ? [produced] : [];
  });
  const environment = {
    ...consumer.environment,
    ...Object.fromEntries(consumerTables.map((table) => [table.environmentVariable, table.name])),
    ...(deadLetterTopic ? { [deadLetterTopicVariable(consumer.name)]: deadLetterTopic.name } : {}),
  };
  if (!topic) return undefined;
  return {
    name: consumer.name,
    handler: { entry: consumer.handler.entry, exportName: consumer.handler.exportName ?? 'handler' },
    topic,
    eventSource,
    timeoutSeconds,
    memorySizeMb,
    tables: consumerTables,
    produces,
    deadLetterTopic,
    environment,
  };
}

/** The environment variable that carries a consumer's own dead-letter topic to its handler. */
export function deadLetterTopicVariable(consumerName: string): string {
  return `${consumerName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_DEAD_LETTER_TOPIC`;
}

function resolveEventSource(
  pipelineName: string,
  consumer: ConsumerDeclaration,
  topics: ReadonlyMap<string, Topic>,
  problems: string[],
): ResolvedEventSourceSettings {
  const where = `consumer "${consumer.name}"`;
  const declared = consumer.eventSource ?? {};
  const limits = EVENT_SOURCE_LIMITS;
  const settings: ResolvedEventSourceSettings = {
    batchSize: declared.batchSize ?? limits.defaultBatchSize,
    maximumBatchingWindowMs: declared.maximumBatchingWindowMs ?? limits.defaultBatchingWindowMs,
    startingPosition: declared.startingPosition ?? 'TRIM_HORIZON',
    startingPositionTimestampMs: declared.startingPositionTimestampMs,
    consumerGroupId: declared.consumerGroupId ?? `${pipelineName}.${consumer.name}`,
    maximumRetryAttempts: declared.maximumRetryAttempts ?? -1,
    maximumRecordAgeSeconds: declared.maximumRecordAgeSeconds ?? -1,
    bisectBatchOnFunctionError: declared.bisectBatchOnFunctionError ?? false,
    reportBatchItemFailures: declared.reportBatchItemFailures ?? false,
    onFailure: declared.onFailure ? { ...declared.onFailure } : undefined,
  };

  checkInteger(where, 'batchSize', settings.batchSize, 1, limits.maxBatchSize, problems);
  checkInteger(where, 'maximumBatchingWindowMs', settings.maximumBatchingWindowMs, 0, limits.maxBatchingWindowMs, problems);
  if (settings.maximumRetryAttempts !== -1) {
    checkInteger(where, 'maximumRetryAttempts', settings.maximumRetryAttempts, 0, limits.maxRetryAttempts, problems);
  }
  if (settings.maximumRecordAgeSeconds !== -1) {
    checkInteger(
      where,
      'maximumRecordAgeSeconds',
      settings.maximumRecordAgeSeconds,
      limits.minRecordAgeSeconds,
      limits.maxRecordAgeSeconds,
      problems,
    );
  }
  if (settings.startingPosition === 'AT_TIMESTAMP' && settings.startingPositionTimestampMs === undefined) {
    problems.push(`${where}: startingPosition AT_TIMESTAMP needs startingPositionTimestampMs`);
  }
  if (settings.startingPosition !== 'AT_TIMESTAMP' && settings.startingPositionTimestampMs !== undefined) {
    problems.push(`${where}: startingPositionTimestampMs is only allowed with startingPosition AT_TIMESTAMP`);
  }
  if (settings.consumerGroupId.length === 0 || settings.consumerGroupId.length > 200) {
    problems.push(`${where}: consumerGroupId must be 1–200 characters`);
  }

  const canGiveUp = settings.maximumRetryAttempts !== -1 || settings.maximumRecordAgeSeconds !== -1;
  if (canGiveUp && !settings.onFailure) {
    problems.push(
      `${where}: with maximumRetryAttempts or maximumRecordAgeSeconds set, records can be given up on; ` +
        'declare eventSource.onFailure so that they are dead-lettered instead of lost',
    );
  }
  if (settings.onFailure) {
    const destination = topics.get(settings.onFailure.topic);
    if (!destination) {
      problems.push(`${where}: on-failure topic "${settings.onFailure.topic}" is not declared`);
    } else if (destination.kind !== 'dead-letter') {
      problems.push(`${where}: on-failure topic "${destination.name}" must be declared with kind "dead-letter"`);
    }
    if (settings.onFailure.topic === consumer.topic) {
      problems.push(`${where}: the on-failure topic must differ from the source topic (AWS rejects the loop)`);
    }
  }
  return settings;
}

function checkInteger(where: string, field: string, value: number, min: number, max: number, problems: string[]): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${where}: ${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function reportDuplicates(what: string, names: readonly string[], problems: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) problems.push(`${what} "${name}" is declared more than once`);
    seen.add(name);
  }
}

/** Locally every handler shares one process environment, so two consumers must agree on each variable. */
function reportConflictingEnvironment(consumers: readonly Consumer[], problems: string[]): void {
  const values = new Map<string, { value: string; consumer: string }>();
  for (const consumer of consumers) {
    for (const [name, value] of Object.entries(consumer.environment)) {
      const earlier = values.get(name);
      if (earlier && earlier.value !== value) {
        problems.push(
          `consumers "${earlier.consumer}" and "${consumer.name}" set environment variable ${name} to different values; ` +
            'give each its own variable name',
        );
      }
      values.set(name, { value, consumer: consumer.name });
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const nested of Object.values(value)) deepFreeze(nested);
  }
  return value;
}
