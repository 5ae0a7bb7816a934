import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Admin, Consumer as KafkaConsumer, Kafka } from 'kafkajs';
import {
  createJoinHandlers,
  defineJoin,
  joinStateTableVariable,
  JOIN_OUTPUT_HEADERS,
  parseJoinPosition,
  type FkJoin,
  type JoinPosition,
  type JoinType,
} from '../../shared/fk-join';
import { topicRecordCount } from '../../shared/kafka';
import { runPipeline, type LocalRuntime, type RunningPipeline } from '../../shared/local';
import { definePipeline, type Pipeline } from '../../shared/pipeline';
import { eventually, NOOP_HANDLER_ENTRY, produce, uniqueName } from '../support/integration';

/** An output record as read back from the join's output topic. */
export interface JoinedRecord {
  readonly key: string;
  readonly value: string | null;
  /** From the `x-join-position` header. */
  readonly position: JoinPosition | undefined;
}

/**
 * The KIP-213 test join of the issue: a left value is written `value|fk`, and
 * the joiner renders `(L,R)`; values travel as JSON strings.
 */
export function kip213Join(type: JoinType): FkJoin<string, string, string> {
  const name = uniqueName(`kip213-${type}`);
  return defineJoin<string, string, string>({
    name,
    type,
    leftTopic: `${name}.left`,
    rightTopic: `${name}.right`,
    outputTopic: `${name}.out`,
    deadLetterTopic: `${name}.dlq`,
    foreignKey: (left) => left.split('|')[1] || null,
    joiner: (left, right) => `(${left},${right})`,
  });
}

/** The declaration around one join: its four topics and the derived table and consumers. */
export function pipelineFor(...joins: FkJoin[]): Pipeline {
  const topics = joins.flatMap((join) => [
    { name: join.leftTopic, kind: 'entity' as const, partitions: 3 },
    { name: join.rightTopic, kind: 'entity' as const, partitions: 2 },
    { name: join.outputTopic, kind: 'entity' as const, partitions: 3 },
    { name: join.deadLetterTopic, kind: 'dead-letter' as const, partitions: 1 },
  ]);
  const unique = [...new Map(topics.map((topic) => [topic.name, topic])).values()];
  return definePipeline({
    name: uniqueName('joins'),
    topics: unique,
    joins: joins.map((join) => ({ join, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { maximumBatchingWindowMs: 20 } })),
  });
}

/**
 * Runs joins through the local runtime — real broker, dynalite, event-source
 * emulator — with handlers made by createJoinHandlers, and reads their outputs.
 */
export class JoinHarness {
  private readonly outputs = new Map<string, JoinedRecord[]>();
  private readers: KafkaConsumer[] = [];
  private running: RunningPipeline | undefined;
  private documents: DynamoDBDocumentClient | undefined;
  readonly admin: Admin;

  constructor(
    private readonly runtime: LocalRuntime,
    private readonly kafka: Kafka,
    readonly pipeline: Pipeline,
  ) {
    this.admin = kafka.admin();
  }

  async start(options: { fanOutPageSize?: number; timeReserveMs?: number } = {}): Promise<void> {
    await this.admin.connect();
    this.documents = DynamoDBDocumentClient.from(this.runtime.dynamoDbClient());
    const handlers: Record<string, ReturnType<typeof createJoinHandlers>['left']> = {};
    for (const { join, table } of this.pipeline.joins) {
      const made = createJoinHandlers(join, {
        env: { [joinStateTableVariable(join.name)]: table.name, KAFKA_BROKERS: this.runtime.kafka.brokers.join(',') },
        documents: this.documents,
        kafka: this.kafka,
        ...options,
      });
      handlers[`${join.name}.left`] = made.left;
      handlers[`${join.name}.right`] = made.right;
    }
    this.running = await runPipeline(this.runtime, this.pipeline, { handlers, retryDelayMs: () => 20 });
    for (const { join } of this.pipeline.joins) await this.read(join.outputTopic);
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    await Promise.all(this.readers.map((reader) => reader.disconnect()));
    await this.admin.disconnect();
    this.documents?.destroy();
  }

  /** The event source mapping of a consumer, by name. */
  mapping(consumerName: string) {
    const mapping = this.running?.mappings.find((candidate) => candidate.name === consumerName);
    if (!mapping) throw new Error(`no consumer named ${consumerName}`);
    return mapping;
  }

  /** Produces entity records (value null = tombstone), keyed, JSON-encoded. */
  async produce(topic: string, records: ReadonlyArray<readonly [key: string, value: string | null]>): Promise<void> {
    await produce(
      this.kafka,
      topic,
      records.map(([key, value]) => ({ key, value: value === null ? null : JSON.stringify(value) })),
    );
  }

  /** Waits until every consumer has committed everything and every output has been read back. */
  async settle(): Promise<void> {
    const running = this.running!;
    await eventually('the join consumers have no lag', async () => [...(await running.lag()).values()].every((lag) => lag === 0), 60_000);
    for (const { join } of this.pipeline.joins) {
      const total = await topicRecordCount(this.admin, join.outputTopic);
      await eventually(
        `all ${total} records of ${join.outputTopic} are read`,
        () => (this.outputs.get(join.outputTopic)?.length ?? 0) >= total,
      );
    }
  }

  /** Every output record so far, in the order they arrived per partition. */
  outputsOf(topic: string): JoinedRecord[] {
    return [...(this.outputs.get(topic) ?? [])];
  }

  /** Outputs after the first `skip`, as [key, value] pairs, in log order per key. */
  newOutputs(topic: string, skip: number): Array<[string, string | null]> {
    return this.outputsOf(topic)
      .slice(skip)
      .map((record) => [record.key, record.value]);
  }

  /** The last output per key: what a compacted topic converges to. */
  latestByKey(topic: string): Map<string, string | null> {
    const latest = new Map<string, string | null>();
    for (const record of this.outputsOf(topic)) latest.set(record.key, record.value);
    return latest;
  }

  private async read(topic: string): Promise<void> {
    const reader = this.kafka.consumer({ groupId: uniqueName('join-reader'), maxWaitTimeInMs: 50 });
    this.readers.push(reader);
    const records: JoinedRecord[] = [];
    this.outputs.set(topic, records);
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        records.push({
          key: message.key!.toString(),
          value: message.value === null ? null : (JSON.parse(message.value.toString()) as string),
          position: parseJoinPosition(message.headers?.[JOIN_OUTPUT_HEADERS.position]?.toString() ?? ''),
        });
      },
    });
  }
}
